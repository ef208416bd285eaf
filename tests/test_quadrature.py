"""Nested adaptive quadrature against independent integration and its own exact gradient."""

from __future__ import annotations

import numpy as np
import pytest

from sessionmlm.engines.ml.quadrature import NestedQuadrature, nesting_from_codes
from tests.reference_integrals import laplace_loglik, three_level_loglik, two_level_loglik


def small_three_level(seed: int, therapists: int = 3):
    """Therapists with 2-3 clients of 1-4 sessions each, random offsets and outcomes."""
    rng = np.random.default_rng(seed)
    outer, inner, client = [], [], 0
    for t in range(therapists):
        for _ in range(rng.integers(2, 4)):
            n = rng.integers(1, 5)
            outer += [t] * n
            inner += [client] * n
            client += 1
    outer, inner = np.array(outer), np.array(inner)
    offset = rng.normal(-0.5, 1.5, len(outer))
    y = (rng.random(len(outer)) < 0.45).astype(float)
    return y, offset, outer, inner


def agq(y, offset, outer, inner, sd_t, sd_c, points):
    order, nesting = nesting_from_codes(outer, inner)
    quadrature = NestedQuadrature(y[order], nesting, points, points)
    return quadrature.evaluate(offset[order], sd_t, sd_c)[0]


# Points needed for 1e-6: 12 while the SDs are moderate; single-session clients with SDs of 3-5
# make the integrand skewed, and Gauss-Hermite rules then converge slowly (found by running
# 12, 24, 40, 60, 80 and 100 points against the exact value).
CASES = [
    (0.5, 1.0, 12),
    (1.5, 0.3, 12),
    (1.0, 1.5, 12),
    (3.0, 3.0, 60),
    (5.0, 2.0, 40),
    (4.0, 4.0, 100),
]


@pytest.mark.parametrize("sd_t, sd_c, points", CASES)
def test_quadrature_equals_exact_nested_integration(sd_t, sd_c, points):
    y, offset, outer, inner = small_three_level(seed=3)
    exact = three_level_loglik(y, offset, outer, inner, sd_t, sd_c)
    assert agq(y, offset, outer, inner, sd_t, sd_c, points) == pytest.approx(exact, abs=1e-6)


def test_error_shrinks_as_points_grow_at_large_variances():
    y, offset, outer, inner = small_three_level(seed=3)
    exact = three_level_loglik(y, offset, outer, inner, 4.0, 4.0)
    errors = [abs(agq(y, offset, outer, inner, 4.0, 4.0, q) - exact) for q in (1, 12, 40, 100)]
    assert errors[0] > errors[1] > errors[2] > errors[3]
    assert errors[0] > 0.1  # Laplace is far off here, which is the point of quadrature


@pytest.mark.parametrize("sd_t, sd_c", [(0.5, 1.0), (2.0, 0.5), (4.0, 4.0), (0.0, 2.0)])
def test_one_point_is_the_multivariate_laplace_approximation(sd_t, sd_c):
    y, offset, outer, inner = small_three_level(seed=5, therapists=4)
    expected = laplace_loglik(y, offset, outer, inner, sd_t, sd_c)
    assert agq(y, offset, outer, inner, sd_t, sd_c, 1) == pytest.approx(expected, abs=1e-9)


def test_two_level_model_is_exact_in_the_inner_integral():
    # One grouping level: one "client" per group, SD 0 and one inner point.
    y, offset, outer, _ = small_three_level(seed=7)
    order, nesting = nesting_from_codes(outer, outer)
    quadrature = NestedQuadrature(y[order], nesting, 25, 1)
    value = quadrature.evaluate(offset[order], 1.2, 0.0)[0]
    assert value == pytest.approx(two_level_loglik(y, offset, outer, 1.2), abs=1e-8)


@pytest.mark.parametrize("points", [1, 3, 12])
@pytest.mark.parametrize("sd_t, sd_c", [(1.3, 0.9), (0.0, 0.9), (1.3, 0.0), (2.5, 3.0)])
def test_gradient_is_exact_for_the_approximation_computed(points, sd_t, sd_c):
    # Central differences of the log-likelihood itself; the analytic gradient carries the
    # derivatives of the adaptive nodes, so it matches at every number of points, Laplace too.
    y, offset, outer, inner = small_three_level(seed=11, therapists=6)
    order, nesting = nesting_from_codes(outer, inner)
    quadrature = NestedQuadrature(y[order], nesting, points, points)
    off = offset[order]
    _, grad, d_t, d_c, _ = quadrature.evaluate(off, sd_t, sd_c)
    h = 1e-6

    def ll(o=off, a=sd_t, b=sd_c):
        return quadrature.evaluate(o, a, b)[0]

    numeric = [(ll(o=off + h * e) - ll(o=off - h * e)) / (2 * h) for e in np.eye(len(off))]
    assert np.allclose(grad, numeric, atol=1e-6)
    assert d_t == pytest.approx((ll(a=sd_t + h) - ll(a=sd_t - h)) / (2 * h), abs=1e-6)
    assert d_c == pytest.approx((ll(b=sd_c + h) - ll(b=sd_c - h)) / (2 * h), abs=1e-6)


def test_nesting_sorts_sessions_by_therapist_then_client():
    outer = np.array([1, 0, 1, 0, 1])
    inner = np.array([2, 0, 3, 1, 2])
    order, nesting = nesting_from_codes(outer, inner)
    assert list(outer[order]) == [0, 0, 1, 1, 1]
    assert list(nesting.client_start) == [0, 1, 2, 4, 5]  # clients 0, 1 | 2 (two), 3
    assert list(nesting.therapist_start) == [0, 2, 4]
