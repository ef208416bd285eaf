"""Stage `fit_batch`: many item models of a cohort with one engine, in one job (batches.py).

Each fit writes the same files the fit stage writes for it. A fit that raises does not lose the
others (a single fit job would fail, and Snakemake delete a failed job's outputs): its own files
record it without estimates, with the error as the reason (stopped_result), which the report
and its manuscript table show, and the job's log has its traceback. The other fits go on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import pandas as pd

from sessionmlm.engines import FitResult, not_fitted_result, write_result
from sessionmlm.formula import ModelSpec
from sessionmlm.model_data import build_model_data
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
            try:  # what the fit's data were, for its fit.json, unless they raised
                data = build_model_data(table, one.spec, reference)
            except Exception:  # noqa: BLE001  (the fit's own error is the one to report)
                data = _NoData(one.spec)
            result = stopped_result(cohort, engine, settings, error, data, input_hash)
            write_result(result, one.outputs["estimates"], one.outputs["variance"],
                         one.outputs["fit"], one.outputs["thresholds"])  # fmt: skip
            failed.append(one.spec.name)
    if failed:
        log.error("%d of %d fits of this batch stopped on an error: %s", len(failed), len(fits),
                  ", ".join(failed))  # fmt: skip


@dataclass(frozen=True)
class _NoData:
    """Stands in for a model's data when building them raised: the model, no sessions."""

    spec: ModelSpec
    terms: tuple[str, ...] = ()

    def record(self) -> dict[str, Any]:
        return {"model": self.spec.name, "formula": self.spec.formula, "n_obs": 0,
                "n_dropped": 0, "dropped_by_variable": {}, "units": {}}  # fmt: skip


def stopped_result(
    cohort: str,
    engine: str,
    settings: Any,
    error: Exception,
    data: Any,
    input_hash: str,
) -> FitResult:
    """The output contract of a fit that raised: no estimates, the error as the reason.

    Its status is "not fitted", the one the report and the manuscript tables show without
    numbers, with the reason in words (a "failed" fit has an engine's diagnostics to show);
    fit.json's `error` names the error. data is the model's ModelData, or _NoData.
    """
    model = data.record()["model"]
    reason = (
        f"the fit stopped on an error ({type(error).__name__}: {error}); the job's log has "
        f"the details, and the other fits of its batch were kept. Once its cause is fixed, "
        f"`snakemake --forcerun results/{cohort}/{model}/{engine}/fit.json` refits it"
    )
    result = not_fitted_result(engine, data, settings, reason)
    result.info.update(cohort=cohort, input_hash=input_hash,
                       error=f"{type(error).__name__}: {error}")  # fmt: skip
    return result
