"""The tables written beside the report: what the fits' own files do not already hold."""

from __future__ import annotations

from typing import Any

import pandas as pd

from sessionmlm.report.fits import Fit
from sessionmlm.report.posterior import checked
from sessionmlm.report.predictions import predicted_tables

LOO_COLUMNS = [
    "model", "n_obs", "unit", "n_units", "elpd", "se", "p_loo", "best", "elpd_diff", "se_diff",
    "k_bad", "k_threshold", "k_max",
]  # fmt: skip
SENSITIVITY_COLUMNS = [
    "model", "prior", "direction", "alpha", "term", "or", "or_low", "or_high", "base_or",
    "base_low", "base_high", "pareto_k", "reliable", "changed",
]  # fmt: skip


def report_tables(
    sources: list[Fit | None],
    posterior: dict[str, dict[str, Any]],
    loo_rows: list[dict[str, Any]],
    tests: pd.DataFrame,
) -> dict[str, pd.DataFrame]:
    """The tables beside the report: what its own files do not already hold.

    Likelihood-ratio tests, predicted probabilities, PSIS-LOO and prior sensitivity; posterior
    holds fit.json of the fits with posterior checks, by model; sources are the fits whose
    predictions the report shows (predictions.prediction_source), one per predictions model.
    """
    sensitivity = [
        {"model": model} | row
        for model, info in checked(posterior).items()
        for row in info["checks"]["sensitivity"]
    ]
    return {
        "comparison": tests,
        "predicted": predicted_tables(sources),
        "loo": pd.DataFrame(loo_rows, columns=LOO_COLUMNS),
        "sensitivity": pd.DataFrame(sensitivity, columns=SENSITIVITY_COLUMNS),
    }
