"""Predicted probabilities of the outcome, for readers who think in percentages.

Homework probability across child age, with and without a caregiver, for licensed and
unlicensed therapists, two ways:

- for an average therapist and client (random intercepts at 0): the conditional probability
  expit(x'beta);
- averaged over therapists and clients: E[expit(x'beta + u)], u ~ N(0, sd_therapist^2 +
  sd_client^2), the share of such sessions across the whole clinic (always closer to the base
  rate than the conditional one), by Gauss-Hermite quadrature.

Other predictors are held at their sample means. Both engines go through one function,
probabilities_from_draws, which takes draws of the coefficients (S, P) and of the level SDs
(S, K) and evaluates every draw at once; each draw's averaged probability uses that draw's own
SD total, sqrt(sum of its squared SDs). 95% intervals are the 2.5 and 97.5 percentiles over the
draws.

- Bayesian engine: the draws are posterior draws; the probability is the posterior median over
  draws, and the averaged intervals carry the SDs' own uncertainty.
- ml engine (predicted_probabilities): 4,000 draws of the coefficients from their estimated
  sampling distribution, N(beta, vcov), with the SDs held at their estimates in every draw, so
  the averaged intervals leave out the SDs' own uncertainty; the probability is the one at the
  point estimate.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit

AGES = tuple(range(4, 19))
ML_DRAWS = 4000  # coefficient draws behind the ml engine's intervals
NEEDED = ("child_age", "caregiver_present", "licensed")
CONDITIONAL = "an average therapist and client"
AVERAGED = "averaged over therapists and clients"


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


def _check_terms(terms: list[str], means: dict[str, float]) -> None:
    """Raise a ValueError naming whatever the design rows need and lack."""
    if "Intercept" not in terms:
        raise ValueError(f"predictions need an 'Intercept' term; terms are {list(terms)}")
    missing = [t for t in NEEDED if t not in terms]
    if missing:
        raise ValueError(
            f"predictions need the term(s) {missing} (all of {list(NEEDED)}); "
            f"terms are {list(terms)}"
        )
    unset = [t for t in terms if t != "Intercept" and t not in NEEDED and t not in means]
    if unset:
        raise ValueError(f"predictions need a value in means for the term(s) {unset}")


def _design_rows(
    terms: list[str], means: dict[str, float], caregiver: int, licensed: int, ages
) -> np.ndarray:
    """One row of the design per age, other predictors at their means."""
    values = means | {"caregiver_present": caregiver, "licensed": licensed}
    return np.array([[1.0 if t == "Intercept" else (age if t == "child_age" else values[t])
                      for t in terms] for age in ages])  # fmt: skip


def probabilities_from_draws(
    terms: list[str],
    beta_draws: np.ndarray,
    sd_draws: np.ndarray,
    means: dict[str, float],
    point: tuple[np.ndarray, np.ndarray] | None = None,
    ages: tuple[int, ...] = AGES,
) -> pd.DataFrame:
    """One row per (kind, caregiver, licensed, age): probability with its 95% interval.

    terms start with "Intercept" and must include NEEDED; means holds every other term's value.
    beta_draws is (S, P), its columns in the order of terms; sd_draws is (S, K), one row of
    level SDs per draw (K may be 0). Each draw's averaged probability uses its own SD total.
    probability is the median over draws, or, when point = (estimate, sds) is given, the
    probability at that point; low and high are the 2.5 and 97.5 percentiles over draws.
    """
    _check_terms(terms, means)
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
    sd_total = np.sqrt(np.sum(np.square(sd_draws), axis=1))[:, None]  # (S, 1)
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
        point_total = float(np.sqrt(np.sum(np.square(point_sds))))

    rows = []
    for caregiver in (1, 0):
        for licensed in (0, 1):
            X = _design_rows(terms, means, caregiver, licensed, ages)
            eta = beta_draws @ X.T  # (S, A): every draw at once
            for kind in (CONDITIONAL, AVERAGED):
                if kind == CONDITIONAL:
                    probs = expit(eta)
                else:
                    probs = averaged_probability(eta, sd_total)
                if point is None:
                    mid = np.median(probs, axis=0)
                elif kind == CONDITIONAL:
                    mid = expit(X @ estimate)
                else:
                    mid = averaged_probability(X @ estimate, point_total)
                low, high = np.percentile(probs, [2.5, 97.5], axis=0)
                rows += [
                    {"kind": kind, "caregiver_present": caregiver, "licensed": licensed,
                     "child_age": age, "probability": p, "low": lo, "high": hi}
                    for age, p, lo, hi in zip(ages, mid, low, high, strict=True)
                ]  # fmt: skip
    return pd.DataFrame(rows)


def predicted_probabilities(
    terms: list[str],
    estimate: np.ndarray,
    vcov: np.ndarray,
    sds: np.ndarray,
    means: dict[str, float],
    ages: tuple[int, ...] = AGES,
    draws: int = ML_DRAWS,
    seed: int = 1,
) -> pd.DataFrame:
    """The ml engine's predictions: probabilities_from_draws at the point estimate.

    Coefficient draws come from N(estimate, vcov); the SDs are held at their estimates in
    every draw. terms start with "Intercept" and must include NEEDED; means holds every other
    term's value.
    """
    _check_terms(terms, means)
    rng = np.random.default_rng(seed)
    beta = rng.multivariate_normal(estimate, vcov, size=draws, method="eigh")
    sds = np.asarray(sds, dtype=float).ravel()
    sd_draws = np.broadcast_to(sds, (draws, sds.size))
    return probabilities_from_draws(terms, beta, sd_draws, means, point=(estimate, sds), ages=ages)


def _predictable(result: Any, data: Any) -> dict[str, float] | None:
    """The predictors' means over the fit's sessions, or None when no prediction is made.

    None when the fit did not converge or the model lacks a NEEDED term.
    """
    if not result.converged or not set(NEEDED) <= set(data.terms):
        return None
    return dict(zip(data.terms, data.X.mean(axis=0), strict=True))


def predictions_from_posterior(result: Any, data: Any) -> pd.DataFrame | None:
    """A converged fit's predictions from every posterior draw, at the predictors' means.

    result is an engines.FitResult whose posterior holds coefficients (S, P) and sigma (S, K),
    data the design.ModelData it was fitted to; None as for _predictable.
    """
    means = _predictable(result, data)
    if means is None:
        return None
    post = result.posterior
    return probabilities_from_draws(
        ["Intercept", *data.terms], post.coefficients, post.sigma, means
    )


def predictions_from_estimates(result: Any, data: Any) -> pd.DataFrame | None:
    """A converged fit's predictions from its estimates and their covariance (fit.json vcov).

    The SDs are held at their estimates (predicted_probabilities); None as for _predictable.
    """
    means = _predictable(result, data)
    if means is None:
        return None
    terms = ["Intercept", *data.terms]
    vcov = result.info["vcov"]
    if vcov["terms"] != terms:
        raise ValueError(f"the fit's vcov terms {vcov['terms']} differ from the model's {terms}")
    return predicted_probabilities(
        terms, result.estimates["estimate"].to_numpy(), np.array(vcov["matrix"]),
        result.variance["sd"].to_numpy(), means,
    )  # fmt: skip
