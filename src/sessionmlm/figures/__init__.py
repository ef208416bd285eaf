"""Inline SVG figures for the reports: no scripts, no fonts or files to fetch.

plots.py holds the shared drawing and the forest, bar and line charts; levels.py the figures
of the study structure; checks.py those of the posterior checks.
"""

from sessionmlm.figures.checks import band_plot, calibration_plot
from sessionmlm.figures.levels import coarsen_histogram, level_diagram, plural, size_range
from sessionmlm.figures.plots import PALETTE, forest_plot, histogram_bars, line_plot, svg_open

__all__ = [
    "PALETTE",
    "band_plot",
    "calibration_plot",
    "coarsen_histogram",
    "forest_plot",
    "histogram_bars",
    "level_diagram",
    "line_plot",
    "plural",
    "size_range",
    "svg_open",
]
