"""Checks of the slow reference integrals in tests/reference_integrals.py against other methods."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import log_expit, logsumexp

from tests.reference_integrals import (
    bernoulli_loglik,
    laplace_loglik,
    three_level_loglik,
    two_level_loglik,
)


def nested_data(n_therapists, n_clients, n_sessions, seed, offset_sd=1.0):
    """Balanced data: n_clients per therapist, n_sessions per client, random y and offsets."""
    rng = np.random.default_rng(seed)
    n = n_therapists * n_clients * n_sessions
    therapist = np.repeat(np.arange(n_therapists), n_clients * n_sessions)
    client = np.repeat(np.arange(n_therapists * n_clients), n_sessions)
    offset = rng.normal(0.0, offset_sd, n)
    y = (rng.random(n) < 0.5).astype(int)
    return y, offset, therapist, client


def normal_log_weights(h, half_width=12.0):
    """Trapezoid grid on [-W, W] and log weights for integrating against phi.

    The weights are normalised to sum to one: the trapezoid rule integrates phi to 1 with an
    error far below 1e-30 at these spacings (analytic, Gaussian-decaying integrand), so this
    only removes the ~1e-14 rounding in exp/log and the arange end point.
    """
    grid = np.arange(-half_width, half_width + h / 2, h)
    logw = -0.5 * grid**2
    return grid, logw - logsumexp(logw)


def grid_three_level(y, offset, therapist, client, sd_t, sd_c, h=0.03):
    """Brute force: the trapezoid rule on a dense (u, v) grid, in log space.

    For analytic integrands decaying like a Gaussian the trapezoid rule converges
    exponentially (error ~ exp(-2 pi d / h), with d ~ pi / sd the half-width of the strip
    where log sigmoid is analytic), so h = 0.03 is exact to rounding for sd <= 5 (halving h
    changes nothing in the 15th digit). It shares nothing with the reference but the model.
    """
    grid, logw = normal_log_weights(h)
    sgn = 2 * np.asarray(y) - 1
    total = 0.0
    for t in np.unique(therapist):
        log_outer = logw.copy()  # over u
        for c in np.unique(client[therapist == t]):
            loglik = np.zeros((grid.size, grid.size))  # [u, v]
            for s in np.flatnonzero(client == c):
                loglik += log_expit(
                    sgn[s] * (offset[s] + sd_t * grid[:, None] + sd_c * grid[None, :])
                )
            log_outer += logsumexp(loglik + logw[None, :], axis=1)
        total += logsumexp(log_outer)
    return total


def grid_two_level(y, offset, group, sd, h=0.01):
    """One-dimensional log-space trapezoid for the two-level model."""
    grid, logw = normal_log_weights(h)
    sgn = 2 * np.asarray(y) - 1
    total = 0.0
    for g in np.unique(group):
        rows = group == g
        loglik = log_expit(sgn[rows, None] * (offset[rows, None] + sd * grid[None, :])).sum(axis=0)
        total += logsumexp(loglik + logw)
    return total


def test_zero_sds_give_bernoulli_loglik():
    y, offset, therapist, client = nested_data(3, 2, 4, seed=0, offset_sd=2.0)
    p = 1.0 / (1.0 + np.exp(-offset))
    plain = float(np.sum(y * np.log(p) + (1 - y) * np.log1p(-p)))
    assert bernoulli_loglik(y, offset) == pytest.approx(plain, abs=1e-12)
    assert three_level_loglik(y, offset, therapist, client, 0.0, 0.0) == pytest.approx(
        plain, abs=1e-12
    )
    assert laplace_loglik(y, offset, therapist, client, 0.0, 0.0) == pytest.approx(plain, abs=1e-12)
    assert two_level_loglik(y, offset, client, 0.0) == pytest.approx(plain, abs=1e-12)


@pytest.mark.parametrize(
    ("sd_t", "sd_c"), [(0.5, 1.0), (3.0, 4.0), (5.0, 5.0), (0.0, 4.0), (4.0, 0.0)]
)
def test_single_client_per_therapist_is_sum_of_normals(sd_t, sd_c):
    # With one client per therapist, eta depends on (u, v) only through sd_t u + sd_c v, which
    # is N(0, sd_t^2 + sd_c^2): the nested 2-D integral must equal a 1-D one.
    rng = np.random.default_rng(1)
    n = 6
    y = (rng.random(n) < 0.5).astype(int)
    offset = rng.normal(0.0, 1.0, n)
    one_each = np.arange(n)  # one session per client, one client per therapist
    nested = three_level_loglik(y, offset, one_each, one_each, sd_t, sd_c)
    flat = two_level_loglik(y, offset, one_each, math.hypot(sd_t, sd_c))
    assert nested == pytest.approx(flat, abs=1e-10)

    # Several sessions in the single client of each therapist: same identity.
    therapist = np.repeat([0, 1], 3)
    nested = three_level_loglik(y, offset, therapist, therapist + 10, sd_t, sd_c)
    flat = two_level_loglik(y, offset, therapist, math.hypot(sd_t, sd_c))
    assert nested == pytest.approx(flat, abs=1e-10)


def test_levels_with_zero_sd_reduce_to_two_level():
    y, offset, therapist, client = nested_data(2, 3, 2, seed=2)
    assert three_level_loglik(y, offset, therapist, client, 0.0, 2.5) == pytest.approx(
        two_level_loglik(y, offset, client, 2.5), abs=1e-10
    )
    assert three_level_loglik(y, offset, therapist, client, 2.5, 0.0) == pytest.approx(
        two_level_loglik(y, offset, therapist, 2.5), abs=1e-10
    )


@pytest.mark.parametrize("sd", [0.7, 2.0, 5.0])
def test_two_level_matches_trapezoid(sd):
    y, offset, _therapist, client = nested_data(1, 4, 5, seed=3)
    assert two_level_loglik(y, offset, client, sd) == pytest.approx(
        grid_two_level(y, offset, client, sd), abs=1e-10
    )


@pytest.mark.parametrize(("sd_t", "sd_c"), [(1.0, 1.0), (4.0, 2.0), (1.5, 5.0)])
def test_three_level_matches_dense_grid_one_client(sd_t, sd_c):
    # One therapist, one client, a few sessions: a genuinely 2-D trapezoid over (u, v).
    y, offset, therapist, client = nested_data(1, 1, 4, seed=4)
    assert three_level_loglik(y, offset, therapist, client, sd_t, sd_c) == pytest.approx(
        grid_three_level(y, offset, therapist, client, sd_t, sd_c), abs=1e-10
    )


@pytest.mark.parametrize(("sd_t", "sd_c"), [(1.0, 1.0), (4.0, 4.0)])
def test_three_level_matches_nested_grid_several_clients(sd_t, sd_c):
    # Two therapists with two or three clients each: checks the product of inner integrals
    # inside the outer one, and the sum over therapists.
    y, offset, therapist, client = nested_data(2, 3, 2, seed=5)
    keep = client != 5  # unbalanced: therapist 1 has two clients
    args = (y[keep], offset[keep], therapist[keep], client[keep], sd_t, sd_c)
    assert three_level_loglik(*args) == pytest.approx(grid_three_level(*args), abs=1e-10)


def test_no_underflow_with_many_extreme_sessions():
    # 40 sessions whose offsets all contradict y in both directions, so no random intercept
    # can rescue them: the likelihood is about exp(-700), which underflows on the natural scale.
    n = 40
    y = np.tile([1, 0], n // 2)
    offset = np.where(y == 1, -18.0, 18.0)
    offset[::5] *= 0.9
    therapist = np.zeros(n, dtype=int)
    nested = three_level_loglik(y, offset, therapist, therapist, 1.5, 2.0)
    assert nested < -650.0
    assert nested == pytest.approx(two_level_loglik(y, offset, therapist, 2.5), abs=1e-9)
    assert nested == pytest.approx(grid_two_level(y, offset, therapist, 2.5, h=0.005), abs=1e-9)


def test_labels_and_row_order_do_not_matter():
    y, offset, therapist, client = nested_data(2, 2, 3, seed=6)
    value = three_level_loglik(y, offset, therapist, client, 1.2, 0.8)
    perm = np.random.default_rng(0).permutation(len(y))
    names_t = np.array(["ann", "bob"])[therapist]
    names_c = np.array([f"client-{c}" for c in client])
    shuffled = three_level_loglik(y[perm], offset[perm], names_t[perm], names_c[perm], 1.2, 0.8)
    assert shuffled == pytest.approx(value, abs=1e-12)


def test_client_in_two_therapists_is_rejected():
    with pytest.raises(ValueError, match="exactly one therapist"):
        three_level_loglik([0, 1], [0.0, 0.0], [0, 1], [7, 7], 1.0, 1.0)
    with pytest.raises(ValueError, match=">= 0"):
        three_level_loglik([0, 1], [0.0, 0.0], [0, 0], [7, 7], -1.0, 1.0)


def test_monte_carlo_agrees_within_its_standard_error():
    y, offset, therapist, client = nested_data(2, 2, 3, seed=7)
    sd_t, sd_c = 1.0, 1.5
    exact = three_level_loglik(y, offset, therapist, client, sd_t, sd_c)

    rng = np.random.default_rng(20240611)
    draws = 200_000
    sgn = 2 * y - 1
    estimate, variance = 0.0, 0.0
    for t in np.unique(therapist):
        clients = np.unique(client[therapist == t])
        u = rng.standard_normal(draws)
        v = rng.standard_normal((draws, clients.size))
        loglik = np.zeros(draws)
        for j, c in enumerate(clients):
            for s in np.flatnonzero(client == c):
                loglik += log_expit(sgn[s] * (offset[s] + sd_t * u + sd_c * v[:, j]))
        lik = np.exp(loglik)  # at most 6 sessions, no underflow
        mean = lik.mean()
        estimate += math.log(mean)
        # Delta method: sd(log mean) ~ sd(lik) / (mean sqrt(draws)); therapists independent.
        variance += lik.var(ddof=1) / (draws * mean**2)
    se = math.sqrt(variance)
    assert 1e-4 < se < 1e-2  # the check below is meaningful, not vacuous
    assert abs(estimate - exact) < 4.0 * se


def laplace_design(n_sessions):
    """One therapist, two clients with n_sessions each, a fixed 3-of-4 success pattern."""
    n_therapists, n_clients = 1, 2
    therapist = np.repeat(np.arange(n_therapists), n_clients * n_sessions)
    client = np.repeat(np.arange(n_therapists * n_clients), n_sessions)
    y = np.tile(np.resize([1, 0, 1, 1], n_sessions), n_therapists * n_clients)
    offset = np.full(y.size, 0.3)
    return y, offset, therapist, client


def test_laplace_gap_is_negative_and_shrinks_with_cluster_size():
    # Laplace is not exact for the logistic model. With sd_c = 2 and one or two sessions per
    # client it underestimates the log-likelihood by several hundredths per client (-0.051 and
    # -0.100 here for two clients), and the gap shrinks roughly like 1/n (-0.063 at n = 6,
    # -0.031 at n = 18) as the posterior of each v_c becomes Gaussian.
    gaps = []
    for n in (1, 2, 6, 18):
        data = laplace_design(n)
        gaps.append(laplace_loglik(*data, 0.5, 2.0) - three_level_loglik(*data, 0.5, 2.0))
    assert all(gap < 0.0 for gap in gaps)
    assert gaps[0] < -0.04 and gaps[1] < -0.08
    assert abs(gaps[1]) > abs(gaps[2]) > abs(gaps[3])
    assert abs(gaps[3]) < 0.4 * abs(gaps[1])


def test_laplace_error_vanishes_like_sd4_for_small_sds():
    # As both sds -> 0 the random-effect contribution (exact - plain) is O(sd^2), while
    # Laplace's error is O(sd^4): halving sd divides it by about 16. A wrong constant or
    # log-determinant in the Laplace formula would leave an O(1) or O(sd^2) error instead.
    y, offset, therapist, client = nested_data(2, 2, 3, seed=8)
    plain = bernoulli_loglik(y, offset)
    errors = []
    for sd in (0.1, 0.05):
        exact = three_level_loglik(y, offset, therapist, client, sd, sd)
        approx = laplace_loglik(y, offset, therapist, client, sd, sd)
        assert abs(approx - exact) < 1e-3 * abs(exact - plain)
        errors.append(approx - exact)
    assert 12.0 < errors[0] / errors[1] < 20.0
