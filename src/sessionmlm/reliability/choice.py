"""Which ICC an item is judged by: ICC(2,1) when every coder rated every unit, else ICC(1,1).

item_reliability computes ICC(2,1) on the largest fully crossed block of units and coders; when
that block is not every unit, the coders were not crossed and the one-way ICC(1,1), on every
unit, is the honest single-rater figure.
"""

from __future__ import annotations

import math

import pandas as pd


def chosen_icc(table: pd.DataFrame) -> str | None:
    """The name of the ICC row to show and hold to the threshold (None: no ICC was computed)."""
    rows = table.set_index("statistic")
    two, one = rows.loc["ICC(2,1)"], rows.loc["ICC(1,1)"]
    if math.isfinite(two.estimate) and two.units == one.units:
        return "ICC(2,1)"
    return "ICC(1,1)" if math.isfinite(one.estimate) else None
