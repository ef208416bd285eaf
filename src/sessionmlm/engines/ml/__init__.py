"""The maximum-likelihood engine: nested adaptive Gauss-Hermite quadrature on statsmodels.

This module registers the engine and stays light (statsmodels and numba load only in a fit):
its settings (settings.py), separation checks (separation.py), the likelihood model
(likelihood.py over quadrature.py), the optimiser (optimise.py), profile intervals
(profile.py) and the fit (fitting.py).
"""

from __future__ import annotations

from html import escape
from typing import Any

from sessionmlm.engines import AfterFit, Engine, FitResult, Fitted, Resources, Wording
from sessionmlm.engines.ml.settings import BOUNDARY_SD, MlSettings

__all__ = ["BOUNDARY_SD", "ENGINE", "MlSettings", "fit"]


def fit(data: Any, settings: dict[str, Any] | MlSettings, threads: int = 2) -> FitResult:
    """Fit data with the ml engine and return the output contract (fitting.fit)."""
    from sessionmlm.engines.ml.fitting import fit as fit_ml

    return fit_ml(data, settings, threads=threads)


def _predictions(fitted: Fitted) -> dict[str, Any]:
    """Predicted probabilities from the estimates and their covariance (predictions model)."""
    from sessionmlm.predictions import (  # scipy: fit jobs only
        fit_json_predictions,
        predictions_from_estimates,
    )

    return fit_json_predictions(fitted, predictions_from_estimates)


def _splits(fitted: Fitted) -> dict[str, Any]:
    """An ordinal fit's proportional-odds check (splits.py); nothing for a binary outcome."""
    data, result = fitted.data, fitted.result
    if not data.ordinal or not result.converged:
        return {}
    from sessionmlm.engines.ml.splits import split_odds_ratios

    cumulative = {r.term: (r.odds_ratio, r.or_low, r.or_high)
                  for r in result.estimates.itertuples()}  # fmt: skip
    settings = MlSettings.from_config(result.info["settings"])
    return {"splits": split_odds_ratios(data, settings, cumulative)}


def _diagnostics(info: dict[str, Any]) -> str:
    d = info["diagnostics"]
    if d.get("separation"):
        return "separation found before fitting"
    check = d["quadrature_check"]
    definite = "positive definite" if d["hessian_positive_definite"] else "NOT positive definite"
    return (
        f"{escape(d['method'])} with {d['points']} point(s) per level; log-likelihood "
        f"{info['loglik']:.3f}, AIC {info['aic']:.1f}, BIC {info['bic']:.1f}; largest "
        f"gradient {d['gradient_max_abs']:.1e}, remaining Newton step "
        f"{d['newton_step_max']:.1e}; Hessian {definite}; {check['points']} points change the "
        f"log-likelihood by {check['loglik_difference']:.1e}"
    )


def _prediction_method(info: dict[str, Any]) -> str:
    from sessionmlm.predictions import ML_DRAWS

    return (
        f"95% intervals from {ML_DRAWS:,} draws of the coefficients; the averaged ones hold "
        "the SDs at their estimates"
    )


def cannot_fit(spec: Any) -> str:
    """Why nested AGQ does not fit this structure, or "" (structures it fits: see likelihood)."""
    if spec.crossed:
        return (
            "the ml engine's quadrature integrates nested random intercepts one unit at a "
            "time, and crossed ones (units shared between levels) do not factor that way; "
            "the bayes engine fits them"
        )
    if len(spec.groups) > 3:
        return (
            f"the ml engine fits up to three nested grouping levels, not {len(spec.groups)}; "
            "the bayes engine fits any depth"
        )
    if not spec.slopes:
        return ""
    if len(spec.slopes) > 1 or len(spec.slopes[0][1]) > 1:
        return (
            "the ml engine fits one random slope, on one grouping factor; the bayes engine "
            "fits several"
        )
    group = spec.slopes[0][0]
    if len(spec.groups) > 2:
        return (
            "the ml engine fits a random slope with one or two grouping levels, not with "
            f"{len(spec.groups)}; the bayes engine fits both together"
        )
    if group != spec.groups[0]:
        return (
            f"the ml engine fits a random slope on the outermost grouping level "
            f"({spec.groups[0]}), not on {group}; the bayes engine fits it there"
        )
    return ""


def cannot_fit_data(data: Any) -> str:
    """What cannot_fit cannot see from the formula: a slope on a categorical predictor's levels."""
    slopes = [t for _, terms in data.slopes for t in terms]
    if len(slopes) > 1:
        return (
            f"the ml engine fits one random slope, and {', '.join(slopes)} are "
            f"{len(slopes)} (a categorical predictor has one per level but its reference); "
            "the bayes engine fits several"
        )
    return ""


ENGINE = Engine(
    name="ml",
    settings=MlSettings.from_config,
    fit=fit,
    # Measured: 0.3 GB and 2.4 s on the demo cohort (680 sessions), 2.2 GB and 3 min at 10^6
    # sessions (sessions.parquet is about 27 MB per 10^6 sessions); about twice the room.
    resources=Resources(
        threads=lambda settings: 2,  # numba's threads, which large cohorts use
        memory_mb=(1000, 150),
        minutes=(10, 2),
        # Coded items: an item fit on the demo design takes seconds (most of it the profile
        # intervals of three SDs), about what a job's start costs (benchmarks/many_items.py).
        batch_items=10,
    ),
    wording=Wording(
        estimates="maximum-likelihood estimates with 95% Wald confidence intervals",
        sd_intervals="profile-likelihood intervals",
        advice="Each reason says what to change; a simpler model or the bayes engine may also "
        "help.",
        priors="none (maximum likelihood)",
        predictions=_prediction_method,
        diagnostics=_diagnostics,
    ),
    rank=0,  # its estimates and standard errors are what a meta-analysis assumes
    after_fit=(
        AfterFit("predicted", _predictions, "predicted probabilities"),
        AfterFit("splits", _splits, "proportional odds: each binary split fitted on its own"),
    ),
    compares_models_by="likelihood",
    outcome_types=("binary", "ordinal"),
    cannot_fit=cannot_fit,
    code=("sessionmlm.intervals", "sessionmlm.predictions", "sessionmlm.prediction_plan"),
)
