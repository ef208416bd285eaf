"""Posterior checks against truth: brute-force integrals, exact conjugate LOO and prior scaling."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats
from scipy.special import expit

from sessionmlm.checks import (
    Posterior,
    bernoulli_loglik,
    calibration,
    categorical_columns,
    posterior_checks,
    predictive_checks,
    prior_sensitivity,
    psis_loo,
    unit_loglik,
)
from sessionmlm.formula import parse_formula
from sessionmlm.model_data import ModelData

NORMAL = SimpleNamespace(dist="normal", mu=0.0, sigma=2.5, nu=None)
HALF = SimpleNamespace(dist="half_normal", mu=0.0, sigma=1.5, nu=None)


def _data(y, x, therapist, client) -> ModelData:
    """ModelData for homework ~ x + (1 | therapist/client) from plain arrays."""
    therapist, client = np.asarray(therapist), np.asarray(client)
    return ModelData(
        spec=parse_formula("homework ~ x + (1 | therapist/client)", "m"),
        y=np.asarray(y, dtype=float),
        X=np.asarray(x, dtype=float)[:, None],
        terms=("x",),
        groups=("therapist", "client"),
        unit_of_session=(therapist, client),
        unit_ids=(
            np.array([f"t{i}" for i in range(therapist.max() + 1)]),
            np.array([f"c{i}" for i in range(client.max() + 1)]),
        ),  # fmt: skip
        dropped={},
        n_dropped=0,
        rows=np.arange(len(y)),
    )


def _posterior(rng, S, n_therapists, n_clients, beta=(-0.3, 0.8), sds=(0.7, 1.1)) -> Posterior:
    coefficients = np.array(beta) + 0.1 * rng.standard_normal((S, 2))
    return Posterior(
        gamma=coefficients[:, 1:],
        coefficients=coefficients,
        sigma=np.array(sds) * np.exp(0.1 * rng.standard_normal((S, 2))),
        z=(rng.standard_normal((S, n_therapists)), rng.standard_normal((S, n_clients))),
        priors={"coefficients": NORMAL, "group_sd": HALF},
    )


def test_client_loglik_integrates_the_client_effect_out_exactly():
    rng = np.random.default_rng(1)
    # Client 0 has three sessions, client 1 one, client 2 two; two therapists.
    data = _data([1, 0, 1, 0, 1, 1], [0.2, -1.0, 1.5, 0.3, 2.0, -0.4],
                 [0, 0, 0, 1, 1, 1], [0, 0, 0, 1, 2, 2])  # fmt: skip
    post = _posterior(rng, 4, 2, 3)
    loglik, new_client = unit_loglik(data, post)
    for s in range(4):
        b0, b1 = post.coefficients[s]
        sd_t, sd_c = post.sigma[s]
        for j in range(3):
            sessions = np.flatnonzero(data.unit_of_session[1] == j)
            a = (
                b0
                + b1 * data.X[sessions, 0]
                + sd_t * post.z[0][s, data.unit_of_session[0][sessions]]
            )

            def likelihood(u, a=a, sessions=sessions, sd_c=sd_c):
                p = expit(a + u)
                return np.prod(np.where(data.y[sessions] == 1, p, 1 - p)) * stats.norm.pdf(
                    u, 0, sd_c
                )

            exact, _ = integrate.quad(likelihood, -12 * sd_c, 12 * sd_c, epsabs=1e-13)
            # 21-point quadrature: errors near 1e-9, far below the Monte Carlo error of LOO.
            assert loglik[s, j] == pytest.approx(np.log(exact), abs=1e-7)
        i = 4
        a = b0 + b1 * data.X[i, 0] + sd_t * post.z[0][s, 1]
        exact, _ = integrate.quad(
            lambda u, a=a, sd_c=sd_c: expit(a + u) * stats.norm.pdf(u, 0, sd_c), -12, 12
        )
        assert new_client[s, i] == pytest.approx(exact, abs=1e-7)


def test_psis_loo_equals_exact_leave_one_out_in_a_conjugate_model():
    """y_j ~ N(mu, 1), mu ~ N(0, 10^2): the leave-one-out predictive densities are closed form."""
    rng = np.random.default_rng(2)
    y = rng.normal(1.0, 1.0, size=30)
    prior_var, n = 100.0, len(y)
    post_var = 1 / (1 / prior_var + n)
    mu = rng.normal(post_var * y.sum(), np.sqrt(post_var), size=8000)
    loglik = stats.norm.logpdf(y[None, :], mu[:, None], 1.0)  # (S, J)
    loo = psis_loo(loglik)
    exact = []
    for j in range(n):
        v = 1 / (1 / prior_var + n - 1)
        m = v * (y.sum() - y[j])
        exact.append(stats.norm.logpdf(y[j], m, np.sqrt(v + 1)))
    assert loo["elpd"] == pytest.approx(np.array(exact), abs=0.01)
    assert loo["k"].max() < 0.5
    # In-sample density beats leave-one-out by p_loo, about one parameter here.
    assert loo["p_loo"].sum() == pytest.approx(1.0, abs=0.15)


def test_power_scaled_prior_equals_the_closed_form_posterior():
    """Likelihood N(b; 0.4, 0.5^2), prior N(0, 0.6^2): prior^alpha is N(0, 0.6^2 / alpha)."""
    rng = np.random.default_rng(3)
    bhat, se, tau = 0.4, 0.5, 0.6

    def posterior(prior_sd):
        var = 1 / (1 / prior_sd**2 + 1 / se**2)
        return var * bhat / se**2, np.sqrt(var)

    mean, sd = posterior(tau)
    b = rng.normal(mean, sd, size=20000)
    post = Posterior(
        gamma=b[:, None], coefficients=np.column_stack([0 * b, b]),
        sigma=rng.uniform(0.5, 1.0, size=(len(b), 1)), z=(np.zeros((len(b), 1)),),
        priors={"coefficients": SimpleNamespace(
            dist="normal", mu=0.0, sigma=tau, nu=None), "group_sd": HALF},
    )  # fmt: skip
    rows = pd.DataFrame(prior_sensitivity(post, ["x"])).set_index(["prior", "direction"])
    for direction, alpha in [("wider", 0.5), ("narrower", 2.0)]:
        m, s = posterior(tau / np.sqrt(alpha))
        row = rows.loc[("coefficients", direction)]
        assert np.log(row["or"]) == pytest.approx(m, abs=0.01)
        assert np.log(row.or_low) == pytest.approx(m - 1.96 * s, abs=0.02)
        assert np.log(row.or_high) == pytest.approx(m + 1.96 * s, abs=0.02)
        assert row.reliable
    # The group-SD prior does not touch a coefficient independent of it.
    sd_rows = rows.loc["group_sd"]
    assert np.allclose(np.log(sd_rows["or"]), mean, atol=0.02)


def test_a_conclusion_that_rests_on_the_prior_is_flagged():
    """Base interval just above 1; a flatter prior moves it across 1."""
    rng = np.random.default_rng(4)
    bhat, se, tau = 1.0, 0.3, 0.18  # a strong prior pulls towards 0: base low -0.04, wider +0.04
    var = 1 / (1 / tau**2 + 1 / se**2)
    b = rng.normal(var * bhat / se**2, np.sqrt(var), size=20000)
    post = Posterior(
        gamma=b[:, None], coefficients=np.column_stack([0 * b, b]),
        sigma=np.ones((len(b), 1)), z=(np.zeros((len(b), 1)),),
        priors={"coefficients": SimpleNamespace(
            dist="normal", mu=0.0, sigma=tau, nu=None), "group_sd": HALF},
    )  # fmt: skip
    rows = pd.DataFrame(prior_sensitivity(post, ["x"])).set_index(["prior", "direction"])
    base = rows.loc[("coefficients", "wider")]
    assert base.base_low < 1 < base.base_high  # unclear under the stated prior
    assert rows.loc[("coefficients", "wider")].changed  # higher once the prior is flatter
    assert rows.loc[("coefficients", "wider")].or_low > 1
    assert not rows.loc[("coefficients", "narrower")].changed


def test_predictive_checks_find_a_category_the_model_misses():
    """A model that predicts 40% everywhere, for data with 80% in one category and 20% in the other."""
    rng = np.random.default_rng(5)
    n = 400
    group = np.repeat(["A", "B"], n // 2)
    y = np.where(group == "A", rng.random(n) < 0.8, rng.random(n) < 0.2).astype(float)
    therapist = np.arange(n) // 8
    data = _data(y, np.zeros(n), therapist, np.arange(n) // 2)
    eta = np.full((1000, n), np.log(0.5 / 0.5))
    table = pd.DataFrame({"ebp": group})
    checks = predictive_checks(table, data, eta, ["ebp"], min_cell=11, seed=1)
    assert checks["overall"]["low"] <= y.mean() <= checks["overall"]["high"]
    by = {g["level"]: g for g in checks["per_category"]}
    assert not by["A"]["inside"] and not by["B"]["inside"]
    assert by["A"]["observed"] == pytest.approx(y[:200].mean())
    # Therapists' rates vary far more than a constant 50% allows.
    sd = checks["per_unit"]["statistics"][0]
    assert sd["observed"] > sd["high"] and sd["p_value"] < 0.01


def test_predictive_checks_pass_on_data_from_the_model_and_hide_small_cells():
    rng = np.random.default_rng(6)
    n = 300
    p = expit(rng.normal(-0.5, 1.0, size=n))
    y = (rng.random(n) < p).astype(float)
    eta = np.broadcast_to(np.log(p / (1 - p)), (1000, n))
    group = np.where(np.arange(n) < 15, "rare", "common")
    y[:15] = [1] * 5 + [0] * 10  # 5 positives: a small cell
    data = _data(y, np.zeros(n), np.arange(n) // 6, np.arange(n) // 3)
    checks = predictive_checks(pd.DataFrame({"ebp": group}), data, eta, ["ebp"], 11, seed=2)
    rare = next(g for g in checks["per_category"] if g["level"] == "rare")
    assert rare["observed"] is None and rare["sessions"] is None and rare["inside"] is None
    assert 0.01 < checks["overall"]["p_value"] < 0.99


def test_calibration_bins_hide_small_cells_and_find_calibrated_predictions_calibrated():
    rng = np.random.default_rng(7)
    predicted = rng.uniform(0.02, 0.98, size=3000)
    y = (rng.random(3000) < predicted).astype(float)
    bins = calibration(y, predicted, min_cell=11)
    assert len(bins) == 10 and sum(b["sessions"] for b in bins) == 3000
    inside = [b["low"] <= b["predicted"] <= b["high"] for b in bins]
    assert sum(inside) >= 8
    # A rare outcome, or a rare absence of it: bins merge until each has 11 sessions with and
    # 11 without it.
    for positives in (25, 175):
        y_rare = np.zeros(200)
        y_rare[rng.choice(200, positives, replace=False)] = 1
        bins = calibration(y_rare, rng.random(200), min_cell=11)
        with_it = [round(b["observed"] * b["sessions"]) for b in bins]
        assert bins and min(with_it) >= 11, with_it
        assert min(b["sessions"] - k for b, k in zip(bins, with_it, strict=True)) >= 11
        assert sum(b["sessions"] for b in bins) == 200
    # Miscalibrated predictions (all 0.5 when the truth spans 0 to 1) are seen as such.
    bins = calibration(y, np.clip(0.5 + 0.01 * (predicted - 0.5), 0, 1), min_cell=11)
    assert bins[0]["high"] < bins[0]["predicted"] and bins[-1]["low"] > bins[-1]["predicted"]


def test_bernoulli_loglik_is_stable_far_out():
    assert bernoulli_loglik(np.array(1.0), np.array(800.0)) == pytest.approx(0.0)
    assert bernoulli_loglik(np.array(0.0), np.array(800.0)) == pytest.approx(-800.0)
    assert bernoulli_loglik(np.array(1.0), np.array(0.3)) == pytest.approx(np.log(expit(0.3)))


def test_unit_effects_at_kept_draws_and_sensitivity_over_every_draw():
    """Checks needing unit effects use the kept draws; the prior sensitivity uses all draws,
    so its "as fitted" odds ratios are the engine's own posterior medians and intervals."""
    rng = np.random.default_rng(9)
    n = 120
    data = _data((rng.random(n) < 0.4).astype(float), rng.normal(size=n), np.arange(n) // 12,
                 np.arange(n) // 3)  # fmt: skip
    full = _posterior(rng, 2000, 10, 40)
    kept = np.arange(0, 2000, 4)
    post = Posterior(full.gamma, full.coefficients, full.sigma,
                     tuple(z[kept] for z in full.z), full.priors, kept=kept)  # fmt: skip
    joint = post.joint()
    assert np.array_equal(joint.sigma, full.sigma[kept]) and joint.z[0].shape == (500, 10)
    checks = posterior_checks(pd.DataFrame(index=range(n)), data, post, [], 11, seed=1)
    assert checks["draws"] == 500 and checks["all_draws"] == 2000
    row = checks["sensitivity"][0]
    low, mid, high = np.exp(np.quantile(full.coefficients[:, 1], [0.025, 0.5, 0.975]))
    assert (row["base_low"], row["base_or"], row["base_high"]) == pytest.approx((low, mid, high))


def test_predictive_checks_group_by_every_categorical_predictor_not_by_ids():
    table = pd.DataFrame({"therapist": ["t1", "t2"], "client": ["c1", "c2"],
                          "session": ["s1", "s2"], "ebp": pd.array(["MAP", "CPP"], "string"),
                          "setting": ["home", "clinic"], "child_age": [7.0, 9.0]})  # fmt: skip
    levels = ("therapist", "client", "session")
    assert categorical_columns(table, {}, levels) == ["ebp", "setting"]
    assert categorical_columns(table, {"setting": "home"}, levels) == ["setting", "ebp"]
