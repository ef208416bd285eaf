"""Prior sensitivity of a Bayesian fit by power-scaling each prior (Kallioinen et al. 2023).

alpha = 0.5 flattens a prior (a Normal(0, s) becomes Normal(0, s * sqrt(2))), alpha = 2
sharpens it (Normal(0, s / sqrt 2)); the posterior under the scaled prior comes from
Pareto-smoothed importance weights on the same draws instead of a refit. Each odds ratio's
median and 95% interval are recomputed under each scaled prior, and a changed conclusion (an
interval that moves across 1, or the reverse) is flagged.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats
from scipy.special import logsumexp

SCALINGS = (("wider", 0.5), ("narrower", 2.0))
K_GOOD = 0.7  # Pareto k above which importance sampling is unreliable (Vehtari et al. 2024)


def log_prior(prior: Any, x: np.ndarray) -> np.ndarray:
    """Log density of a config prior at draws x (S, m), summed over the m parameters."""
    if prior.dist == "normal":
        dens = stats.norm.logpdf(x, prior.mu, prior.sigma)
    elif prior.dist == "half_normal":
        dens = stats.halfnorm.logpdf(x, scale=prior.sigma)
    else:  # half Student-t: twice the Student-t density on x > 0
        dens = np.log(2) + stats.t.logpdf(x, prior.nu or 3.0, scale=prior.sigma)
    return dens.reshape(len(x), -1).sum(axis=1)


def prior_sensitivity(post: Any, terms: list[str]) -> list[dict[str, Any]]:
    """Each odds ratio under the coefficient and group-SD priors power-scaled wider and narrower.

    post is a checks.Posterior. An ordinal outcome's threshold prior (on its thresholds at the
    predictor means; the ordering adds only a constant to its log density) is scaled too.
    Rows per (prior, direction, term): OR median and 95% interval, the base ones, the Pareto k
    of the importance weights, and whether the conclusion (interval excludes 1, direction)
    changed.
    """
    components = {
        "coefficients": log_prior(post.priors["coefficients"], post.gamma),
        # The SDs as sampled (with random slopes, not the reported intercept SDs at x = 0).
        "group_sd": log_prior(
            post.priors["group_sd"], post.sigma if post.sampled_sds is None else post.sampled_sds
        ),
    }
    if post.centred_thresholds is not None:
        components["thresholds"] = log_prior(post.priors["thresholds"], post.centred_thresholds)
    beta = post.coefficients[:, 1:]  # (S, p)
    base = [_weighted_summary(beta[:, j], None) for j in range(len(terms))]
    rows = []
    for component, lp in components.items():
        if component == "coefficients" and not terms:
            continue
        for direction, alpha in SCALINGS:
            weights, k = power_scaling_weights(lp, alpha)
            for j, term in enumerate(terms):
                scaled = _weighted_summary(beta[:, j], weights)
                rows.append({
                    "prior": component, "direction": direction, "alpha": alpha, "term": term,
                    "or": scaled[1], "or_low": scaled[0], "or_high": scaled[2],
                    "base_or": base[j][1], "base_low": base[j][0], "base_high": base[j][2],
                    "pareto_k": float(k), "reliable": bool(float(k) <= K_GOOD),
                    "changed": _conclusion(base[j]) != _conclusion(scaled),
                })  # fmt: skip
    return rows


def power_scaling_weights(log_prior: np.ndarray, alpha: float) -> tuple[np.ndarray, float]:
    """Normalised importance weights, prior^(alpha - 1) Pareto-smoothed, and their Pareto k."""
    from arviz_stats.base import array_stats

    if np.ptp(log_prior) == 0:  # a flat component: scaling it changes nothing
        return np.full(len(log_prior), 1 / len(log_prior)), 0.0
    # psislw weights by exp(-ary).
    log_w, k = array_stats.psislw(-(alpha - 1.0) * log_prior, axis=0)
    return np.exp(log_w - logsumexp(log_w)), float(k)


def _weighted_summary(x: np.ndarray, weights: np.ndarray | None) -> tuple[float, float, float]:
    """Odds-ratio 2.5%, 50% and 97.5% quantiles of log-odds draws x, optionally weighted."""
    if weights is None:  # as the engine's own summary does, so "as fitted" matches it
        return tuple(float(v) for v in np.exp(np.quantile(x, [0.025, 0.5, 0.975])))  # type: ignore[return-value]
    order = np.argsort(x)
    cdf = np.cumsum(weights[order]) - 0.5 * weights[order]
    q = np.interp([0.025, 0.5, 0.975], cdf, x[order])
    return tuple(float(v) for v in np.exp(q))  # type: ignore[return-value]


def _conclusion(summary: tuple[float, float, float]) -> str:
    low, _, high = summary
    return "higher" if low > 1 else "lower" if high < 1 else "unclear"
