"""Outcomes: what a cohort's models may have left of `~`, from the cohort file to a column.

A cohort has one outcome (`outcome:`) or several (`outcomes:`, name -> definition); no outcome
is primary, each model names its own. A binary outcome comes from codes (`positive`/`negative`,
in one column or the union of several).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sessionmlm.cells import CodeMatcher
from sessionmlm.variables import Variable


@dataclass(frozen=True)
class Outcome:
    """One outcome: its name in formulas, its source column(s) and how cells become values."""

    name: str
    sources: tuple[str, ...]
    positive: tuple[Any, ...] = (1,)
    negative: tuple[Any, ...] = (0,)
    key: str = "outcome"  # where the cohort file defines it, for messages ("outcomes.<name>")

    def variable(self, level: str) -> Variable:
        """The outcome as validation.json and the table's metadata record it (never inferred)."""
        return Variable(self.name, "binary", level, False, False)


def read_outcomes(raw: dict[str, Any], where: str) -> tuple[dict[str, Outcome], list[str]]:
    """The cohort's outcomes by name, from `outcome:` or `outcomes:` (schema-checked already)."""
    if ("outcome" in raw) == ("outcomes" in raw):
        return {}, [
            f"{where}: give the outcome under outcome: (one outcome) or outcomes: (several, "
            f"name -> definition){', not both' if 'outcome' in raw else ''}."
        ]
    if "outcome" in raw:
        entry = raw["outcome"]
        if "any_of" in entry and "name" not in entry:
            return {}, [f"{where}: outcome: with any_of, give the outcome a name for the "
                        "formulas (outcome.name, for example homework)."]  # fmt: skip
        entries = {entry.get("name", entry.get("column")): ("outcome", entry)}
    else:
        entries = {name: (f"outcomes.{name}", entry) for name, entry in raw["outcomes"].items()}
    outcomes, problems = {}, []
    for name, (key, entry) in entries.items():
        if key != "outcome" and "name" in entry:
            problems.append(f"{where}: {key}.name: under outcomes the key is the outcome's "
                            f"name ({name!r}); remove name.")  # fmt: skip
            continue
        outcomes[name] = Outcome(
            name,
            tuple(entry["any_of"]) if "any_of" in entry else (entry["column"],),
            positive=tuple(entry.get("positive", [1])),
            negative=tuple(entry.get("negative", [0])),
            key=key,
        )
    return outcomes, problems


def outcome_values(
    outcome: Outcome, text: pd.DataFrame, is_missing: pd.DataFrame, problem, quirk
) -> pd.Series:
    """The outcome's column: 1 where any source holds a positive code, 0 where all hold negatives.

    text holds the cells (trimmed), is_missing where they are missing; problem and quirk
    report to validation as ingest's do.
    """
    positive = CodeMatcher(outcome.positive)
    negative = CodeMatcher(outcome.negative)
    values = pd.Series(np.nan, index=text.index)
    any_positive = np.zeros(len(text), bool)
    all_negative = np.ones(len(text), bool)
    for source in outcome.sources:
        col, miss = text[source], is_missing[source]
        is_pos, folded_pos = positive.match(col)
        is_neg, folded_neg = negative.match(col)
        bad = ~(is_pos.notna() | is_neg.notna() | miss)
        problem(
            source,
            bad.to_numpy(),
            f"outcome code(s) {sorted(col[bad].unique())[:5]} are "
            f"neither positive {sorted(positive.exact)} nor negative {sorted(negative.exact)}",
            f"List them under {outcome.key}.positive or {outcome.key}.negative, or under missing.",
        )
        quirk(source, (folded_pos | folded_neg).sum(), "outcome codes matched ignoring case")
        any_positive |= is_pos.notna().to_numpy()
        all_negative &= is_neg.notna().to_numpy()
    values[all_negative] = 0.0
    values[any_positive] = 1.0
    return values
