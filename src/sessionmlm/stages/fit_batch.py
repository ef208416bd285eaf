"""Stage `fit_batch`: many item models of a cohort with one engine, in one job (batches.py).

Each fit writes the same files the fit stage writes for it. A fit that raises does not lose the
others: its own fit.json records the error as a failed fit (status "failed", the error under
problems, no estimates), which the report and its manuscript table show as failed, and the job
log names it. The other fits of the batch go on.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, is_dataclass
from typing import Any

import pandas as pd

from sessionmlm.engines import ESTIMATE_COLUMNS, VARIANCE_COLUMNS, FitResult, write_result
from sessionmlm.formula import ModelSpec
from sessionmlm.privacy import Privacy
from sessionmlm.stages.fit import fit_model
from sessionmlm.stages.job import file_hash

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BatchFit:
    """One fit of a batch: its model, its files and its `predictions:` setting.

    outputs are the fit's files by name (batches.fit_files); predictions is the cohort's
    `predictions:` setting when this is its predictions model, else None.
    """

    spec: ModelSpec
    outputs: dict[str, str]
    predictions: dict[str, Any] | None = None


def run_fit_batch(
    cohort: str,
    fits: tuple[BatchFit, ...],
    reference: dict[str, Any],
    engine: str,
    settings: Any,
    sessions: str,
    threads: int,
    privacy: Privacy,
    levels: tuple[str, ...],
) -> None:
    """Fit each model with one engine, reading the sessions once; see the module's docstring."""
    table = pd.read_parquet(sessions)
    input_hash = file_hash(sessions)
    failed = []
    for number, one in enumerate(fits, 1):
        log.info("fit %d of %d in this batch: %s/%s/%s", number, len(fits), cohort,
                 one.spec.name, engine)  # fmt: skip
        try:
            fit_model(cohort, one.spec, reference, engine, settings, table, input_hash,
                      one.outputs, threads, privacy, levels, one.predictions)  # fmt: skip
        except Exception as error:  # noqa: BLE001  (any error: the other fits must still run)
            log.error("%s/%s/%s: the fit stopped on an error; recorded in its fit.json",
                      cohort, one.spec.name, engine, exc_info=True)  # fmt: skip
            result = failed_result(cohort, one.spec, engine, settings, error, input_hash)
            write_result(result, one.outputs["estimates"], one.outputs["variance"],
                         one.outputs["fit"], one.outputs["thresholds"])  # fmt: skip
            failed.append(one.spec.name)
    if failed:
        log.error("%d of %d fits of this batch stopped on an error: %s", len(failed), len(fits),
                  ", ".join(failed))  # fmt: skip


def failed_result(
    cohort: str, spec: ModelSpec, engine: str, settings: Any, error: Exception, input_hash: str
) -> FitResult:
    """The output contract of a fit that raised: no estimates, the error as its problem."""
    info = {
        "model": spec.name,
        "formula": spec.formula,
        "cohort": cohort,
        "engine": engine,
        "settings": asdict(settings) if is_dataclass(settings) else dict(settings),
        "n_obs": None,
        "units": {},
        "converged": False,
        "status": "failed",
        "problems": [f"the fit stopped on an error: {type(error).__name__}: {error}"],
        "warnings": [],
        "diagnostics": {},
        "wall_seconds": {"total": 0.0},
        "versions": {},
        "seed": None,
        "input_hash": input_hash,
    }
    return FitResult(
        estimates=pd.DataFrame(columns=[*ESTIMATE_COLUMNS, "p_value"]),
        variance=pd.DataFrame(columns=VARIANCE_COLUMNS),
        info=info,
    )
