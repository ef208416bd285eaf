"""Variance summaries of random intercepts on the latent (logistic) scale.

Shared by every engine so that ICC and median odds ratio mean the same thing everywhere.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

LATENT_RESIDUAL = np.pi**2 / 3  # variance of the standard logistic distribution
Z75 = 0.6744897501960817  # standard normal 75th percentile


def median_odds_ratio(sd: np.ndarray | float) -> np.ndarray | float:
    """Merlo et al. (2006): MOR = exp(sqrt(2 sigma^2) * z_0.75)."""
    return np.exp(np.sqrt(2.0) * np.asarray(sd) * Z75)


def icc_by_level(sds: np.ndarray, shares: np.ndarray | None = None) -> np.ndarray:
    """Latent-scale ICC per level, levels outermost first along the last axis.

    The ICC of level k is the correlation of two sessions that share a unit of level k (and so
    every level that unit lies within): the sum of those levels' variances over the total with
    residual pi^2/3. Nested levels (shares None) share every level above; crossed ones only
    those of nesting(). sds has shape (..., K); the result has the same shape.
    """
    var = np.asarray(sds) ** 2
    K = var.shape[-1]
    within = np.tril(np.ones((K, K), dtype=bool)) if shares is None else np.asarray(shares)
    return (var @ within.T.astype(float)) / (var.sum(axis=-1, keepdims=True) + LATENT_RESIDUAL)


def nesting(unit_of_session: tuple[np.ndarray, ...]) -> np.ndarray:
    """(K, K) booleans: [k, j] when each unit of level k lies within one unit of level j <= k.

    Two sessions of one unit of level k then share level j's unit too. A crossed client (seen
    by several therapists) lies within no therapist: two of its sessions may have different
    therapists.
    """
    K = len(unit_of_session)
    out = np.zeros((K, K), dtype=bool)
    for k in range(K):
        for j in range(k + 1):
            inner, outer = unit_of_session[k], unit_of_session[j]
            parent = np.full(inner.max() + 1, -1, dtype=np.int64)
            parent[inner] = outer
            out[k, j] = bool(np.all(parent[inner] == outer))
    return out


def proportional_change_in_variance(null_sd: float, sd: float) -> float:
    """Proportional change in variance (PCV; Merlo et al. 2005) from the null model.

    The share of a level's variance in the null model that the predictors explain,
    (sigma_null^2 - sigma^2) / sigma_null^2. Negative when the variance grows (common at the
    lower level once higher-level predictors enter: the latent scale is rescaled); NaN when the
    null model has no variance there.
    """
    if not null_sd > 0:
        return float("nan")
    return float((null_sd**2 - sd**2) / null_sd**2)


def proportional_changes(null: pd.DataFrame, fitted: pd.DataFrame) -> dict[str, float] | None:
    """Each level's proportional change in variance from a null model's variance table.

    null and fitted are variance.csv tables (level, sd, ...); None when their levels differ,
    so there is nothing to compare. Random slopes' rows (kind "slope") are left out: the
    change is of the levels' intercept variances.
    """
    null, fitted = _intercept_rows(null), _intercept_rows(fitted)
    null_sd = dict(zip(null["level"], null["sd"], strict=True))
    if set(null_sd) != set(fitted["level"]):
        return None
    return {
        level: proportional_change_in_variance(null_sd[level], sd)
        for level, sd in zip(fitted["level"], fitted["sd"], strict=True)
    }


def _intercept_rows(table: pd.DataFrame) -> pd.DataFrame:
    """A variance table's rows of the levels' random intercepts (all rows without `kind`)."""
    return table[table["kind"] == "intercept"] if "kind" in table else table
