"""Posterior checks of an ordinal outcome against truth: exact probabilities and integrals."""

from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats
from scipy.special import expit

from sessionmlm.checks import Posterior, posterior_checks
from sessionmlm.formula import parse_formula
from sessionmlm.ordinal_checks import (
    ordinal_loglik,
    ordinal_predictive_checks,
    ordinal_unit_loglik,
    replicate,
    threshold_calibration,
)

from .test_checks import HALF, NORMAL, _data

CATEGORIES = ("none", "some", "much", "all")


def _ordinal(y, x, therapist, client, categories=CATEGORIES):
    """ModelData for rating ~ x + (1 | therapist/client), y category indices lowest first."""
    data = _data(y, x, therapist, client)
    spec = parse_formula("rating ~ x + (1 | therapist/client)", "m")
    return replace(data, spec=spec, outcome_type="ordinal", categories=tuple(categories))


def _posterior(rng, S, n_therapists, n_clients, beta=0.8, cuts=(-1.0, 0.5, 2.0), sds=(0.7, 1.1)):
    """Draws around known values; the Intercept column is 0 (thresholds stand in for it)."""
    b = beta + 0.1 * rng.standard_normal(S)
    thresholds = np.sort(np.array(cuts) + 0.1 * rng.standard_normal((S, len(cuts))), axis=1)
    return Posterior(
        gamma=b[:, None], coefficients=np.column_stack([0 * b, b]),
        sigma=np.array(sds) * np.exp(0.1 * rng.standard_normal((S, 2))),
        z=(rng.standard_normal((S, n_therapists)), rng.standard_normal((S, n_clients))),
        priors={"coefficients": NORMAL, "group_sd": HALF, "thresholds": NORMAL},
        thresholds=thresholds, centred_thresholds=thresholds - 0.3,
    )  # fmt: skip


def _probabilities(eta, cuts):
    """P(y = k) for k = 0..K-1 straight from the definition, logit P(y <= k) = c_k - eta."""
    cumulative = np.concatenate([[0.0], expit(np.asarray(cuts) - eta), [1.0]])
    return np.diff(cumulative)


def test_ordinal_loglik_is_the_cumulative_logit_and_stable_far_out():
    cuts = np.array([[-1.0, 0.5, 2.0]])
    for eta in (-2.3, 0.0, 0.7, 4.1):
        p = _probabilities(eta, cuts[0])
        got = ordinal_loglik(np.arange(4), np.full((1, 4), eta), cuts)[0]
        assert np.exp(got) == pytest.approx(p, rel=1e-12)
        assert np.exp(got).sum() == pytest.approx(1.0)
    # Far out, where 1 - sigmoid would round to 0: the log-probabilities stay finite and exact.
    far = ordinal_loglik(np.array([0, 3, 1]), np.array([[60.0, -60.0, 60.0]]), cuts)[0]
    assert far[0] == pytest.approx(-61.0) and far[1] == pytest.approx(-62.0)
    assert far[2] == pytest.approx(0.5 - 60.0 + np.log1p(-np.exp(-1.5)), rel=1e-9)
    # Two categories: one threshold, and the binary likelihood of y > 0 with intercept -c.
    two = ordinal_loglik(np.array([0, 1]), np.array([[0.3, 0.3]]), np.array([[0.8]]))[0]
    assert two == pytest.approx([np.log(expit(0.5)), np.log(expit(-0.5))])


def test_the_samplers_likelihood_is_the_checks_likelihood():
    """The PyTensor log-likelihood the model samples equals the one LOO and the checks use."""
    import pytensor
    import pytensor.tensor as pt

    from sessionmlm.engines.bayes.model import ORDINAL_DATA, _ordinal_values
    from sessionmlm.engines.bayes.model import ordinal_loglik as pt_ll

    rng = np.random.default_rng(1)
    y = rng.integers(0, 4, size=50)
    data = _ordinal(y, rng.normal(size=50), np.arange(50) // 10, np.arange(50) // 2)
    values = _ordinal_values(data)
    eta, cuts = pt.vector("eta"), pt.vector("cuts")
    f = pytensor.function([eta, cuts], pt_ll(eta, cuts, {k: values[k] for k in ORDINAL_DATA}))
    for _ in range(3):
        e, c = rng.normal(0, 2, 50), np.sort(rng.normal(0, 2, 3))
        assert f(e, c) == pytest.approx(ordinal_loglik(y, e[None], c[None]).sum(), rel=1e-10)


def test_client_loglik_integrates_the_client_effect_out_exactly():
    rng = np.random.default_rng(2)
    data = _ordinal([3, 0, 1, 2, 2, 0], [0.2, -1.0, 1.5, 0.3, 2.0, -0.4],
                    [0, 0, 0, 1, 1, 1], [0, 0, 0, 1, 2, 2])  # fmt: skip
    post = _posterior(rng, 3, 2, 3)
    loglik = ordinal_unit_loglik(data, post)
    for s in range(3):
        for j in range(3):
            sessions = np.flatnonzero(data.unit_of_session[1] == j)
            a = (
                post.coefficients[s, 1] * data.X[sessions, 0]
                + post.sigma[s, 0] * post.z[0][s, data.unit_of_session[0][sessions]]
            )

            def likelihood(u, a=a, sessions=sessions, s=s):
                p = [_probabilities(e + u, post.thresholds[s])[int(data.y[i])]
                     for e, i in zip(a, sessions, strict=True)]  # fmt: skip
                return np.prod(p) * stats.norm.pdf(u, 0, post.sigma[s, 1])

            sd = post.sigma[s, 1]
            exact, _ = integrate.quad(likelihood, -12 * sd, 12 * sd, epsabs=1e-13)
            assert loglik[s, j] == pytest.approx(np.log(exact), abs=1e-7)


def test_replicated_categories_have_the_models_probabilities():
    rng = np.random.default_rng(3)
    eta = np.array([-1.5, 0.0, 2.5])
    cuts = np.array([-1.0, 0.5, 2.0])
    S = 40_000
    y_rep = replicate(np.broadcast_to(eta, (S, 3)), np.broadcast_to(cuts, (S, 3)), rng)
    for i, e in enumerate(eta):
        shares = np.bincount(y_rep[:, i], minlength=4) / S
        p = _probabilities(e, cuts)
        assert shares == pytest.approx(p, abs=4 * np.sqrt(0.25 / S))


def test_predictive_checks_find_a_category_the_model_misses_and_hide_small_cells():
    """Data piled in the top category for one EBP, a model with the same shares for both."""
    rng = np.random.default_rng(4)
    n, S = 400, 1000
    group = np.repeat(["A", "B"], n // 2)
    # A: 180 sessions "all", 15 "some", 5 "none" (a small cell), no "much".
    y = np.concatenate([np.full(180, 3), np.full(15, 1), np.full(5, 0), rng.integers(0, 4, 200)])
    data = _ordinal(y, np.zeros(n), np.arange(n) // 8, np.arange(n) // 2)
    cuts = np.broadcast_to(np.array([-1.1, 0.0, 1.1]), (S, 3))  # every category 25%
    checks = ordinal_predictive_checks(
        pd.DataFrame({"ebp": group}), data, np.zeros((S, n)), cuts, ["ebp"], 11, seed=1
    )
    top = checks["shares"][3]
    assert top["name"] == "share with rating all" and top["observed"] > top["high"]
    assert top["median"] == pytest.approx(0.25, abs=0.01)
    rows = {(r["level"], r["category"]): r for r in checks["per_category"]}
    assert rows[("A", "all")]["observed"] == pytest.approx(0.9)
    assert rows[("A", "all")]["inside"] is False
    assert rows[("A", "some")]["observed"] == pytest.approx(15 / 200)
    for hidden in ("none", "much"):  # 5 and 0 sessions
        row = rows[("A", hidden)]
        assert row["observed"] is None and row["sessions"] is None and row["inside"] is None
    assert rows[("B", "much")]["observed"] == pytest.approx(np.mean(y[200:] == 2))
    spread = checks["per_unit"]["statistics"]
    assert spread[0]["name"].startswith("SD of the therapist mean ratings")
    assert spread[0]["observed"] > spread[0]["high"]  # A's therapists rate near 4, B's 2.5
    assert len(spread) == 1 + len(CATEGORIES)


def test_threshold_calibration_holds_on_data_from_the_model():
    """No grouping effect to leave out: P(y above k) is sigmoid(eta - c_k) itself."""
    rng = np.random.default_rng(5)
    n, S = 3000, 50
    x = rng.normal(size=n)
    cuts = np.array([-1.0, 0.5, 2.0])
    latent = 0.8 * x + rng.logistic(size=n)
    data = replace(_ordinal(np.searchsorted(cuts, latent), x, np.arange(n) // 10,
                            np.arange(n) // 3), groups=(), unit_of_session=(), unit_ids=())  # fmt: skip
    post = Posterior(
        gamma=np.full((S, 1), 0.8), coefficients=np.tile([0.0, 0.8], (S, 1)),
        sigma=np.zeros((S, 0)), z=(), priors={}, thresholds=np.tile(cuts, (S, 1)),
    )  # fmt: skip
    log_weights = np.full((n, S), -np.log(S))
    rows = threshold_calibration(data, post, log_weights, min_cell=11)
    assert [r["threshold"] for r in rows] == ["none|some", "some|much", "much|all"]
    for k, row in enumerate(rows):
        assert row["event"] == f"rating above {CATEGORIES[k]}"
        bins = row["bins"]
        assert sum(b["sessions"] for b in bins) == n
        inside = [b["low"] <= b["predicted"] <= b["high"] for b in bins]
        assert sum(inside) >= len(bins) - 2, (k, bins)
        exact = expit(0.8 * x - cuts[k]).mean()
        assert np.average([b["predicted"] for b in bins],
                          weights=[b["sessions"] for b in bins]) == pytest.approx(exact)  # fmt: skip


def test_posterior_checks_of_an_ordinal_fit():
    rng = np.random.default_rng(6)
    n = 240
    data = _ordinal(rng.integers(0, 4, n), rng.normal(size=n), np.arange(n) // 12,
                    np.arange(n) // 3)  # fmt: skip
    full = _posterior(rng, 800, 20, 80)
    kept = np.arange(0, 800, 4)
    post = replace(full, z=tuple(z[kept] for z in full.z), kept=kept)
    table = pd.DataFrame({"ebp": np.where(np.arange(n) % 2, "A", "B")})
    checks = posterior_checks(table, data, post, ["ebp"], 11, seed=1)
    assert checks["outcome_type"] == "ordinal" and checks["categories"] == list(CATEGORIES)
    assert checks["draws"] == 200 and checks["all_draws"] == 800
    assert len(checks["predictive"]["shares"]) == 4 and "overall" not in checks["predictive"]
    assert len(checks["calibration_by_threshold"]) == 3 and "calibration" not in checks
    assert checks["loo"]["unit"] == "client" and checks["loo"]["n_units"] == 80
    assert np.isfinite(checks["loo"]["elpd"])
    # Prior sensitivity scales the threshold prior too; x's odds ratio is the same draws'.
    priors = {r["prior"] for r in checks["sensitivity"]}
    assert priors == {"coefficients", "group_sd", "thresholds"}
    row = checks["sensitivity"][0]
    median = np.exp(np.median(full.coefficients[:, 1]))
    assert row["base_or"] == pytest.approx(median)


def test_the_threshold_prior_is_scaled_on_the_centred_thresholds():
    """Power-scaling the threshold prior, when the coefficient is independent of the thresholds,
    leaves its odds ratio alone; a coefficient tied to them moves with them."""
    rng = np.random.default_rng(7)
    S = 20_000
    c = rng.normal(0.0, 1.0, size=(S, 1))
    tied = 0.5 * c[:, 0] + rng.normal(0, 0.5, S)
    post = Posterior(
        gamma=np.column_stack([rng.normal(size=S), tied]),
        coefficients=np.column_stack([np.zeros(S), rng.normal(size=S), tied]),
        sigma=np.ones((S, 1)), z=(np.zeros((S, 1)),),
        priors={"coefficients": SimpleNamespace(dist="normal", mu=0.0, sigma=100.0, nu=None),
                "group_sd": HALF,
                "thresholds": SimpleNamespace(dist="normal", mu=0.0, sigma=1.0, nu=None)},
        thresholds=c, centred_thresholds=c,
    )  # fmt: skip
    from sessionmlm.sensitivity import prior_sensitivity

    rows = pd.DataFrame(prior_sensitivity(post, ["free", "tied"]))
    narrower = rows[(rows.prior == "thresholds") & (rows.direction == "narrower")]
    free, tied_row = narrower.set_index("term").loc["free"], narrower.set_index("term").loc["tied"]
    assert np.log(free.or_high / free.or_low) == pytest.approx(2 * 1.96, rel=0.05)
    # The prior N(0, 1) squared is N(0, 1/2): c's spread shrinks, and with it tied's.
    sd = np.sqrt(0.25 * 0.5 + 0.25)
    assert np.log(tied_row.or_high / tied_row.or_low) == pytest.approx(2 * 1.96 * sd, rel=0.05)
