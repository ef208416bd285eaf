"""Stage `fit`: one model of a cohort with one engine, to the output contract's three files."""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from sessionmlm.engines import get_engine, write_result
from sessionmlm.formula import ModelSpec
from sessionmlm.model_data import build_model_data
from sessionmlm.privacy import Privacy
from sessionmlm.stages.job import file_hash

log = logging.getLogger(__name__)


def run_fit(
    cohort: str,
    spec: ModelSpec,
    reference: dict[str, Any],
    engine: str,
    settings: dict[str, Any],
    sessions: str,
    outputs: dict[str, str],
    threads: int,
    privacy: Privacy,
    levels: tuple[str, ...],
) -> None:
    """Fit one model of a cohort with one engine and write the output contract.

    A bayes fit also gets its posterior checks (predictive checks, calibration, PSIS-LOO,
    prior sensitivity) in fit.json, computed here while the draws are in memory; bayes and ml
    fits get their predicted probabilities (predictions.py) there too. privacy gives the
    small-cell threshold, levels the cohort's id columns (never grouped by).

    Takes only what the fit depends on, so that Snakemake reruns a fit when its own model or
    settings change and not when another model of the cohort does.
    """
    table = pd.read_parquet(sessions)
    data = build_model_data(table, spec, reference)
    log.info(
        "fitting %s with %s: %d sessions (%d dropped for missing values), units %s",
        spec.name,
        engine,
        len(data.y),
        data.n_dropped,
        dict(zip(data.groups, data.n_units, strict=True)),
    )
    result = get_engine(engine)(data, settings, threads=threads)
    result.info["cohort"] = cohort
    result.info["input_hash"] = file_hash(sessions)
    result.info["rows_hash"] = data.rows_hash  # likelihood-ratio tests need the same sessions
    if result.posterior is not None:
        from sessionmlm.checks import categorical_columns, posterior_checks  # scipy: bayes only

        log.info("posterior checks: predictive, calibration, PSIS-LOO, prior sensitivity")
        result.info["checks"] = posterior_checks(
            table, data, result.posterior, categorical_columns(table, reference, levels),
            privacy.min_cell, seed=result.info["seed"],
        )  # fmt: skip
    from sessionmlm.predictions import fit_predictions  # scipy: fit jobs only

    predicted = fit_predictions(result, data)
    if predicted is not None:
        result.info["predicted"] = predicted.to_dict("records")
    write_result(result, outputs["estimates"], outputs["variance"], outputs["fit"])
    level = logging.INFO if result.converged else logging.WARNING
    log.log(level, "%s/%s/%s: %s", cohort, spec.name, engine, result.info["status"])
