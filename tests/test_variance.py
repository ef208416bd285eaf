import math

import numpy as np

from sessionmlm.variance import icc_by_level, median_odds_ratio


def test_median_odds_ratio_matches_merlo():
    # Merlo et al. 2006: MOR = exp(sqrt(2 * var) * 0.6745); var 0.5 gives about 1.96.
    assert math.isclose(
        median_odds_ratio(math.sqrt(0.5)), math.exp(math.sqrt(1.0) * 0.6745), rel_tol=1e-4
    )
    assert median_odds_ratio(0.0) == 1.0


def test_median_odds_ratio_by_brute_force():
    # The median over random pairs of units of exp(|u1 - u2|) with u ~ N(0, sd^2).
    rng = np.random.default_rng(0)
    sd = 0.9
    u = rng.normal(0, sd, size=(2, 2_000_000))
    assert math.isclose(np.median(np.exp(np.abs(u[0] - u[1]))), median_odds_ratio(sd), rel_tol=5e-3)


def test_icc_by_level_cumulates_from_the_outermost_level():
    icc = icc_by_level(np.array([0.8, 0.9]))
    total = 0.64 + 0.81 + math.pi**2 / 3
    assert np.allclose(icc, [0.64 / total, (0.64 + 0.81) / total])
    draws = icc_by_level(np.array([[[0.8, 0.9], [0.0, 0.0]]]))
    assert draws.shape == (1, 2, 2) and np.allclose(draws[0, 1], 0.0)
