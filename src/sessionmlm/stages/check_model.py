"""Stage `check_model`: one model checked against a cohort's sessions before any engine fits it."""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from sessionmlm.formula import ModelSpec
from sessionmlm.model_data import ModelDataError, build_model_data, model_problems
from sessionmlm.stages.job import write_json

log = logging.getLogger(__name__)


def run_check_model(
    cohort: str, spec: ModelSpec, reference: dict[str, Any], sessions: str, out: str
) -> None:
    """Check one model against the cohort's sessions before any engine fits it.

    Every problem (a predictor constant after the model's listwise deletion, an empty level)
    is listed at once; the check's record is written only when the model can be fitted.
    """
    problems = check_model(cohort, spec, reference, pd.read_parquet(sessions), out)
    if problems:
        raise ModelDataError(problems)


def check_model(
    cohort: str, spec: ModelSpec, reference: dict[str, Any], table: pd.DataFrame, out: str
) -> str:
    """run_check_model on the canonical table: writes out when the model can be fitted.

    Returns "" then, else what stops it (every problem), for the caller to raise.
    """
    problems = model_problems(table, spec, reference)
    if not problems:
        try:  # the derived columns (within/between parts, interactions) too
            build_model_data(table, spec, reference)
        except ModelDataError as error:
            problems = str(error).splitlines()
    if problems:
        return f"cohort {cohort!r}: models.{spec.name} cannot be fitted:\n" + "\n".join(
            f"- {p}" for p in problems
        )
    write_json(out, {"cohort": cohort, "model": spec.name, "formula": spec.formula, "ok": True})
    log.info("%s/%s: checked; every predictor varies in the sessions it keeps", cohort, spec.name)
    return ""
