"""The HTML report of one cohort, a module per section; page.py lays them out.

Sections only lay out what the fits and the statistics modules (compare, variance, checks)
computed; each engine's words come from its registration (sessionmlm.engines).
"""

from sessionmlm.report.fits import Fit, load_fit
from sessionmlm.report.page import render_cohort_report, write_cohort_report
from sessionmlm.report.plain_language import plain_language
from sessionmlm.report.structure import structure_section

__all__ = [
    "Fit",
    "load_fit",
    "plain_language",
    "render_cohort_report",
    "structure_section",
    "write_cohort_report",
]
