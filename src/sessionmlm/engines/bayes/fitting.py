"""The Bayesian engine: PyMC model with non-centred random intercepts, sampled by nutpie.

Predictors are standardised inside the model (priors on coefficients are per standard
deviation of each predictor, as rstanarm's autoscaling) and results are transformed back to
the scale the data were given in. A fit whose diagnostics fail is retried with more draws and
a higher target acceptance; if it still fails it is returned with converged = false and the
reasons, never as fine.
"""

from __future__ import annotations

import logging
import platform
import time
from dataclasses import asdict, replace
from typing import Any

from sessionmlm.engines import FitResult
from sessionmlm.engines.bayes.model import Compiled, _shape_key, _standardise, compile_model
from sessionmlm.engines.bayes.sampling import _quantity_names, _sample, diagnose, summarise
from sessionmlm.engines.bayes.settings import BayesSettings
from sessionmlm.engines.bayes.slopes import SCALE_NOTE
from sessionmlm.engines.bayes.variance_table import correlations, icc_note
from sessionmlm.model_data import ModelData

log = logging.getLogger(__name__)


def versions() -> dict[str, str]:
    """Versions of the packages that produced a fit."""
    from importlib.metadata import version

    names = ["pymc", "pytensor", "nutpie", "arviz", "arviz-stats", "numpy", "pandas", "numba"]
    return {"python": platform.python_version(), **{n: version(n) for n in names}}


def fit(
    data: ModelData,
    settings: dict[str, Any] | BayesSettings,
    threads: int = 2,
    compiled: Compiled | None = None,
) -> FitResult:
    """Fit data with the Bayesian engine, retrying within the budget until diagnostics pass.

    settings is the config's `bayes` mapping (then chains run on `threads` cores) or a
    BayesSettings; compiled, from compile_model, is reused when its shapes match.
    """
    if isinstance(settings, BayesSettings):
        s = settings
    else:
        s = BayesSettings.from_config(settings, cores=threads)
    if data.ordinal:
        data.check_categories()
    start = time.perf_counter()
    reused = compiled is not None and compiled.shape == _shape_key(data, s)
    if not reused:
        compiled = compile_model(data, s)
    std = _standardise(data)
    names = _quantity_names(data)
    attempts = []
    for attempt in range(s.max_attempts):
        current = s.retry(attempt)
        draws, kept = _sample(compiled, data, std, current, names)
        diagnostics = diagnose(draws, s, names)
        attempts.append(
            {
                "draws": current.draws,
                "kept_draws": kept,  # per chain: fewer when a check passed (stopping.py)
                "tune": current.tune,
                "target_accept": current.target_accept,
                "seconds": round(draws.seconds, 3),
                "passed": diagnostics["passed"],
                "problems": diagnostics["problems"],
            }
        )
        log.info(
            "attempt %d/%d: %d chains x %d of %d draws (target accept %.2f) in %.1f s: max "
            "R-hat %.3f, min ESS bulk %.0f tail %.0f, %d divergences%s",
            attempt + 1, s.max_attempts, current.chains, kept, current.draws,
            current.target_accept,
            draws.seconds, diagnostics["max_rhat"], diagnostics["min_ess_bulk"],
            diagnostics["min_ess_tail"], diagnostics["divergences"],
            "" if diagnostics["passed"] else ": " + "; ".join(diagnostics["problems"]),
        )  # fmt: skip
        if diagnostics["passed"]:
            break
    estimates, variance, thresholds = summarise(data, draws, diagnostics)
    settings_record = asdict(s)
    info = {
        "engine": "bayes",
        **data.record(),
        "converged": diagnostics["passed"],
        "status": "ok" if diagnostics["passed"] else "failed",
        "problems": diagnostics["problems"],
        "settings": settings_record,
        "priors": _priors(data, s),
        # The same prior on the scale the data were given in: per unit of each predictor.
        "prior_per_term": {
            term: replace(
                s.coefficients,
                mu=float(f"{s.coefficients.mu / scale:.3g}"),
                sigma=float(f"{s.coefficients.sigma / scale:.3g}"),
            ).describe()
            + " per unit"
            for term, scale in zip(data.terms, std.scale, strict=True)
        },
        "icc_note": icc_note(draws),
        **(
            {
                "correlations": correlations(data, draws, diagnostics["per_quantity"]),
                "random_slopes_note": SCALE_NOTE,
            }
            if data.slopes
            else {}
        ),  # fmt: skip
        "diagnostics": {k: v for k, v in diagnostics.items() if k != "per_quantity"},
        "attempts": attempts,
        "seed": s.seed,
        "wall_seconds": {
            "total": round(time.perf_counter() - start, 3),
            "compile": 0.0 if reused else round(compiled.compile_seconds, 6),
            "sampling": round(sum(a["seconds"] for a in attempts), 3),
        },
        "versions": versions(),
    }
    return FitResult(
        estimates=estimates,
        variance=variance,
        info=info,
        posterior=draws.posterior,
        thresholds=thresholds,
    )


def _priors(data: ModelData, s: BayesSettings) -> dict[str, str]:
    """fit.json's priors, each with what it is on."""
    if data.ordinal:
        first = {
            "thresholds": s.thresholds.describe()
            + " on each threshold's log-odds at the predictor means, kept in order"
        }
    else:
        first = {"intercept": s.intercept.describe() + " on the log-odds at the predictor means"}
    slopes = {
        "correlation": s.correlation.describe() + " on the correlations of each level's random "
        "intercept and slopes (on the standardised scale)"
    }
    return first | {
        "coefficients": s.coefficients.describe() + " per standard deviation of each predictor",
        "group_sd": s.group_sd.describe() + " for each level's random-intercept SD"
        + (" and each random slope's SD per standard deviation of its term" if data.slopes
           else ""),
    } | (slopes if data.slopes else {})  # fmt: skip
