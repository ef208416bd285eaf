"""The gee engine's fit: statsmodels GEE on a ModelData, to the output contract."""

from __future__ import annotations

import logging
import platform
import time
import warnings
from dataclasses import asdict
from typing import Any

import numpy as np
import pandas as pd

from sessionmlm.engines import FitResult
from sessionmlm.engines.gee import QUANTITY, ordinal
from sessionmlm.engines.gee.settings import GeeSettings
from sessionmlm.intervals import Z95
from sessionmlm.model_data import ModelData

log = logging.getLogger(__name__)
INDEPENDENCE_QUANTITY = (
    "none: independence working dependence (sessions uncorrelated in the working model; the "
    "robust standard errors still allow for any dependence within the outermost level)"
)


def working_correlations(cov_struct: Any, n_levels: int) -> tuple[np.ndarray, np.ndarray]:
    """Working correlation of two sessions sharing each level's unit, and the raw parameters.

    Nested: statsmodels' dep_params are the variance components of the outermost level and of
    each nested level (clipped at 0); its `scale` is the total Pearson variance, which also
    holds the residual. Two sessions sharing the unit of level k (and so every level above)
    have working correlation sum(components[:k+1]) / scale, as Nested.covariance_matrix builds.
    Exchangeable: dep_params is the one correlation.
    """
    raw = np.atleast_1d(np.asarray(cov_struct.dep_params, dtype=float))
    if n_levels == 1:
        return raw.copy(), raw
    return np.cumsum(raw) / cov_struct.scale, raw


def versions() -> dict[str, str]:
    """Versions of the packages that produced a fit."""
    from importlib.metadata import version

    names = ["statsmodels", "numpy", "pandas", "scipy"]
    return {"python": platform.python_version(), **{n: version(n) for n in names}}


def _estimates(terms: list[str], params: np.ndarray, se: np.ndarray) -> pd.DataFrame:
    from scipy import stats  # loaded in a fit, not when the engine registers

    low, high = params - Z95 * se, params + Z95 * se
    return pd.DataFrame(
        {
            "term": terms,
            "estimate": params,
            "std_error": se,
            "ci_low": low,
            "ci_high": high,
            "odds_ratio": np.exp(params),
            "or_low": np.exp(low),
            "or_high": np.exp(high),
            "p_value": 2 * stats.norm.sf(np.abs(params / se)),
        }
    )


def _binary_model(data: ModelData, working: str) -> tuple[Any, str]:
    """GEE of a 0/1 outcome, with a note of its working dependence."""
    from statsmodels.genmod.cov_struct import Exchangeable, Independence, Nested
    from statsmodels.genmod.families import Binomial
    from statsmodels.genmod.generalized_estimating_equations import GEE

    outer, dep_data = data.groups[0], None
    if working == "independence":
        cov_struct = Independence()
        note = (
            "independence (gee.working): sessions uncorrelated in the working model; the robust "
            f"standard errors allow for any dependence within a {outer}"
        )
    elif len(data.groups) > 1:
        cov_struct, dep_data = Nested(), np.column_stack(data.unit_of_session[1:])
        note = (
            f"nested exchangeable: one working correlation for two sessions of the same {outer}, "
            f"a larger one when they share the {', '.join(data.groups[1:])} too"
        )
    else:
        cov_struct = Exchangeable()
        note = f"exchangeable: one working correlation for two sessions of the same {outer}"
    exog = np.column_stack([np.ones(len(data.y)), data.X])
    model = GEE(data.y, exog, groups=data.unit_of_session[0], family=Binomial(),
                cov_struct=cov_struct, dep_data=dep_data)  # fmt: skip
    return model, note


def _dependence(
    data: ModelData, working: str, cov_struct: Any
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Per level: working correlation (icc column), raw dependence parameter, what they are."""
    n = len(data.groups)
    if working == "independence":
        return np.zeros(n), np.full(n, np.nan), [INDEPENDENCE_QUANTITY] * n
    if data.ordinal:
        return ordinal.dependence(data, cov_struct)
    if cov_struct is None:
        return np.full(n, np.nan), np.full(n, np.nan), [QUANTITY] * n
    icc, raw = working_correlations(cov_struct, n)
    return icc, raw, [QUANTITY] * n


def fit(
    data: ModelData, settings: dict[str, Any] | GeeSettings | None = None, threads: int = 2
) -> FitResult:
    """Fit data with GEE, or OrdinalGEE for an ordinal outcome; threads is unused.

    threads is accepted for the common engine signature. A fit that stops at the iteration
    limit, or that statsmodels warns broke down (a singular matrix, a dependence parameter
    gone to infinity), is returned with converged = false and the reasons in `problems`,
    never as fine.
    """
    from statsmodels.genmod.generalized_estimating_equations import GEE
    from statsmodels.tools.sm_exceptions import ConvergenceWarning, IterationLimitWarning

    s = settings if isinstance(settings, GeeSettings) else GeeSettings.from_config(settings)
    if not data.groups:
        raise ValueError(
            f"model {data.spec.name!r}: the gee engine needs at least one grouping level"
        )
    start = time.perf_counter()
    if data.ordinal:
        model, note, notes = ordinal.model(data, s.working)
        terms = list(data.terms)
    else:
        (model, note), notes = _binary_model(data, s.working), []
        terms = ["Intercept", *data.terms]
    # What the working dependence leaves out is part of its description, not a warning: the
    # estimates and robust standard errors stay valid (a fit is not badged for it).
    for message in notes:
        log.info("%s: %s", data.spec.name, message)
    note = " ".join([note, *notes])
    # statsmodels reports trouble (iteration limit, singular matrices) only as warnings; they
    # are recorded and turned into problems here rather than left to the caller's filters.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # GEE.fit also for OrdinalGEE: its own fit only rewraps this result (the same numbers)
        # and fails on the None that GEE.fit returns after a singular update.
        result = GEE.fit(model, maxiter=s.max_iter, cov_type=s.covariance)
    # One line per kind: a structure that breaks down can warn hundreds of times.
    problems = list(
        dict.fromkeys(f"statsmodels {w.category.__name__}: {w.message}" for w in caught)
    )
    failing = (ConvergenceWarning, IterationLimitWarning)
    trouble = any(issubclass(w.category, failing) for w in caught)

    thresholds = None
    if result is None:
        params = se = np.full(len(model.exog_names), np.nan)
        converged, limited, diagnostics = False, True, {"iterations": None}
    else:
        params, se = np.asarray(result.params), np.asarray(result.bse)
        history = result.fit_history["params"]
        # statsmodels' flag tests the score under the dependence parameters of the start of the
        # last iteration, and it updates them at the end of every iteration that does not
        # stop; a run that reaches max_iter (even max_iter = 1, from the independence start)
        # can be flagged converged for parameters never solved under the final dependence. A
        # singular update on the first iteration also leaves the flag true. Neither counts here.
        limited = not result.converged or len(history) >= s.max_iter
        converged = not limited and not trouble
        change = np.max(np.abs(history[-1] - history[-2])) if len(history) > 1 else None
        diagnostics = {
            "iterations": len(history),
            "score_norm": float(result.score_norm),  # statsmodels' convergence criterion
            "score_tolerance": float(result.ctol),
            "max_abs_param_change_last_iteration": None if change is None else float(change),
        }
    if data.ordinal:
        params, se, thresholds = ordinal.split(data, params, se)
    estimates = _estimates(terms, params, se)
    if limited:
        problems.append(f"GEE iterations did not converge within max_iter = {s.max_iter}")
    elif not converged:
        problems.append("statsmodels warned that the fit broke down (above)")
    if not np.all(np.isfinite(estimates.std_error)):
        converged = False
        problems.append("standard errors are not all finite")
    diagnostics |= {
        "working_covariance": type(model.cov_struct).__name__,
        "working_covariance_note": note,
        "n_clusters": int(data.n_units[0]),
        "cov_type": s.covariance,
    }
    icc, raw, quantity = _dependence(data, s.working, None if result is None else result.cov_struct)
    variance = pd.DataFrame(
        {
            "level": list(data.groups),
            "sd": np.nan,
            "sd_low": np.nan,
            "sd_high": np.nan,
            "icc": icc,
            "mor": np.nan,
            "quantity": quantity,
            "dependence_parameter": raw,
            "units": list(data.n_units),
        }
    )
    info = {
        "engine": "gee",
        **data.record(),
        "scale": "population-averaged",
        "converged": converged,
        "status": "ok" if converged else "failed",
        "problems": problems,
        "warnings": [],
        "settings": asdict(s),
        "diagnostics": diagnostics,
        "seed": None,  # GEE is deterministic
        "wall_seconds": {"total": round(time.perf_counter() - start, 3)},
        "versions": versions(),
    }
    return FitResult(estimates=estimates, variance=variance, info=info, thresholds=thresholds)
