"""The GEE engine: population-averaged logistic regression with a working dependence structure.

statsmodels' GEE with a Binomial family (logit link) and robust (sandwich) standard errors,
clustered at the outermost level. For a 0/1 outcome, two or more grouping levels use the
Nested working structure (groups = the outermost level, dep_data = the inner levels' codes);
one grouping level uses Exchangeable. An ordinal outcome is fitted by OrdinalGEE (cumulative
logit, proportional odds) with a global odds ratio working structure (ordinal.py says why it
is not nested). gee.working: independence drops the working dependence in either case. The
coefficients are marginal (population-averaged) log-odds ratios, smaller in magnitude than
the conditional ones of a random-intercept model when clustering is strong. GEE has no
random-effect variances: the variance table reports the working dependence instead.

This module registers the engine and stays light (statsmodels loads only in a fit): its
settings (settings.py), the fit (fitting.py) and its ordinal part (ordinal.py).
"""

from __future__ import annotations

from html import escape
from typing import Any

from sessionmlm.engines import Engine, FitResult, Resources, Wording
from sessionmlm.engines.gee.settings import COVARIANCES, WORKINGS, GeeSettings

QUANTITY = "working correlation (GEE working dependence, not a random-effect variance)"

__all__ = ["COVARIANCES", "ENGINE", "QUANTITY", "WORKINGS", "GeeSettings", "fit"]


def fit(
    data: Any, settings: dict[str, Any] | GeeSettings | None = None, threads: int = 2
) -> FitResult:
    """Fit data with GEE and return the output contract (fitting.fit)."""
    from sessionmlm.engines.gee.fitting import fit as fit_gee

    return fit_gee(data, settings, threads=threads)


def _diagnostics(info: dict[str, Any]) -> str:
    d = info["diagnostics"]
    return (
        f"{escape(str(d.get('working_covariance', '')))} working covariance, "
        f"{escape(str(d.get('cov_type', '')))} standard errors, "
        f"{d.get('iterations', '–')} iterations"
    )


def cannot_fit(spec: Any) -> str:
    """Why a population-averaged model does not fit this structure, or ""."""
    if spec.crossed:
        return (
            f"GEE needs independent clusters, and crossed levels (units shared between "
            f"{spec.groups[0]}s) leave none; the bayes engine fits crossed random intercepts"
        )
    if spec.slopes:
        group = spec.slopes[0][0]
        return (
            f"GEE is population-averaged: it has no {group}-level effects, so no random "
            f"slopes; the same model without the random slope, or with an interaction with a "
            f"{group}-level predictor, is what it can estimate"
        )
    return ""


ENGINE = Engine(
    name="gee",
    settings=GeeSettings.from_config,
    cannot_fit=cannot_fit,
    fit=fit,
    # Measured on the demo cohort (680 sessions): 0.2 GB and 1.7 s; about twice the room. An
    # item fit on the demo design takes 0.3 s against about 5 s for a job of its own
    # (benchmarks/many_items.py): coded items are fitted 20 to a job.
    resources=Resources(
        threads=lambda settings: 1, memory_mb=(1000, 150), minutes=(10, 2), batch_items=20
    ),
    wording=Wording(
        estimates="population-averaged estimates with 95% robust (sandwich) Wald intervals",
        sd_intervals="working correlation",
        advice="Consider a higher gee.max_iter, gee.working: independence, or a simpler model.",
        priors="none (estimating equations)",
        dependence="sessions sharing a unit are related through a working dependence: one "
        "global odds ratio within the outermost unit for an ordinal outcome, none under "
        "gee.working: independence, and otherwise a nested exchangeable working correlation",
        dependence_table="GEE working dependence (not random-effect variances)",
        dependence_note="The correlation GEE assumed, on the scale of the outcome, between two "
        "sessions sharing a unit of that level (and every level above it); 0 under gee.working: "
        "independence. An ordinal outcome's working dependence is otherwise a global odds "
        "ratio, not a correlation: it is in variance.csv (dependence_parameter), and this column "
        "is empty. The working dependence only weights the estimating equations; the robust "
        "standard errors do not rely on it, and it is not comparable with the latent-scale ICCs "
        "of the other engines.",
        diagnostics=_diagnostics,
    ),
    population_averaged=True,
    rank=2,
    code=("sessionmlm.intervals",),
    outcome_types=("binary", "ordinal"),
)
