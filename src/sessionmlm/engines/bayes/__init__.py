"""The Bayesian engine: PyMC model with non-centred random intercepts, sampled by nutpie.

This module registers the engine and stays light (PyMC and nutpie load only in a fit): its
settings (settings.py), the model (model.py), sampling, diagnostics and summaries
(sampling.py) and the fit with its retries (fitting.py).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sessionmlm.engines import AfterFit, Engine, FitResult, Fitted, Resources, Wording
from sessionmlm.engines.bayes.settings import BayesSettings, Prior
from sessionmlm.htmlparts import num

__all__ = ["ENGINE", "BayesSettings", "Prior", "fit"]


def fit(
    data: Any, settings: dict[str, Any] | BayesSettings, threads: int = 2, **kwargs: Any
) -> FitResult:
    """Fit data with the Bayesian engine (fitting.fit; see there)."""
    from sessionmlm.engines.bayes.fitting import fit as fit_bayes

    return fit_bayes(data, settings, threads=threads, **kwargs)


def _fit_job(data: Any, settings: BayesSettings, threads: int = 2) -> FitResult:
    """A workflow fit: the chains run on the job's threads."""
    return fit(data, replace(settings, cores=threads), threads=threads)


def _posterior_checks(fitted: Fitted) -> dict[str, Any]:
    """Predictive checks, calibration, PSIS-LOO and prior sensitivity, from the draws."""
    from sessionmlm.checks import categorical_columns, posterior_checks  # scipy: fit jobs only

    result = fitted.result
    if result.posterior is None:
        return {}
    categorical = categorical_columns(fitted.table, fitted.reference, fitted.levels)
    checks = posterior_checks(
        fitted.table, fitted.data, result.posterior, categorical, fitted.min_cell,
        seed=result.info["seed"],
    )  # fmt: skip
    return {"checks": checks}


def _predictions(fitted: Fitted) -> dict[str, Any]:
    """Predicted probabilities from every posterior draw, for the cohort's predictions model."""
    from sessionmlm.predictions import (  # scipy: fit jobs only
        fit_json_predictions,
        predictions_from_posterior,
    )

    if fitted.result.posterior is None or fitted.predictions is None:
        return {}
    return fit_json_predictions(fitted, predictions_from_posterior)


def _diagnostics(info: dict[str, Any]) -> str:
    d, last = info["diagnostics"], info["attempts"][-1]
    line = (
        f"max R-hat {num(d['max_rhat'], 3)}, min bulk ESS {num(d['min_ess_bulk'], 0)}, "
        f"min tail ESS {num(d['min_ess_tail'], 0)}, {d['divergences']} divergences, over "
        f"{len(info['attempts'])} attempt(s)"
    )
    if "draws" not in last:  # records that do not say how many draws
        return line
    # Fits of earlier versions did not record the draws kept: all of them.
    kept, most = last.get("kept_draws", last["draws"]), last["draws"]
    stopped = f" (stopped at the first check that passed, of up to {most:,})" if kept < most else ""
    return f"{line}, the last with {info['settings']['chains']} chains x {kept:,} draws{stopped}"


def _prediction_method(info: dict[str, Any]) -> str:
    return (
        "posterior medians with 95% credible intervals from "
        f"{info['checks']['all_draws']:,} posterior draws, which carry the uncertainty "
        "of the level SDs too"
    )


ENGINE = Engine(
    name="bayes",
    settings=BayesSettings.from_config,
    fit=_fit_job,
    # Measured on the demo cohort (680 sessions): 0.5 GB and 23 s; about twice the room.
    resources=Resources(
        threads=lambda settings: settings.chains,  # one core per chain
        memory_mb=(2000, 500),
        minutes=(60, 30),
    ),
    wording=Wording(
        estimates="posterior medians with 95% credible intervals",
        sd_intervals="credible intervals",
        advice="Consider more draws (bayes.draws), a simpler model, or more data.",
        predictions=_prediction_method,
        diagnostics=_diagnostics,
    ),
    rank=1,
    outcome_types=("binary", "ordinal"),
    weights=True,
    after_fit=(
        AfterFit(
            "checks",
            _posterior_checks,
            "posterior checks: predictive, calibration, PSIS-LOO, prior sensitivity",
        ),
        AfterFit("predicted", _predictions, "predicted probabilities"),
    ),  # fmt: skip
    code=(
        "sessionmlm.checks",
        "sessionmlm.predictions",
        "sessionmlm.prediction_plan",
        "sessionmlm.intervals",
    ),
)
