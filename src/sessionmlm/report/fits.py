"""A cohort's fits as the report reads them back, and which engine leads the report."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from sessionmlm import engines
from sessionmlm.compare import outcome_of
from sessionmlm.config import Cohort
from sessionmlm.report.posterior import check_warnings


@dataclass(frozen=True)
class Fit:
    """The three output-contract files of one (model, engine) fit, read back."""

    model: str
    engine: str
    estimates: pd.DataFrame
    variance: pd.DataFrame
    info: dict[str, Any]
    thresholds: pd.DataFrame | None = None  # an ordinal outcome's; None for a binary one

    @property
    def fitted(self) -> bool:
        """False when the engine does not fit this model's structure (fit.json not_fitted)."""
        return self.info.get("status") != "not fitted"

    @property
    def ordinal(self) -> bool:
        """Whether the fit's outcome is ordinal (cumulative odds ratios, thresholds)."""
        return self.info.get("outcome_type") == "ordinal"


def load_fit(results_dir: Path, model: str, engine: str) -> Fit:
    """Read results/{cohort}/{model}/{engine}/."""
    folder = results_dir / model / engine
    info = json.loads((folder / "fit.json").read_text())
    cuts = folder / "thresholds.csv"
    ordinal = info.get("outcome_type") == "ordinal" and cuts.is_file()
    return Fit(
        model=model,
        engine=engine,
        estimates=pd.read_csv(folder / "estimates.csv"),
        variance=pd.read_csv(folder / "variance.csv"),
        info=info,
        thresholds=pd.read_csv(cuts, dtype={"threshold": str}) if ordinal else None,
    )


def badge(fit: Fit) -> str:
    """Whether a fit passed its checks, as a coloured label."""
    if not fit.fitted:
        return "<span class='badge na'>not fitted</span>"
    if not fit.info["converged"]:
        return "<span class='badge fail'>failed</span>"
    if fit.info.get("warnings") or check_warnings(fit.info):
        return "<span class='badge warn'>pass, with a warning</span>"
    return "<span class='badge pass'>pass</span>"


def engine_of(fit: Fit) -> engines.Engine:
    """The registered engine that made a fit."""
    return engines.get(fit.engine)


def lead_engine(cohort: Cohort, fits: list[Fit]) -> str:
    """The engine whose fits lead the report: the first conditional engine configured.

    A conditional engine fits random effects (not population-averaged); without one, the first
    engine configured leads.
    """
    if not fits:
        return ""
    conditional = [e for e in cohort.engines if not engines.get(e).population_averaged]
    return (conditional or list(cohort.engines))[0]


def likelihood_fits(fits: list[Fit]) -> dict[str, dict[str, Any]]:
    """fit.json of each model from the highest-ranked engine that compares models by likelihood.

    Empty when no engine of the cohort has a likelihood to compare (AIC, BIC, LR tests).
    """
    comparable = [e for e in dict.fromkeys(f.engine for f in fits)
                  if engines.get(e).compares_models_by == "likelihood"]  # fmt: skip
    if not comparable:
        return {}
    engine = engines.by_rank(comparable)[0]
    return {f.model: f.info for f in fits if f.engine == engine}


def posterior_fits(cohort: Cohort, fits: list[Fit]) -> dict[str, dict[str, Any]]:
    """fit.json of each model from the first engine configured that runs posterior checks."""
    checking = [e for e in cohort.engines if "checks" in engines.get(e).steps]
    if not checking:
        return {}
    return {f.model: f.info for f in fits if f.engine == checking[0]}


def null_of(fit: Fit, fits: list[Fit]) -> Fit | None:
    """The same engine's model of the same outcome without predictors, if the cohort fitted one.

    Its estimates hold only the Intercept (binary) or nothing (ordinal: thresholds instead).
    """
    return next(
        (f for f in fits if f.engine == fit.engine and outcome_of(f.info) == outcome_of(fit.info)
         and set(f.estimates["term"]) <= {"Intercept"}),
        None,
    )  # fmt: skip


def p_text(p: float) -> str:
    """A p-value as the tables show it."""
    if not math.isfinite(p):
        return "–"
    return "&lt;0.001" if p < 0.001 else f"{p:.3f}"
