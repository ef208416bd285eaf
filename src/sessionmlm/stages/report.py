"""Stage `report`: a cohort's self-contained HTML report and the tables beside it."""

from sessionmlm.report import write_cohort_report as run_report

__all__ = ["run_report"]
