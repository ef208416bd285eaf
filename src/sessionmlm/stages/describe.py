"""Stage `describe`: counts per level, unit sizes and Table 1 of a cohort's canonical table."""

from __future__ import annotations

import pandas as pd

from sessionmlm.config import Cohort
from sessionmlm.describe import describe
from sessionmlm.privacy import Privacy
from sessionmlm.stages.job import write_json


def run_describe(cohort: Cohort, privacy: Privacy, sessions: str, out: str) -> None:
    """Describe one cohort's canonical table."""
    table = pd.read_parquet(sessions)
    write_json(out, describe(table, cohort, privacy.min_cell))
