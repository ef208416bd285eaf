"""Inter-rater reliability of coded items: agreement, kappas, AC1, Krippendorff's alpha, ICCs.

`item_reliability(ratings, scale, kind)` gives one item's table, one row per name in
STATISTICS; `compare_sources(a, b, scale, kind)` the same for two sources of the same units.
"""

from .table import COLUMNS, STATISTICS, compare_sources, item_reliability

__all__ = ["COLUMNS", "STATISTICS", "compare_sources", "item_reliability"]
