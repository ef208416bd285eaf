"""Predicted probabilities of the outcome from an ml fit, for readers who think in percentages.

Homework probability across child age, with and without a caregiver, for licensed and
unlicensed therapists, two ways:

- for an average therapist and client (random intercepts at 0): the conditional probability
  expit(x'beta);
- averaged over therapists and clients: E[expit(x'beta + u)], u ~ N(0, sd_therapist^2 +
  sd_client^2), the share of such sessions across the whole clinic (always closer to the base
  rate than the conditional one).

Other predictors are held at their sample means. 95% intervals come from 4,000 draws of the
coefficients from their estimated sampling distribution, N(beta, vcov); the SDs are held at
their estimates, so the averaged intervals leave out the SDs' own uncertainty.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit

AGES = tuple(range(4, 19))
NEEDED = ("child_age", "caregiver_present", "licensed")
CONDITIONAL = "an average therapist and client"
AVERAGED = "averaged over therapists and clients"


def averaged_probability(eta: np.ndarray, sd_total: float, points: int = 40) -> np.ndarray:
    """E[expit(eta + u)] with u ~ N(0, sd_total^2), by Gauss-Hermite quadrature."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(points)
    weights = weights / weights.sum()
    return (expit(np.asarray(eta)[..., None] + sd_total * nodes) * weights).sum(axis=-1)


def predicted_probabilities(
    terms: list[str],
    estimate: np.ndarray,
    vcov: np.ndarray,
    sds: np.ndarray,
    means: dict[str, float],
    ages: tuple[int, ...] = AGES,
    draws: int = 4000,
    seed: int = 1,
) -> pd.DataFrame:
    """One row per (kind, caregiver, licensed, age): probability with its 95% interval.

    terms start with "Intercept" and must include NEEDED; means holds every other term's value.
    """
    rng = np.random.default_rng(seed)
    beta = rng.multivariate_normal(estimate, vcov, size=draws, method="eigh")
    sd_total = float(np.sqrt(np.sum(np.square(sds))))

    def averaged(eta: np.ndarray) -> np.ndarray:
        return averaged_probability(eta, sd_total)

    rows = []
    for caregiver in (1, 0):
        for licensed in (0, 1):
            values = means | {"caregiver_present": caregiver, "licensed": licensed}
            X = np.array([[1.0 if t == "Intercept" else (age if t == "child_age" else values[t])
                           for t in terms] for age in ages])  # fmt: skip
            for kind, link in ((CONDITIONAL, expit), (AVERAGED, averaged)):
                point = link(X @ estimate)
                low, high = np.percentile(link(beta @ X.T), [2.5, 97.5], axis=0)
                rows += [
                    {"kind": kind, "caregiver_present": caregiver, "licensed": licensed,
                     "child_age": age, "probability": p, "low": lo, "high": hi}
                    for age, p, lo, hi in zip(ages, point, low, high, strict=True)
                ]  # fmt: skip
    return pd.DataFrame(rows)
