"""The ml engine's output tables: estimates, thresholds, variance and correlations."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from sessionmlm.engines import FitResult
from sessionmlm.engines.ml.settings import BOUNDARY_SD
from sessionmlm.engines.ml.structure import Structure
from sessionmlm.intervals import Z95
from sessionmlm.model_data import ModelData
from sessionmlm.variance import icc_by_level, median_odds_ratio


def _thresholds(data: ModelData, result, k_exog: int) -> pd.DataFrame:
    """An ordinal outcome's thresholds with Wald intervals (they follow the coefficients)."""
    rows = slice(k_exog, k_exog + len(data.categories) - 1)
    est = np.asarray(result.params[rows])
    se = np.sqrt(np.diag(result.cov_params())[rows])
    return pd.DataFrame(
        {
            "threshold": list(data.threshold_names),
            "estimate": est,
            "std_error": se,
            "ci_low": est - Z95 * se,
            "ci_high": est + Z95 * se,
        }
    )


def _estimates(names: list[str], result) -> pd.DataFrame:
    k = len(names)
    est = np.asarray(result.params[:k])
    se = np.sqrt(np.diag(result.cov_params())[:k])
    z = est / se
    return pd.DataFrame(
        {
            "term": names,
            "estimate": est,
            "std_error": se,
            "ci_low": est - Z95 * se,
            "ci_high": est + Z95 * se,
            "odds_ratio": np.exp(est),
            "or_low": np.exp(est - Z95 * se),
            "or_high": np.exp(est + Z95 * se),
            "p_value": 2 * stats.norm.sf(np.abs(z)),
            "z": z,
        }
    )


def _variance(data: ModelData, st: Structure, var: np.ndarray, intervals: dict) -> pd.DataFrame:
    """One row per SD: each level's intercept, then a random slope's, with a `kind` column.

    ICC and MOR are the intercepts' (for a slope model, at x = 0); a slope's are left empty.
    """
    labels = list(st.labels)
    sds = np.asarray(var[: len(labels)], dtype=np.float64)
    low = np.array([intervals.get(g, (np.nan, np.nan))[0] for g in labels])
    high = np.array([intervals.get(g, (np.nan, np.nan))[1] for g in labels])
    intercept = np.array([k == "intercept" for k in st.kinds])
    icc = np.full(len(labels), np.nan)
    icc[intercept] = icc_by_level(sds[intercept])
    mor = np.where(intercept, median_odds_ratio(sds), np.nan)
    units = dict(zip(data.groups, data.n_units, strict=True))
    return pd.DataFrame(
        {
            "level": labels,
            "sd": sds,
            "sd_low": low,
            "sd_high": high,
            "icc": icc,
            "mor": mor,
            "mor_low": np.where(intercept, median_odds_ratio(low), np.nan),
            "mor_high": np.where(intercept, median_odds_ratio(high), np.nan),
            "interval": "profile likelihood",
            "at_boundary": sds <= BOUNDARY_SD,
            "units": [units[label.split(":")[0]] for label in labels],
            "kind": list(st.kinds),
        }
    )


def _correlations(st: Structure, result, intervals: dict | None = None) -> dict[str, Any]:
    """fit.json's random-effect correlations (a slope model's), with their 95% intervals.

    The profile-likelihood interval where the fit computed one (intervals["correlation
    <group>"]); else a Wald interval on the atanh scale, which the optimiser moves: mapped
    back by tanh it stays in (-1, 1), but it covers poorly where the likelihood is flat.
    """
    if st.slope is None:
        return {}
    group, term, _ = st.slope
    k = result.model.k_fixed + len(st.labels)
    r = float(result.params[k])
    se = float(np.sqrt(result.cov_params()[k, k]))
    low, high = np.tanh(r - Z95 * se), np.tanh(r + Z95 * se)
    kind = "Wald on the atanh scale"
    profiled = (intervals or {}).get(f"correlation {group}")
    if profiled is not None:
        (low, high), kind = profiled, "profile likelihood"
    return {
        "correlations": [
            {
                "level": group,
                "terms": ["Intercept", term],
                "estimate": float(np.tanh(r)),
                "ci_low": float(low),
                "ci_high": float(high),
                "interval": kind,
            }
        ],
        "icc_note": (
            "ICC and median odds ratios are those of the random intercepts at "
            f"{term} = 0; the slope's SD is in variance.csv"
        ),
    }


def _failed_result(
    data: ModelData, info: dict, message: str, diagnostics: dict, start: float
) -> FitResult:
    """The output contract for a fit that produced no estimates: NaN everywhere, the reason."""
    names = info["terms"]
    nan = np.full(len(names), np.nan)
    estimates = pd.DataFrame(
        {"term": names, "estimate": nan, "std_error": nan, "ci_low": nan, "ci_high": nan,
         "odds_ratio": nan, "or_low": nan, "or_high": nan, "p_value": nan}
    )  # fmt: skip
    groups = list(data.groups)
    nan_g = np.full(len(groups), np.nan)
    variance = pd.DataFrame(
        {"level": groups, "sd": nan_g, "sd_low": nan_g, "sd_high": nan_g, "icc": nan_g,
         "mor": nan_g, "kind": "intercept"}
    )  # fmt: skip
    info |= {
        "converged": False,
        "status": "failed",
        "problems": [message],
        "warnings": [],
        "diagnostics": diagnostics,
        "wall_seconds": {"total": round(time.perf_counter() - start, 3)},
    }
    return FitResult(estimates=estimates, variance=variance, info=info)
