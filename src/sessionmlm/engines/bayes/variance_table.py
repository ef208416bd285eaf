"""variance.csv and fit.json's correlations from the Bayesian engine's draws.

variance.csv has one row per grouping level (kind "intercept": its random intercept's SD, ICC
and MOR) and then one per random slope (kind "slope", level "group:term", its SD per unit of
the term; no ICC or MOR, which describe intercepts).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from sessionmlm.model_data import ModelData
from sessionmlm.variance import icc_by_level, median_odds_ratio

ICC_NESTED = (
    "Each level's ICC is the latent-scale correlation of two sessions of one of its units, which "
    "share every level above it too: the variances down to that level over the total with "
    "pi^2/3."
)
ICC_CROSSED = (
    "Levels are crossed (some units lie in several units of the level above), so each level's "
    "ICC is the latent-scale correlation of two sessions that share one of its units and only the "
    "levels that unit lies within; a crossed level's ICC is its own variance (and that of any "
    "level it does lie within) over the total with pi^2/3."
)


def _flat(x: np.ndarray) -> np.ndarray:
    """(c, d, Q) -> (c * d, Q), also for Q = 0 (an ordinal null model has no coefficients)."""
    return x.reshape(x.shape[0] * x.shape[1], x.shape[-1])


def _interval(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Posterior median and equal-tailed 95% interval over chains and draws: x is (c, d, Q)."""
    flat = _flat(x)
    low, mid, high = np.quantile(flat, [0.025, 0.5, 0.975], axis=0)
    return mid, low, high


def _worst(per: dict[str, Any], names: list[str]) -> dict[str, float]:
    """The largest R-hat and smallest ESS over the quantities a row reports."""
    return {
        "rhat": max(per[n]["rhat"] for n in names),
        "ess_bulk": min(per[n]["ess_bulk"] for n in names),
        "ess_tail": min(per[n]["ess_tail"] for n in names),
    }


def variance_table(data: ModelData, draws: Any, per: dict[str, Any]) -> pd.DataFrame:
    """variance.csv: intercept rows (one per level) then slope rows; draws is sampling.Draws."""
    sd_mid, sd_low, sd_high = _interval(draws.sds)
    icc_mid, icc_low, icc_high = _interval(icc_by_level(draws.sds, draws.shares))
    mor_mid, mor_low, mor_high = _interval(median_odds_ratio(draws.sds))
    groups = list(data.groups)
    worst = [_worst(per, [f"{k} {g}" for k in ("sd", "icc", "mor")]) for g in groups]
    intercepts = pd.DataFrame(
        {
            "level": groups,
            "sd": sd_mid,
            "sd_low": sd_low,
            "sd_high": sd_high,
            "icc": icc_mid,
            "mor": mor_mid,
            "icc_low": icc_low,
            "icc_high": icc_high,
            "mor_low": mor_low,
            "mor_high": mor_high,
            "units": list(data.n_units),
            **{stat: [w[stat] for w in worst] for stat in ("rhat", "ess_bulk", "ess_tail")},
            "kind": "intercept",
        }
    )
    names = [f"{g}:{t}" for g, terms in data.slopes for t in terms]
    if not names:
        return intercepts
    units = dict(zip(data.groups, data.n_units, strict=True))
    mid, low, high = _interval(draws.slope_sds)
    worst = [_worst(per, [f"sd {name}"]) for name in names]
    slopes = pd.DataFrame(
        {
            "level": names,
            "sd": mid,
            "sd_low": low,
            "sd_high": high,
            "units": [units[g] for g, terms in data.slopes for _ in terms],
            **{stat: [w[stat] for w in worst] for stat in ("rhat", "ess_bulk", "ess_tail")},
            "kind": "slope",
        }
    )
    return pd.concat([intercepts, slopes], ignore_index=True)


def correlations(data: ModelData, draws: Any, per: dict[str, Any]) -> list[dict[str, Any]]:
    """fit.json's correlations: each pair of a level's effects, posterior median and 95% CI."""
    pairs = [
        (g, [a, b])
        for g, terms in data.slopes
        for i, a in enumerate(["Intercept", *terms])
        for b in terms[i:]
    ]
    if not pairs:
        return []
    mid, low, high = _interval(draws.correlations)
    return [
        {"level": g, "terms": terms, "estimate": float(m), "ci_low": float(lo),
         "ci_high": float(hi), **_worst(per, [f"correlation {g} {terms[0]}, {terms[1]}"])}
        for (g, terms), m, lo, hi in zip(pairs, mid, low, high, strict=True)
    ]  # fmt: skip


def icc_note(draws: Any) -> str:
    """What the ICCs in variance.csv are, for fit.json."""
    shares = draws.shares
    nested = shares is None or bool(shares[np.tril_indices(len(shares))].all())
    return ICC_NESTED if nested else ICC_CROSSED
