"""Predicted probabilities against brute force, quadrature and the delta method."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats
from scipy.special import expit

from sessionmlm.prediction_plan import PredictionPlan
from sessionmlm.predictions import (
    AVERAGED,
    CONDITIONAL,
    averaged_probability,
    category_probabilities,
    predicted_probabilities,
    probabilities_from_draws,
)

TERMS = ["Intercept", "caregiver_present", "child_age", "licensed", "stressful_event"]
BETA = np.array([-2.2, 0.75, 0.08, -0.6, -0.1])
AGES = tuple(range(4, 19))


def plan(held, ages=AGES):
    """Across child age, caregiver and licensure as lines, the rest held (the demo's setting)."""
    return PredictionPlan("full", "child_age", tuple(float(a) for a in ages),
                          ("caregiver_present", "licensed"), held, {})  # fmt: skip


def test_averaged_probability_equals_monte_carlo():
    u = np.random.default_rng(0).normal(0, 1.2, 2_000_000)
    for eta in (-2.5, 0.0, 1.3):
        assert averaged_probability(np.array([eta]), 1.2)[0] == pytest.approx(
            expit(eta + u).mean(), abs=1e-3
        )
    assert averaged_probability(np.array([0.7]), 0.0)[0] == pytest.approx(expit(0.7))


def test_conditional_and_averaged_predictions():
    vcov = np.diag([0.16, 0.04, 0.0009, 0.08, 0.01])
    table = predicted_probabilities(TERMS, BETA, vcov, np.array([0.8, 0.9]),
                                    plan({"stressful_event": 0.2}), draws=20_000)  # fmt: skip
    row = table[(table.kind == CONDITIONAL) & (table.caregiver_present == 1)
                & (table.licensed == 0) & (table.child_age == 10)].iloc[0]  # fmt: skip
    x = np.array([1, 1, 10, 0, 0.2])
    assert row.probability == pytest.approx(expit(x @ BETA))
    # The simulated interval agrees with the delta method on the logit scale.
    se = np.sqrt(x @ vcov @ x)
    z = stats.norm.ppf(0.975)
    assert (row.low, row.high) == pytest.approx(
        (expit(x @ BETA - z * se), expit(x @ BETA + z * se)), abs=0.01
    )
    averaged = table[(table.kind == AVERAGED) & (table.caregiver_present == 1)
                     & (table.licensed == 0) & (table.child_age == 10)].iloc[0]  # fmt: skip
    assert averaged.probability == pytest.approx(
        averaged_probability(np.array([x @ BETA]), np.hypot(0.8, 0.9))[0]
    )
    # Below one half, averaging over therapists pulls the probability up towards one half.
    assert averaged.probability > row.probability
    assert len(table) == 2 * 2 * 2 * 15


def test_no_uncertainty_gives_a_point_interval():
    table = predicted_probabilities(TERMS, BETA, np.zeros((5, 5)), np.array([0.8, 0.9]),
                                    plan({"stressful_event": 0.0}), draws=50)  # fmt: skip
    assert np.allclose(table.low, table.probability) and np.allclose(table.high, table.probability)


# --- probabilities_from_draws: the function both engines share ---------------------------------

SDS = np.array([0.8, 0.9])
VCOV = np.diag([0.16, 0.04, 0.0009, 0.08, 0.01])
MEANS = {"stressful_event": 0.2}
PLAN = plan(MEANS)


def _old_predicted_probabilities(terms, estimate, vcov, sds, means, ages=AGES, draws=4000, seed=1):
    """The ml predictions as written before probabilities_from_draws, loop for loop."""
    rng = np.random.default_rng(seed)
    beta = rng.multivariate_normal(estimate, vcov, size=draws, method="eigh")
    sd_total = float(np.sqrt(np.sum(np.square(sds))))
    rows = []
    for caregiver in (1, 0):
        for licensed in (0, 1):
            values = means | {"caregiver_present": caregiver, "licensed": licensed}
            X = np.array([[1.0 if t == "Intercept" else (age if t == "child_age" else values[t])
                           for t in terms] for age in ages])  # fmt: skip
            links = ((CONDITIONAL, expit),
                     (AVERAGED, lambda eta: averaged_probability(eta, sd_total)))  # fmt: skip
            for kind, link in links:
                point = link(X @ estimate)
                low, high = np.percentile(link(beta @ X.T), [2.5, 97.5], axis=0)
                for age, p, lo, hi in zip(ages, point, low, high, strict=True):
                    rows.append({"kind": kind, "caregiver_present": caregiver,
                                 "licensed": licensed, "child_age": age, "probability": p,
                                 "low": lo, "high": hi})  # fmt: skip
    return pd.DataFrame(rows).astype({"child_age": float})


def _averaged_by_quad(eta: float, sd_total: float) -> float:
    """E[expit(eta + sd_total * z)], z ~ N(0, 1), by adaptive quadrature."""
    value, _ = integrate.quad(lambda z: expit(eta + sd_total * z) * stats.norm.pdf(z), -np.inf, np.inf,
                              epsabs=1e-12, epsrel=1e-12)  # fmt: skip
    return value


def _row(table, kind, caregiver, licensed, age):
    sel = table[(table.kind == kind) & (table.caregiver_present == caregiver)
                & (table.licensed == licensed) & (table.child_age == age)]  # fmt: skip
    assert len(sel) == 1
    return sel.iloc[0]


@pytest.mark.parametrize(
    ("sds", "means", "ages", "draws", "seed"),
    [
        (SDS, MEANS, AGES, 4000, 1),
        (np.array([1.3]), {"stressful_event": 0.0}, (5, 9, 17), 500, 7),
        (np.array([0.4, 0.0, 1.1]), MEANS, AGES, 1000, 3),
    ],
)
def test_ml_predictions_unchanged_by_the_refactor(sds, means, ages, draws, seed):
    new = predicted_probabilities(TERMS, BETA, VCOV, sds, plan(means, ages), draws=draws, seed=seed)
    old = _old_predicted_probabilities(
        TERMS, BETA, VCOV, sds, means, ages=ages, draws=draws, seed=seed
    )
    # The same rows, in another order (line settings now run 0 then 1 for each line).
    key = ["kind", "caregiver_present", "licensed", "child_age"]
    new, old = (t.sort_values(key).reset_index(drop=True) for t in (new, old))
    pd.testing.assert_frame_equal(new, old, check_exact=True)


def test_averaged_draws_equal_quadrature_per_draw():
    """Each draw's averaged probability, with its own SD total, against scipy quad."""
    rng = np.random.default_rng(11)
    beta = BETA + rng.normal(0, 0.3, size=(5, len(TERMS)))
    sd_draws = np.abs(rng.normal([0.8, 0.9], 0.4, size=(5, 2)))  # every draw a different SD
    ages = (6, 15)
    table = probabilities_from_draws(TERMS, beta, sd_draws, plan(MEANS, ages))
    for caregiver, licensed in ((1, 0), (0, 1)):
        for age in ages:
            x = np.array([1, caregiver, age, licensed, MEANS["stressful_event"]])
            truth = np.array([_averaged_by_quad(b @ x, np.hypot(*s))
                              for b, s in zip(beta, sd_draws, strict=True)])  # fmt: skip
            row = _row(table, AVERAGED, caregiver, licensed, age)
            assert row.probability == pytest.approx(np.median(truth), abs=1e-10)
            assert (row.low, row.high) == pytest.approx(
                tuple(np.percentile(truth, [2.5, 97.5])), abs=1e-10
            )
            cond = _row(table, CONDITIONAL, caregiver, licensed, age)
            assert cond.probability == pytest.approx(np.median(expit(beta @ x)), abs=1e-14)


def test_single_draw_equals_monte_carlo():
    """With one draw, probability, low and high are all that draw's E[expit(eta + u)]."""
    beta = np.array([[-1.1, 0.4, 0.05, -0.3, 0.2]])
    sd_draws = np.array([[1.5, 0.7]])
    table = probabilities_from_draws(TERMS, beta, sd_draws, plan(MEANS, (12,)))
    row = _row(table, AVERAGED, 1, 1, 12)
    eta = beta[0] @ np.array([1, 1, 12, 1, 0.2])
    u = np.random.default_rng(5).normal(0, np.hypot(1.5, 0.7), 2_000_000)
    assert row.probability == pytest.approx(expit(eta + u).mean(), abs=1e-3)
    assert row.low == pytest.approx(row.probability) and row.high == pytest.approx(row.probability)


def test_equal_sd_draws_agree_with_the_ml_path():
    draws, seed = 20_000, 4
    ml = predicted_probabilities(TERMS, BETA, VCOV, SDS, PLAN, draws=draws, seed=seed)
    beta = np.random.default_rng(seed).multivariate_normal(BETA, VCOV, size=draws, method="eigh")
    sd_draws = np.tile(SDS, (draws, 1))
    # At the point: exactly the ml table.
    at_point = probabilities_from_draws(TERMS, beta, sd_draws, PLAN, point=(BETA, SDS))
    pd.testing.assert_frame_equal(at_point, ml, check_exact=True)
    # Posterior-median style: the same intervals, and the median of the draws lands on the
    # point (both links are monotone in eta, and eta's draws are symmetric about x'beta).
    median = probabilities_from_draws(TERMS, beta, sd_draws, PLAN)
    pd.testing.assert_frame_equal(
        median.drop(columns="probability"), ml.drop(columns="probability")
    )
    assert np.allclose(median.probability, ml.probability, atol=0.005)
    assert not np.array_equal(median.probability, ml.probability)


def test_varying_sd_draws_widen_only_the_averaged_intervals():
    """SD uncertainty widens the averaged intervals, away from x'beta = 0.

    Not everywhere: at x'beta = 0 the averaged probability is one half whatever the SD, and a
    larger SD flattens the averaged curve in x'beta, so where the coefficients' uncertainty
    dominates, varying SDs can narrow an interval by a percent or two. Hence well-estimated
    coefficients (SEs halved) and rows with |x'beta| > 1.
    """
    draws = 8000
    rng = np.random.default_rng(2)
    beta = rng.multivariate_normal(BETA, VCOV / 4, size=draws, method="eigh")
    sd_draws = SDS * np.exp(rng.normal(0, 0.35, size=(draws, 2)))
    fixed = np.tile(np.median(sd_draws, axis=0), (draws, 1))
    varying = probabilities_from_draws(TERMS, beta, sd_draws, PLAN)
    held = probabilities_from_draws(TERMS, beta, fixed, PLAN)
    X = np.column_stack([np.ones(len(varying)), varying.caregiver_present, varying.child_age,
                         varying.licensed, np.full(len(varying), 0.2)])  # fmt: skip
    far = (varying.kind == AVERAGED) & (np.abs(X @ BETA) > 1)
    assert far.sum() > 30
    ratio = (varying.high - varying.low) / (held.high - held.low)
    assert (ratio[far] > 1.01).all()
    # The conditional probability never sees the SDs.
    conditional = varying.kind == CONDITIONAL
    pd.testing.assert_frame_equal(varying[conditional], held[conditional], check_exact=True)


def test_sd_uncertainty_alone_gives_an_interval():
    """Coefficients known exactly: the averaged interval is the SDs' uncertainty alone."""
    draws = 4000
    beta = np.tile(BETA, (draws, 1))
    sd_draws = SDS * np.exp(np.random.default_rng(8).normal(0, 0.3, size=(draws, 2)))
    table = probabilities_from_draws(TERMS, beta, sd_draws, PLAN)
    cond = table[table.kind == CONDITIONAL]
    assert np.allclose(cond.low, cond.high)
    avg = _row(table, AVERAGED, 0, 0, 8)
    eta = BETA @ np.array([1, 0, 8, 0, 0.2])  # below zero: more spread, nearer one half
    totals = np.percentile(np.hypot(*sd_draws.T), [2.5, 97.5])
    assert avg.low == pytest.approx(_averaged_by_quad(eta, totals[0]), abs=1e-4)
    assert avg.high == pytest.approx(_averaged_by_quad(eta, totals[1]), abs=1e-4)


def test_no_random_effects_gives_the_conditional_probability():
    beta = np.tile(BETA, (3, 1))
    table = probabilities_from_draws(TERMS, beta, np.zeros((3, 0)), PLAN)
    cond = table[table.kind == CONDITIONAL].reset_index(drop=True)
    avg = table[table.kind == AVERAGED].reset_index(drop=True)
    assert np.allclose(avg.probability, cond.probability, atol=1e-14)


@pytest.mark.parametrize("term", ["stressful_event", "ebp[CPP]"])
def test_a_term_the_plan_gives_no_value_is_named(term):
    terms = [*TERMS, "ebp[CPP]"] if term.startswith("ebp") else TERMS
    held = {} if term == "stressful_event" else MEANS
    beta = np.zeros((10, len(terms)))
    with pytest.raises(ValueError, match=re.escape(repr(term))):
        probabilities_from_draws(terms, beta, np.tile(SDS, (10, 1)), plan(held))


def test_bad_inputs_are_named():
    beta = np.tile(BETA, (10, 1))
    sd_draws = np.tile(SDS, (10, 1))
    with pytest.raises(ValueError, match="Intercept"):
        probabilities_from_draws(TERMS[1:], beta[:, 1:], sd_draws, PLAN)
    with pytest.raises(ValueError, match="beta_draws"):
        probabilities_from_draws(TERMS, beta[:, :4], sd_draws, PLAN)
    with pytest.raises(ValueError, match="sd_draws"):
        probabilities_from_draws(TERMS, beta, sd_draws[:9], PLAN)
    with pytest.raises(ValueError, match="sd_draws"):
        probabilities_from_draws(TERMS, beta, SDS, PLAN)
    with pytest.raises(ValueError, match="point"):
        probabilities_from_draws(TERMS, beta, sd_draws, PLAN, point=(BETA[:4], SDS))
    with pytest.raises(ValueError, match="point"):
        probabilities_from_draws(TERMS, beta, sd_draws, PLAN, point=(BETA, SDS[:1]))


def test_fit_predictions_come_from_converged_fits():
    """From the estimates and their covariance, or from every posterior draw, under the plan;
    never from a failed fit."""
    from types import SimpleNamespace

    from sessionmlm.predictions import predictions_from_estimates, predictions_from_posterior

    terms = ("caregiver_present", "child_age", "licensed")
    data = SimpleNamespace(
        terms=terms, ordinal=False, X=np.array([[1.0, 8.0, 0.0], [0.0, 12.0, 1.0]])
    )
    estimates = pd.DataFrame({"estimate": [-0.5, 0.7, 0.05, -0.8]})
    variance = pd.DataFrame({"sd": [0.6, 0.9]})
    vcov = {"terms": ["Intercept", *terms], "matrix": (0.01 * np.eye(4)).tolist()}
    point = SimpleNamespace(converged=True, posterior=None, estimates=estimates,
                            variance=variance, info={"vcov": vcov})  # fmt: skip
    made = predictions_from_estimates(point, data, plan({}))
    expected = predicted_probabilities(
        vcov["terms"], estimates.estimate.to_numpy(), np.array(vcov["matrix"]),
        variance.sd.to_numpy(), plan({}),
    )  # fmt: skip
    pd.testing.assert_frame_equal(made, expected)
    rng = np.random.default_rng(1)
    post = SimpleNamespace(coefficients=rng.normal(size=(50, 4)), sigma=rng.uniform(size=(50, 2)))
    drawn = SimpleNamespace(converged=True, posterior=post, info={})
    assert len(predictions_from_posterior(drawn, data, plan({}))) == len(made)
    failed = SimpleNamespace(**vars(point) | {"converged": False})
    assert predictions_from_estimates(failed, data, plan({})) is None
    failed_draws = SimpleNamespace(**vars(drawn) | {"converged": False})
    assert predictions_from_posterior(failed_draws, data, plan({})) is None
    other_terms = SimpleNamespace(
        **vars(point) | {"info": {"vcov": vcov | {"terms": ["Intercept"]}}}
    )
    with pytest.raises(ValueError, match="vcov terms"):
        predictions_from_estimates(other_terms, data, plan({}))


# --- Ordinal outcomes: the probability of each category ---------------------------------------

CUTS = np.array([[-1.0, 0.4, 2.0]])


def test_category_probabilities_are_the_cumulative_logits_differences():
    eta = np.array([[-0.5, 1.7]])
    probs = category_probabilities(eta, CUTS)
    assert probs.shape == (1, 2, 4)
    assert probs.sum(axis=-1) == pytest.approx(np.ones((1, 2)))
    bounds = np.r_[-np.inf, CUTS[0], np.inf]
    for a, e in enumerate(eta[0]):
        expected = expit(bounds[1:] - e) - expit(bounds[:-1] - e)
        assert probs[0, a] == pytest.approx(expected)


def test_averaged_category_probabilities_equal_monte_carlo():
    u = np.random.default_rng(3).normal(0, 1.4, 2_000_000)
    eta = 0.6
    probs = category_probabilities(np.array([[eta]]), CUTS, np.array([[1.4]]))[0, 0]
    bounds = np.r_[-np.inf, CUTS[0], np.inf]
    for k in range(4):
        share = (expit(bounds[k + 1] - eta - u) - expit(bounds[k] - eta - u)).mean()
        assert probs[k] == pytest.approx(share, abs=1e-3)


def test_ordinal_predictions_give_each_category_and_sum_to_one():
    rng = np.random.default_rng(4)
    beta = np.column_stack([np.zeros(500), rng.normal(BETA[1:], 0.05, (500, 4))])
    cuts = np.sort(rng.normal([-1.0, 0.4, 2.0], 0.05, (500, 3)), axis=1)
    table = probabilities_from_draws(
        TERMS, beta, np.full((500, 2), 0.7), plan({"stressful_event": 0.2}),
        ordinal=(cuts, ("none", "some", "much", "all"), None),
    )  # fmt: skip
    assert set(table["category"]) == {"none", "some", "much", "all"}
    sums = table.groupby(["kind", "caregiver_present", "licensed", "child_age"])["probability"]
    assert sums.sum().to_numpy() == pytest.approx(1.0, abs=1e-6)
    # A positive coefficient moves sessions up the scale: more "all" with a caregiver present.
    top = table[(table.category == "all") & (table.kind == CONDITIONAL) & (table.licensed == 0)
                & (table.child_age == 10)].set_index("caregiver_present")["probability"]  # fmt: skip
    assert top[1] > top[0]


def test_ml_ordinal_predictions_are_at_the_estimates_with_sorted_threshold_draws():
    # Coefficients then thresholds, as the ml engine's vcov holds them (no Intercept).
    estimate = np.r_[BETA[1:], CUTS[0]]
    vcov = np.diag(np.r_[np.full(4, 0.01), np.full(3, 0.04)])
    table = predicted_probabilities(TERMS[1:], estimate, vcov, np.array([0.8, 0.9]),
                                    plan({"stressful_event": 0.2}), draws=2000,
                                    categories=("a", "b", "c", "d"))  # fmt: skip
    at = table[(table.kind == CONDITIONAL) & (table.caregiver_present == 1)
               & (table.licensed == 0) & (table.child_age == 10)].set_index("category")  # fmt: skip
    x = np.array([1, 10, 0, 0.2])
    expected = category_probabilities(np.array([[x @ BETA[1:]]]), CUTS)[0, 0]
    assert at.loc[["a", "b", "c", "d"], "probability"].to_numpy() == pytest.approx(expected)
    assert (at.low <= at.probability).all() and (at.probability <= at.high).all()


def test_averaged_predictions_at_the_estimates_carry_a_random_slope():
    """The ml path (a point estimate): E[expit(eta + b0 + b1 x + v)] over the therapist's
    correlated intercept and slope and the client's intercept, against a 3-D product
    Gauss-Hermite integral."""
    from sessionmlm.prediction_plan import PredictionPlan
    from sessionmlm.predictions import AVERAGED, predicted_probabilities

    s0, s1, rho, s_client = 0.8, 0.6, -0.4, 0.5
    cov = np.array([[s0**2, rho * s0 * s1], [rho * s0 * s1, s1**2]])
    plan = PredictionPlan("m", "x", (0.0, 1.0, 2.0), (), {}, {})
    beta = np.array([-1.0, 0.5])
    out = predicted_probabilities(
        ["Intercept", "x"], beta, np.eye(2) * 1e-8, np.array([s0, s_client]), plan,
        slopes=((0, ["x"], cov),),
    )  # fmt: skip
    averaged = out[out.kind == AVERAGED].set_index("x").probability
    z, w = np.polynomial.hermite_e.hermegauss(40)
    w = w / w.sum()
    chol = np.linalg.cholesky(cov)
    for x in plan.x_values:
        b = chol @ np.array(np.meshgrid(z, z, indexing="ij")).reshape(2, -1)  # (2, 1600)
        eta = beta[0] + beta[1] * x + b[0] + b[1] * x
        eta = eta[:, None] + s_client * z[None, :]
        weight = np.outer(np.outer(w, w).ravel(), w)
        exact = float((weight / (1 + np.exp(-eta))).sum())
        assert averaged[x] == pytest.approx(exact, abs=1e-6), x
