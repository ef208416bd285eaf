"""Stage `fit`: one model of a cohort with one engine, to the output contract's three files."""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from sessionmlm import engines
from sessionmlm.engines import write_result
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
    settings: Any,
    sessions: str,
    outputs: dict[str, str],
    threads: int,
    privacy: Privacy,
    levels: tuple[str, ...],
    predictions: dict[str, Any] | None = None,
    notes: dict[str, Any] | None = None,
) -> engines.FitResult:
    """Fit one model of a cohort with one engine and write the output contract.

    settings are the engine's typed settings (Cohort.engine_settings). The engine's after-fit
    steps (posterior checks, predicted probabilities, ...) run here while the fit is in memory
    and add their keys to fit.json. predictions is the cohort's `predictions:` setting when
    this is its predictions model (PredictionSetting.for_model), else None. privacy gives the
    small-cell threshold, levels the cohort's id columns (never grouped by). notes are added
    to fit.json (a coder model's all_codes record). Returns the fit, for steps of its own.

    Takes only what the fit depends on, so that Snakemake reruns a fit when its own model or
    settings change and not when another model of the cohort does.
    """
    table = pd.read_parquet(sessions)
    return fit_model(cohort, spec, reference, engine, settings, table, file_hash(sessions),
                     outputs, threads, privacy, levels, predictions, notes)  # fmt: skip


def fit_model(
    cohort: str,
    spec: ModelSpec,
    reference: dict[str, Any],
    engine: str,
    settings: Any,
    table: pd.DataFrame,
    input_hash: str,
    outputs: dict[str, str],
    threads: int,
    privacy: Privacy,
    levels: tuple[str, ...],
    predictions: dict[str, Any] | None = None,
    notes: dict[str, Any] | None = None,
) -> engines.FitResult:
    """run_fit on the cohort's canonical table, read once; input_hash is its file's SHA-256.

    A batch of fits (stages/fit_batch.py) calls this for each, so both write the same files.
    """
    chosen = engines.get(engine)
    data = build_model_data(table, spec, reference)
    log.info(
        "fitting %s with %s: %d sessions (%d dropped for missing values), units %s",
        spec.name,
        engine,
        len(data.y),
        data.n_dropped,
        dict(zip(data.groups, data.n_units, strict=True)),
    )
    reason = chosen.cannot_fit(spec)
    if reason:
        log.warning("%s/%s/%s: not fitted: %s", cohort, spec.name, engine, reason)
        result = engines.not_fitted_result(engine, data, settings, reason)
        result.info["cohort"] = cohort
        write_result(result, outputs["estimates"], outputs["variance"], outputs["fit"],
                     outputs["thresholds"])  # fmt: skip
        return result
    result = chosen.fit(data, settings, threads=threads)
    result.info["cohort"] = cohort
    result.info["input_hash"] = input_hash
    result.info["rows_hash"] = data.rows_hash  # likelihood-ratio tests need the same sessions
    fitted = engines.Fitted(result, data, table, reference, levels, privacy.min_cell, predictions)
    for step in chosen.after_fit:
        log.info("%s", step.what)
        result.info.update(step.run(fitted))
    result.info.update(notes or {})
    write_result(
        result, outputs["estimates"], outputs["variance"], outputs["fit"], outputs["thresholds"]
    )
    level = logging.INFO if result.converged else logging.WARNING
    log.log(level, "%s/%s/%s: %s", cohort, spec.name, engine, result.info["status"])
    return result
