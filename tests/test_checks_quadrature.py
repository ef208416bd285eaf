"""The numba kernels of the posterior checks against the NumPy quadrature they replaced.

The reference below is checks.integrated_loglik and new_unit_probability as they were before
the kernels (whole (draws, sessions, Q) arrays, scipy's logsumexp); test_checks.py and
test_ordinal_checks.py test the same integrals against scipy's adaptive ones.
"""

import numpy as np
import pytest
from scipy import sparse
from scipy.special import expit, logsumexp

from sessionmlm.checks import QUADRATURE_POINTS, bernoulli_loglik, new_unit_probability
from sessionmlm.checks_quadrature import (
    binary_unit_quadrature,
    new_unit_quadrature,
    ordinal_unit_quadrature,
)
from sessionmlm.ordinal_checks import ordinal_loglik
from sessionmlm.posterior import product_rule


def reference_integrated_loglik(units, n_units, a, loadings, per_session, points):
    """(S, J) by NumPy: eta (S, n, Q), per_session(eta) log-likelihoods, summed per unit."""
    nodes, weights = product_rule(loadings.shape[-1], points)
    n = len(units)
    member = sparse.csr_matrix((np.ones(n), (np.arange(n), units)), shape=(n, n_units))
    eta = a[:, :, None] + loadings @ nodes.T  # (S, n, Q)
    per = per_session(eta)
    per_unit = (member.T @ per.transpose(1, 0, 2).reshape(n, -1)).reshape(n_units, len(a), -1)
    return logsumexp(per_unit + np.log(weights), axis=-1).T


def reference_new_unit(a, loadings, points):
    nodes, weights = product_rule(loadings.shape[-1], points)
    return expit(a[:, :, None] + loadings @ nodes.T) @ weights


def _case(rng, S, n, n_units, d, per_session_rows):
    """Draws of a (S, n), loadings (S, n or 1, d) and units with one to five sessions each."""
    units = np.sort(rng.integers(0, n_units, n))
    units[:n_units] = np.arange(n_units)  # every unit has a session
    units = np.sort(units)
    # Some log-odds far out, where a naive log(expit) would lose everything.
    a = rng.normal(0, 2, (S, n))
    a[:, :3] = [40.0, -45.0, 700.0]
    loadings = np.abs(rng.normal(0.8, 0.4, (S, n if per_session_rows else 1, d)))
    if d > 1:
        loadings *= rng.choice([-1.0, 1.0], size=loadings.shape)
    return units, a, loadings


@pytest.mark.parametrize(("d", "per_session_rows"), [(1, False), (1, True), (2, True), (3, True)])
def test_binary_kernel_equals_the_numpy_quadrature(d, per_session_rows):
    rng = np.random.default_rng(10 + d)
    S, n, J = 7, 60, 25
    units, a, loadings = _case(rng, S, n, J, d, per_session_rows)
    y = rng.integers(0, 2, n).astype(float)
    nodes, weights = product_rule(d, QUADRATURE_POINTS)
    loglik, new_unit = binary_unit_quadrature(y, a, loadings, units, J, nodes, weights)
    expected = reference_integrated_loglik(
        units, J, a, loadings, lambda eta: bernoulli_loglik(y[:, None], eta), QUADRATURE_POINTS
    )
    assert np.abs(loglik - expected).max() < 1e-10
    assert np.abs(new_unit - reference_new_unit(a, loadings, QUADRATURE_POINTS)).max() < 1e-10
    assert np.abs(
        new_unit_quadrature(a, loadings, nodes, weights) - new_unit
    ).max() < 1e-15  # fmt: skip
    assert np.all(np.isfinite(loglik)) and loglik.max() < 1e-12  # a log-probability


@pytest.mark.parametrize(("d", "cuts"), [(1, 1), (1, 3), (2, 3)])
def test_ordinal_kernel_equals_the_numpy_quadrature(d, cuts):
    rng = np.random.default_rng(20 + d + cuts)
    S, n, J = 6, 50, 20
    units, a, loadings = _case(rng, S, n, J, d, per_session_rows=d > 1)
    y = rng.integers(0, cuts + 1, n)
    y[:3] = [0, cuts, 0]  # the far-out log-odds in the end categories
    # Thresholds increasing, two of them close together (the gap term near log 0).
    thresholds = np.sort(rng.normal(0, 1.5, (S, cuts)), axis=1)
    if cuts > 1:
        thresholds[:, 1] = thresholds[:, 0] + 1e-6
        thresholds = np.sort(thresholds, axis=1)
    nodes, weights = product_rule(d, QUADRATURE_POINTS)
    got = ordinal_unit_quadrature(y, a, loadings, thresholds, units, J, nodes, weights)
    expected = reference_integrated_loglik(
        units, J, a, loadings, lambda eta: ordinal_loglik(y, eta, thresholds), QUADRATURE_POINTS
    )
    assert np.abs(got - expected).max() < 1e-10
    assert np.all(np.isfinite(got))


def test_new_unit_probability_takes_sds_or_loadings():
    rng = np.random.default_rng(30)
    a = rng.normal(0, 2, (5, 9))
    sd = rng.uniform(0.2, 2.0, 5)
    by_sd = new_unit_probability(a, sd)
    assert np.abs(by_sd - reference_new_unit(a, sd[:, None, None], QUADRATURE_POINTS)).max() < 1e-12
    assert np.array_equal(by_sd, new_unit_probability(a, sd[:, None, None]))


@pytest.mark.parametrize("sd", [1.0, 60.0])
def test_kernels_hold_for_units_with_hundreds_of_sessions_and_huge_sds(sd):
    """A unit's product of probabilities below the smallest double (folded into logs), and
    an SD whose nodes reach exp(+-450) (no split of exp(a + sd x))."""
    rng = np.random.default_rng(40)
    S, n, J = 3, 1800, 2
    units = np.repeat(np.arange(J), n // J)
    a = rng.normal(0, 2, (S, n))
    loadings = np.full((S, 1, 1), sd)
    nodes, weights = product_rule(1, QUADRATURE_POINTS)
    y = rng.integers(0, 2, n).astype(float)
    loglik, new_unit = binary_unit_quadrature(y, a, loadings, units, J, nodes, weights)
    expected = reference_integrated_loglik(
        units, J, a, loadings, lambda eta: bernoulli_loglik(y[:, None], eta), QUADRATURE_POINTS
    )
    # Each unit's 900 probabilities multiply to below TINY = exp(-345): folded at least once.
    assert loglik.max() < -400
    assert np.abs(loglik - expected).max() < 1e-10 * np.abs(expected).max()
    assert np.abs(new_unit - reference_new_unit(a, loadings, QUADRATURE_POINTS)).max() < 1e-10
    categories = rng.integers(0, 4, n)
    thresholds = np.sort(rng.normal(0, 1.5, (S, 3)), axis=1)
    got = ordinal_unit_quadrature(categories, a, loadings, thresholds, units, J, nodes, weights)
    expected = reference_integrated_loglik(
        units, J, a, loadings, lambda eta: ordinal_loglik(categories, eta, thresholds), 21
    )
    assert np.abs(got - expected).max() < 1e-10 * np.abs(expected).max()
