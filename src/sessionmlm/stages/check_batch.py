"""Stage `check_batch`: a template's item models checked in one job (batches.py).

Each model is checked as the check_model stage checks it, reading the sessions once. Every
model's problems are listed at once; any problem stops the job, as it stops a check_model job
(the workflow then fits none of the batch: the cohort file or data must change first).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from sessionmlm.formula import ModelSpec
from sessionmlm.model_data import ModelDataError
from sessionmlm.stages.check_model import check_model


def run_check_batch(
    cohort: str,
    specs: tuple[ModelSpec, ...],
    reference: dict[str, Any],
    sessions: str,
    outs: tuple[str, ...],
) -> None:
    """Check each model against the cohort's sessions, writing its out when it can be fitted."""
    table = pd.read_parquet(sessions)
    problems = [check_model(cohort, spec, reference, table, out)
                for spec, out in zip(specs, outs, strict=True)]  # fmt: skip
    found = [p for p in problems if p]
    if found:
        raise ModelDataError("\n".join(found))
