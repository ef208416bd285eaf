"""Predicted probabilities of the outcome, for readers who think in percentages.

The probability of the outcome across one numeric predictor (the x-axis), for each combination
of up to two 0/1 predictors (the lines), with every other predictor held at a value: which
ones, and where, is a PredictionPlan (prediction_plan.py, chosen in the cohort's
`predictions:` key or by default). Two kinds:

- "conditional", for an average unit at every level (random intercepts at 0): expit(x'beta);
- "averaged" over the units of every level: E[expit(x'beta + u)], u ~ N(0, sum of the levels'
  squared SDs), the share of such observations across the whole sample (always closer to the
  base rate than the conditional one), by Gauss-Hermite quadrature. A level with random slopes
  adds r' Sigma r instead of its squared SD, r = (1, x's slope terms) and Sigma the covariance
  of its intercept (at x = 0) and slopes: the spread of the units then depends on x.

Both engines go through one function, probabilities_from_draws, which takes draws of the
coefficients (S, P) and of the level SDs (S, K) and evaluates every draw at once; each draw's
averaged probability uses that draw's own SD total, sqrt(sum of its squared SDs). 95% intervals
are the 2.5 and 97.5 percentiles over the draws.

Each engine's after-fit step calls fit_json_predictions with its entry point:
predictions_from_posterior (posterior draws) or predictions_from_estimates (estimates and their
covariance); how the intervals were made is the engine's wording.predictions.

- Bayesian engine: the draws are posterior draws; the probability is the posterior median over
  draws, and the averaged intervals carry the SDs' own uncertainty.
- ml engine (predicted_probabilities): 4,000 draws of the coefficients from their estimated
  sampling distribution, N(beta, vcov), with the SDs held at their estimates in every draw, so
  the averaged intervals leave out the SDs' own uncertainty; the probability is the one at the
  point estimate.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit

from sessionmlm.model_data import reference_levels
from sessionmlm.prediction_plan import (
    PredictionPlan,
    PredictionProblem,
    PredictionSetting,
    plan_predictions,
)

log = logging.getLogger(__name__)

ML_DRAWS = 4000  # coefficient draws behind the ml engine's intervals
CONDITIONAL = "conditional"  # the `kind` column: random intercepts at 0
AVERAGED = "averaged"  # the `kind` column: averaged over the units of every level


def normal_rule(points: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Hermite nodes and weights (summing to 1) for E[f(x)], x ~ N(0, 1)."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(points)
    return nodes, weights / weights.sum()


def averaged_probability(
    eta: np.ndarray, sd_total: float | np.ndarray, points: int = 40
) -> np.ndarray:
    """E[expit(eta + u)] with u ~ N(0, sd_total^2), by Gauss-Hermite quadrature.

    sd_total is a number or an array that broadcasts against eta (e.g. (S, 1) for eta (S, A):
    one SD total per draw).
    """
    nodes, weights = normal_rule(points)
    spread = np.asarray(sd_total, dtype=float)[..., None] * nodes
    return (expit(np.asarray(eta)[..., None] + spread) * weights).sum(axis=-1)


def category_probabilities(
    eta: np.ndarray, thresholds: np.ndarray, sd_total: float | np.ndarray | None = None
) -> np.ndarray:
    """P(y = k) under the cumulative logit, (..., K), for eta (S, A) and thresholds (S, K-1).

    logit P(y <= k) = theta_k - eta; with sd_total (S, 1) each cumulative probability is
    averaged over u ~ N(0, sd_total^2) first (E[F(theta - eta - u)] = 1 - E[expit(eta - theta
    + u)]), and the category probabilities are their differences.
    """
    gap = np.asarray(eta)[..., None] - np.asarray(thresholds)[:, None, :]  # (S, A, K-1)
    if sd_total is None:
        cumulative = expit(-gap)
    else:
        cumulative = 1 - averaged_probability(gap, np.asarray(sd_total)[..., None])
    ends = np.zeros((*cumulative.shape[:-1], 1))
    return np.diff(np.concatenate([ends, cumulative, ends + 1], axis=-1), axis=-1)


def _kind_probabilities(kind, eta, sd_total, thresholds):
    """(S, A) probabilities of a binary outcome, or (S, A, K) of an ordinal one's categories."""
    averaged = sd_total if kind == AVERAGED else None
    if thresholds is not None:
        return category_probabilities(eta, thresholds, averaged)
    return expit(eta) if averaged is None else averaged_probability(eta, averaged)


def _check_terms(terms: list[str], plan: PredictionPlan) -> None:
    """Raise a ValueError naming whatever the model rows need and lack."""
    if "Intercept" not in terms:
        raise ValueError(f"predictions need an 'Intercept' term; terms are {list(terms)}")
    for setting in plan.line_settings():
        plan.model_rows(terms, setting)  # raises naming a term the plan gives no value


def probabilities_from_draws(
    terms: list[str],
    beta_draws: np.ndarray,
    sd_draws: np.ndarray,
    plan: PredictionPlan,
    point: tuple[np.ndarray, np.ndarray] | None = None,
    ordinal: tuple[np.ndarray, tuple[str, ...], np.ndarray | None] | None = None,
    slopes: tuple[tuple[int, list[int], np.ndarray], ...] = (),
) -> pd.DataFrame:
    """One row per (kind, line setting, x value): probability with its 95% interval.

    An ordinal outcome gives one row per category too (a `category` column): ordinal is
    (threshold draws (S, K-1), category labels, point thresholds or None), its Intercept
    coefficient is 0 in every draw and the thresholds take its place; without a point, its
    probability is the mean over draws, so that a setting's categories add up to 1.

    Columns: kind, each of plan.lines (0 or 1), plan.x, probability, low, high. terms start
    with "Intercept"; the plan gives a value to every other term. beta_draws is (S, P), its
    columns in the order of terms; sd_draws is (S, K), one row of level SDs per draw (K may
    be 0). Each draw's averaged probability uses its own SD total.
    probability is the median over draws, or, when point = (estimate, sds) is given, the
    probability at that point; low and high are the 2.5 and 97.5 percentiles over draws.
    slopes gives each level with random slopes as (its position among sd_draws' columns, the
    positions in terms of its slope terms, covariance draws (S, q, q) of its intercept at x = 0
    and slopes); that level's column of sd_draws is then not used.
    """
    _check_terms(terms, plan)
    beta_draws = np.asarray(beta_draws, dtype=float)
    sd_draws = np.asarray(sd_draws, dtype=float)
    if beta_draws.ndim != 2 or beta_draws.shape[1] != len(terms) or len(beta_draws) == 0:
        raise ValueError(
            f"beta_draws must be (draws, {len(terms)}) to match terms {list(terms)}; "
            f"got shape {beta_draws.shape}"
        )
    if sd_draws.ndim != 2 or sd_draws.shape[0] != beta_draws.shape[0]:
        raise ValueError(
            f"sd_draws must be (draws, levels) with {beta_draws.shape[0]} draws like "
            f"beta_draws; got shape {sd_draws.shape}"
        )
    plain = [k for k in range(sd_draws.shape[1]) if k not in {s[0] for s in slopes}]
    sd_total = np.sqrt(np.sum(np.square(sd_draws[:, plain]), axis=1))[:, None]  # (S, 1)
    if point is not None:
        estimate = np.asarray(point[0], dtype=float)
        point_sds = np.asarray(point[1], dtype=float)
        if estimate.shape != (len(terms),):
            raise ValueError(
                f"point estimate must have {len(terms)} values to match terms; "
                f"got shape {estimate.shape}"
            )
        if point_sds.shape != sd_draws.shape[1:]:
            raise ValueError(
                f"point sds must have {sd_draws.shape[1]} values like sd_draws' columns; "
                f"got shape {point_sds.shape}"
            )
        point_total = np.array([[np.sqrt(np.sum(np.square(point_sds[plain])))]])
        point_slopes = tuple((k, positions, cov[:1]) for k, positions, cov in slopes)
    cuts, categories, point_cuts = ordinal if ordinal is not None else (None, ("",), None)

    rows = []
    for setting in plan.line_settings():
        X = plan.model_rows(terms, setting)  # (A, P), one row per x value
        eta = beta_draws @ X.T  # (S, A): every draw at once
        spread = _with_slopes(sd_total, slopes, X)  # (S, 1), or (S, A) with random slopes
        for kind in (CONDITIONAL, AVERAGED):
            probs = _kind_probabilities(kind, eta, spread, cuts)
            if point is None:
                # Category probabilities are averaged over draws, so that they add up to 1
                # (medians need not); a binary outcome's is the median, as before.
                mid = np.median(probs, axis=0) if cuts is None else probs.mean(axis=0)
            else:
                at = None if cuts is None else np.asarray(point_cuts)[None, :]
                at_spread = _with_slopes(point_total, point_slopes, X)  # (1, 1) or (1, A)
                mid = _kind_probabilities(kind, (X @ estimate)[None, :], at_spread, at)[0]
            low, high = np.percentile(probs, [2.5, 97.5], axis=0)
            if cuts is None:  # one category, the outcome's 1
                mid, low, high = mid[:, None], low[:, None], high[:, None]
            for k, category in enumerate(categories):
                named = {} if cuts is None else {"category": category}
                rows += [
                    {"kind": kind, **setting, plan.x: x, **named, "probability": p,
                     "low": lo, "high": hi}
                    for x, p, lo, hi in zip(plan.x_values, mid[:, k], low[:, k], high[:, k],
                                            strict=True)
                ]  # fmt: skip
    return pd.DataFrame(rows)


def _with_slopes(sd_total: np.ndarray, slopes: tuple, X: np.ndarray) -> np.ndarray:
    """(S, A) SD of the random part at each row of X: sd_total's levels plus r' Sigma r."""
    if not slopes:
        return sd_total
    var = np.square(sd_total)
    for _, positions, cov in slopes:
        r = np.column_stack([np.ones(len(X)), X[:, positions]])  # (A, q)
        var = var + np.einsum("aq,sqr,ar->sa", r, cov, r)
    return np.sqrt(var)


def predicted_probabilities(
    terms: list[str],
    estimate: np.ndarray,
    vcov: np.ndarray,
    sds: np.ndarray,
    plan: PredictionPlan,
    draws: int = ML_DRAWS,
    seed: int = 1,
    categories: tuple[str, ...] | None = None,
    slopes: tuple[tuple[int, list[str], np.ndarray], ...] = (),
) -> pd.DataFrame:
    """The ml engine's predictions: probabilities_from_draws at the point estimate.

    slopes: per level with random slopes, (its position in sds, its slope terms, the
    covariance (q, q) of its intercept at x = 0 and slopes at the estimates).

    Draws come from N(estimate, vcov); the SDs are held at their estimates in every draw.
    terms start with "Intercept"; the plan gives a value to every other term. With categories
    (an ordinal outcome's), terms have no Intercept and estimate and vcov end with the K-1
    thresholds, whose draws are sorted: a draw out of order has no probabilities.
    """
    rng = np.random.default_rng(seed)
    sample = rng.multivariate_normal(estimate, vcov, size=draws, method="eigh")
    sds = np.asarray(sds, dtype=float).ravel()
    sd_draws = np.broadcast_to(sds, (draws, sds.size))
    named = terms if categories is None else ["Intercept", *terms]
    slopes = tuple(
        (k, [named.index(t) for t in slope_terms], np.broadcast_to(cov, (draws, *np.shape(cov))))
        for k, slope_terms, cov in slopes
    )
    if categories is None:
        _check_terms(terms, plan)
        return probabilities_from_draws(
            terms, sample, sd_draws, plan, point=(estimate, sds), slopes=slopes
        )
    p = len(terms)
    beta = np.column_stack([np.zeros(draws), sample[:, :p]])  # the Intercept is 0
    cuts = (np.sort(sample[:, p:], axis=1), categories, estimate[p:])
    point = (np.r_[0.0, estimate[:p]], sds)
    return probabilities_from_draws(
        ["Intercept", *terms], beta, sd_draws, plan, point=point, ordinal=cuts, slopes=slopes
    )


def predictions_from_posterior(result: Any, data: Any, plan: PredictionPlan) -> pd.DataFrame | None:
    """A converged fit's predictions under the plan from every posterior draw.

    result is an engines.FitResult whose posterior holds coefficients (S, P, Intercept first)
    and sigma (S, K), and for an ordinal outcome thresholds (S, K-1) with the Intercept 0;
    data is the model_data.ModelData it was fitted to. None when the fit did not converge.
    """
    if not result.converged:
        return None
    post = result.posterior
    terms = ["Intercept", *data.terms]
    cuts = (np.asarray(post.thresholds), data.categories, None) if data.ordinal else None
    levels = getattr(post, "slopes", ())  # a checks.Posterior has them; plain draws may not
    slopes = tuple((s.level, [1 + c for c in s.columns], s.cov) for s in levels)
    return probabilities_from_draws(
        terms, post.coefficients, post.sigma, plan, ordinal=cuts, slopes=slopes
    )


def predictions_from_estimates(result: Any, data: Any, plan: PredictionPlan) -> pd.DataFrame | None:
    """A converged fit's predictions under the plan from its estimates and their covariance.

    fit.json's vcov gives the covariance (of the coefficients and, for an ordinal outcome, the
    thresholds); the SDs are held at their estimates (predicted_probabilities). None when the
    fit did not converge.
    """
    if not result.converged:
        return None
    vcov = result.info["vcov"]
    variance = result.variance
    if "kind" in variance:  # random slopes: their SDs enter through the covariance below
        variance = variance[variance["kind"] == "intercept"]
    sds = variance["sd"].to_numpy()
    has_slopes = bool(getattr(data, "slopes", ()))
    slopes = _slope_covariances(result, data, list(variance["level"])) if has_slopes else ()
    names = [*data.terms, *data.threshold_names] if data.ordinal else ["Intercept", *data.terms]
    if vcov["terms"] != names:
        raise ValueError(f"the fit's vcov terms {vcov['terms']} differ from the model's {names}")
    estimate = result.estimates["estimate"].to_numpy()
    if data.ordinal:
        estimate = np.r_[estimate, result.thresholds["estimate"]]
    terms = list(data.terms) if data.ordinal else names
    return predicted_probabilities(
        terms, estimate, np.array(vcov["matrix"]), sds, plan,
        categories=data.categories if data.ordinal else None, slopes=slopes,
    )  # fmt: skip


def _slope_covariances(result: Any, data: Any, levels: list[str]) -> tuple:
    """Per level with random slopes: (position in levels, slope terms, covariance at x = 0)."""
    sd = dict(zip(result.variance["level"], result.variance["sd"], strict=True))
    correlations = {c["level"]: c for c in result.info.get("correlations", [])}
    found = []
    for group, terms in data.slopes:
        scales = np.array([sd[group], *(sd[f"{group}:{t}"] for t in terms)])
        corr = np.eye(len(scales))
        c = correlations.get(group)
        if c is not None and len(scales) == 2:  # ml fits one slope: one correlation
            corr[0, 1] = corr[1, 0] = c["estimate"]
        found.append((levels.index(group), list(terms), corr * np.outer(scales, scales)))
    return tuple(found)


def fit_json_predictions(
    fitted: Any, predict: Callable[[Any, Any, PredictionPlan], pd.DataFrame | None]
) -> dict[str, Any]:
    """An engine's after-fit step: fit.json's predicted probabilities for its fit.

    fitted is an engines.Fitted and predict one of the entry points above. Returns {} when the
    fit's model is not the cohort's predictions model (fitted.predictions is None);
    {"predicted_problem": why} when the plan cannot be made; {"predicted_for": plan} when the
    fit did not converge; else {"predicted_for": plan, "predicted": rows}.
    """
    if fitted.predictions is None:
        return {}
    data = fitted.data
    references = reference_levels(fitted.table.iloc[data.rows], data.spec, fitted.reference)
    try:
        plan = plan_predictions(PredictionSetting.from_params(fitted.predictions), data, references)
    except PredictionProblem as problem:
        log.warning("no predicted probabilities: %s", problem)
        return {"predicted_problem": str(problem)}
    predicted = predict(fitted.result, data, plan)
    if predicted is None:
        return {"predicted_for": plan.record()}
    return {"predicted_for": plan.record(), "predicted": predicted.to_dict("records")}
