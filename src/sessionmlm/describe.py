"""Describe a cohort: units per level, how unbalanced, each outcome, and Table 1 by level.

Counts below the privacy threshold are suppressed (shown as None with suppressed = true).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from sessionmlm.config import Cohort
from sessionmlm.outcomes import Outcome
from sessionmlm.privacy import suppress
from sessionmlm.structure import joined_ids, unit_key


def level_of(table: pd.DataFrame, column: str, levels: list[str]) -> str:
    """The outermost level within whose units the column is constant (missing values ignored)."""
    for level in levels[:-1]:
        varies = table.groupby(level)[column].nunique(dropna=True).gt(1).any()
        if not varies:
            return level
    return levels[-1]


def summarise_variable(values: pd.Series, min_cell: int, kind: str | None = None) -> dict[str, Any]:
    """Table 1 entry for one variable over the units of its level.

    kind is the variable's type from ingest (binary, numeric, ordinal, categorical); without
    it, the type is read off the values.
    """
    present = values.dropna()
    entry: dict[str, Any] = {"n_units": int(len(values)), "missing": int(values.isna().sum())}
    numeric = pd.api.types.is_numeric_dtype(values)
    if kind == "binary" or (kind is None and numeric and set(present.unique()) <= {0.0, 1.0}):
        entry["kind"] = "binary"
        ones = int(present.sum())
        entry["yes"] = suppress(ones, min_cell)
        entry["no"] = suppress(len(present) - ones, min_cell)
        entry["share"] = (
            None
            if entry["yes"]["suppressed"] or entry["no"]["suppressed"]
            else (ones / len(present) if len(present) else None)
        )
    elif numeric:
        # No minimum or maximum: an extreme value is one person's. Quartiles, and nothing at
        # all for fewer units than the smallest cell shown.
        entry["kind"] = "numeric"
        entry["suppressed"] = len(present) < min_cell
        if not entry["suppressed"]:
            q1, median, q3 = present.quantile([0.25, 0.5, 0.75])
            entry.update(mean=float(present.mean()), sd=float(present.std()),
                         q1=float(q1), median=float(median), q3=float(q3))  # fmt: skip
    else:
        entry["kind"] = "categorical"
        counts = present.astype(str).value_counts().sort_index()
        entry["categories"] = {k: suppress(int(v), min_cell) for k, v in counts.items()}
    return entry


def describe_outcome(values: pd.Series, outcome: Outcome, min_cell: int) -> dict[str, Any]:
    """An outcome over the sessions: how many have it, its base rate or its categories.

    An ordinal outcome's sessions per category (values are category indices) are cells under
    the privacy rule; when one category alone is small, the next smallest is suppressed too,
    or the total would give it away.
    """
    present = values.dropna()
    entry = {
        "name": outcome.name,
        "type": outcome.kind,
        "sources": list(outcome.sources),
        "n": int(len(present)),
        "missing": int(values.isna().sum()),
    }
    if outcome.at_least is not None:
        entry["at_least"] = str(outcome.at_least)
    if not outcome.ordinal:
        return entry | {
            "base_rate": float(present.mean()) if len(present) else None,
            "positive": suppress(int((present == 1).sum()), min_cell),
        }
    counts = [int((present == i).sum()) for i in range(len(outcome.categories))]
    cells = [suppress(count, min_cell) for count in counts]
    small = [i for i, cell in enumerate(cells) if cell["suppressed"]]
    if len(small) == 1:
        shown = [i for i, cell in enumerate(cells) if not cell["suppressed"]]
        if shown:
            cells[min(shown, key=lambda i: counts[i])] = {"n": None, "suppressed": True}
    return entry | {"categories": dict(zip(outcome.categories, cells, strict=True))}


def unit_ids(table: pd.DataFrame, cohort: Cohort) -> pd.DataFrame:
    """Each level's units as ids unique in the whole table (a client within its therapist)."""
    levels = list(cohort.levels)
    grouping, crossed = tuple(levels[:-1]), tuple(getattr(cohort, "crossed", ()))
    ids = {level: joined_ids(table, list(unit_key(level, grouping, crossed))) for level in grouping}
    return pd.DataFrame(ids | {levels[-1]: table[levels[-1]]})


def describe(table: pd.DataFrame, cohort: Cohort, min_cell: int) -> dict[str, Any]:
    """Counts per level, unit-size distributions, each outcome and Table 1 by level."""
    levels = list(cohort.levels)
    keyed = unit_ids(table, cohort)
    counts = {level: int(keyed[level].nunique()) for level in levels}
    sizes = {}
    for parent, child in zip(levels[:-1], levels[1:], strict=True):
        per_parent = keyed.groupby(parent)[child].nunique()
        sizes[f"{child}_per_{parent}"] = {
            "min": int(per_parent.min()),
            "median": float(per_parent.median()),
            "mean": float(per_parent.mean()),
            "max": int(per_parent.max()),
            "histogram": {
                str(k): int(v) for k, v in per_parent.value_counts().sort_index().items()
            },
        }
    predictors = [c for c in table.columns if c not in levels and c not in cohort.outcomes]
    recorded_variables = table.attrs.get("variables", {})
    table = keyed.join(table[[*cohort.outcomes, *predictors]])
    # Type and level as ingest declared or inferred them (the table's metadata), marked so.
    recorded = recorded_variables
    table1: dict[str, dict[str, Any]] = {level: {} for level in levels}
    for column in predictors:
        variable = recorded.get(column, {})
        level = variable.get("level") or level_of(table, column, levels)
        units = table.groupby(level)[column].first() if level != levels[-1] else table[column]
        entry = summarise_variable(units, min_cell, variable.get("type"))
        entry["type"] = variable.get("type", entry["kind"])
        entry["inferred"] = [k for k in ("type", "level") if variable.get(f"{k}_inferred", True)]
        table1[level][column] = entry
    return {
        "cohort": cohort.name,
        "levels": levels,
        "counts": counts,
        "sizes": sizes,
        "outcomes": {
            name: describe_outcome(table[name], outcome, min_cell)
            for name, outcome in cohort.outcomes.items()
        },
        "table1": table1,
        "min_cell": min_cell,
    }
