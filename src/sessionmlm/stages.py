"""The workflow's stages as plain functions.

Each reads its inputs, calls the package and writes its outputs; workflow/scripts/*.py only
adapt Snakemake's objects to these.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from sessionmlm import atomic, engines
from sessionmlm.config import Cohort
from sessionmlm.describe import describe
from sessionmlm.design import DesignError, build_model_data, model_problems
from sessionmlm.engines import write_result
from sessionmlm.formula import ModelSpec
from sessionmlm.ingest import ValidationError, ingest
from sessionmlm.power import PlannedDesign, run_chunk
from sessionmlm.variables import Variable

log = logging.getLogger(__name__)


def setup_logging(path: str | os.PathLike) -> None:
    """Send the package's log to a job's log file and its progress to the terminal."""
    handler = logging.FileHandler(path, mode="w")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    # The terminal shows this package's progress (attempts, diagnostics) and others' warnings.
    console = logging.StreamHandler()
    console.setFormatter(logging.Formatter("[%(name)s] %(message)s"))
    console.addFilter(lambda r: r.name.startswith("sessionmlm") or r.levelno >= logging.WARNING)
    root = logging.getLogger()
    root.handlers[:] = [handler, console]
    root.setLevel(logging.INFO)
    for noisy in ("pytensor", "arviz", "numba"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn problems the user must fix into a plain message and a non-zero exit.

    Bad data or a model the data cannot support end without a traceback, and in the job's log.
    """
    try:
        yield
    except (ValidationError, DesignError) as error:
        log.error("%s", error)
        raise SystemExit(f"sessionmlm: {error}") from None


def run_job(log_file: str | os.PathLike, stage: Callable[..., None], *args, **kwargs) -> None:
    """What every workflow script does: log to the job's file, run a stage, plain errors."""
    setup_logging(log_file)
    with user_errors():
        stage(*args, **kwargs)


def file_hash(path: str | os.PathLike) -> str:
    """SHA-256 of a file, recorded so a result can be traced to its exact input."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def inputs_hash(paths: list[Path]) -> str:
    """One SHA-256 for a cohort's input: the file's own, or one over each file's when several."""
    hashes = [file_hash(p) for p in paths]
    if len(hashes) == 1:
        return hashes[0]
    return hashlib.sha256("".join(hashes).encode()).hexdigest()


def write_json(path: str | os.PathLike, value: Any) -> None:
    """Write JSON with a trailing newline."""
    atomic.write_text(path, json.dumps(value, indent=2, default=str) + "\n")


def run_ingest(cohort: Cohort, privacy: dict[str, Any], sessions: str, validation: str) -> None:
    """Ingest one cohort; raise ValidationError listing every problem when it cannot go on."""
    log.info("reading %s", ", ".join(str(f) for f in cohort.data_files))
    table, check = ingest(cohort, privacy)
    log.info("variables (type, level; declared unless marked inferred):")
    for record in check.variables.values():
        log.info("  %s", Variable.from_dict(record))
    for quirk in check.quirks:
        log.info("read: %s", quirk)
    for warning in check.warnings:
        log.warning("%s", warning)
    record = check.to_dict() | {"input_hash": inputs_hash(cohort.data_files), "n_rows": len(table)}
    write_json(validation, record)
    if not check.ok:
        raise ValidationError(check)
    with atomic.atomic(sessions) as temporary:
        table.to_parquet(temporary, index=False)
    log.info("wrote %d sessions to %s", len(table), sessions)


def run_describe(cohort: Cohort, privacy: dict[str, Any], sessions: str, out: str) -> None:
    """Describe one cohort's canonical table."""
    table = pd.read_parquet(sessions)
    write_json(out, describe(table, cohort, privacy["min_cell"]))


def run_check_model(
    cohort: str, spec: ModelSpec, reference: dict[str, Any], sessions: str, out: str
) -> None:
    """Check one model against the cohort's sessions before any engine fits it.

    Every problem (a predictor constant after the model's listwise deletion, an empty level)
    is listed at once; the check's record is written only when the model can be fitted.
    """
    table = pd.read_parquet(sessions)
    problems = model_problems(table, spec, reference)
    if problems:
        raise DesignError(f"cohort {cohort!r}: models.{spec.name} cannot be fitted:\n"
                          + "\n".join(f"- {p}" for p in problems))  # fmt: skip
    write_json(out, {"cohort": cohort, "model": spec.name, "formula": spec.formula, "ok": True})
    log.info("%s/%s: checked; every predictor varies in the sessions it keeps", cohort, spec.name)


def run_fit(
    cohort: str,
    spec: ModelSpec,
    reference: dict[str, Any],
    engine: str,
    settings: Any,
    sessions: str,
    outputs: dict[str, str],
    threads: int,
    min_cell: int,
    levels: tuple[str, ...],
    predictions: dict[str, Any] | None = None,
) -> None:
    """Fit one model of a cohort with one engine and write the output contract.

    settings are the engine's typed settings (Cohort.engine_settings). The engine's after-fit
    steps (posterior checks, predicted probabilities, ...) run here while the fit is in memory
    and add their keys to fit.json. predictions is the cohort's `predictions:` setting when
    this is its predictions model (PredictionSetting.for_model), else None. min_cell is the
    privacy threshold, levels the cohort's id columns (never grouped by).

    Takes only what the fit depends on, so that Snakemake reruns a fit when its own model or
    settings change and not when another model of the cohort does.
    """
    chosen = engines.get(engine)
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
    result = chosen.fit(data, settings, threads=threads)
    result.info["cohort"] = cohort
    result.info["input_hash"] = file_hash(sessions)
    result.info["rows_hash"] = data.rows_hash  # likelihood-ratio tests need the same sessions
    fitted = engines.Fitted(result, data, table, reference, levels, min_cell, predictions)
    for step in chosen.after_fit:
        log.info("%s", step.what)
        result.info.update(step.run(fitted))
    write_result(result, outputs["estimates"], outputs["variance"], outputs["fit"])
    level = logging.INFO if result.converged else logging.WARNING
    log.log(level, "%s/%s/%s: %s", cohort, spec.name, engine, result.info["status"])


def run_simulation_chunk(design: PlannedDesign, point: int, chunk: int, out: str) -> None:
    """Simulate and fit one chunk of a design's replicates."""
    first, stop = design.chunks()[chunk]
    log.info(
        "design %s, grid point %d %s: replicates %d to %d",
        design.name, point + 1, design.points[point], first + 1, stop,
    )  # fmt: skip
    table = run_chunk(design, point, first, stop)
    atomic.write_text(out, table.to_csv(index=False, float_format="%.10g"))
