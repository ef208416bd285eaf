"""Outcomes: what a cohort's models may have left of `~`, from the cohort file to a column.

A cohort has one outcome (`outcome:`) or several (`outcomes:`, name -> definition), and may list
coded items (`items:`, defined the same way; items.py); no outcome is primary, each model names
its own. An outcome is
- binary from codes (`positive`/`negative`, in one column or the union of several);
- binary from an ordinal column (`at_least`): 1 where the code is at least that one;
- ordinal (`order`, its codes lowest first), stored as the category index 0..K-1 with its
  categories in the table's metadata, for cumulative-logit models.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sessionmlm.cells import CodeMatcher, as_code, to_numbers
from sessionmlm.formula import ModelSpec
from sessionmlm.variables import Variable

MIN_CATEGORIES = 3  # an ordinal outcome with two categories is a binary one
SHOW_VALUES = 5


@dataclass(frozen=True)
class Outcome:
    """One outcome: its name in formulas, its source column(s) and how cells become values."""

    name: str
    sources: tuple[str, ...]
    positive: tuple[Any, ...] = (1,)
    negative: tuple[Any, ...] = (0,)
    key: str = "outcome"  # where the cohort file defines it, for messages ("outcomes.<name>")
    kind: str = "binary"  # or "ordinal"
    order: tuple[Any, ...] = ()  # the codes, lowest first: an ordinal outcome's, or at_least's
    at_least: Any = None  # binary from an ordinal column: 1 where the code is at least this

    @property
    def ordinal(self) -> bool:
        """Whether the outcome is ordinal (stored as the category index 0..K-1)."""
        return self.kind == "ordinal"

    @property
    def from_codes(self) -> bool:
        """Binary from positive and negative codes (else read as scores: order or at_least)."""
        return not self.ordinal and self.at_least is None

    @property
    def categories(self) -> tuple[str, ...]:
        """The outcome's categories as text, lowest first: ("0", "1") for a binary outcome."""
        return tuple(as_code(code) for code in self.order) if self.ordinal else ("0", "1")

    @property
    def defined_by(self) -> str:
        """The keys that say how codes become the outcome's values, for messages."""
        if self.ordinal:
            return f"{self.key}.order"
        if self.at_least is not None:
            return f"{self.key}.at_least"
        return f"{self.key}.positive and {self.key}.negative"

    def variable(self, level: str) -> Variable:
        """The outcome as validation.json and the table's metadata record it (never inferred).

        An ordinal outcome's categories are its codes in order: model_data reads them there.
        """
        categories = self.categories if self.ordinal else ()
        return Variable(self.name, self.kind, level, False, False, categories)


def read_outcomes(raw: dict[str, Any], where: str) -> tuple[dict[str, Outcome], list[str]]:
    """The cohort's outcomes by name, from `outcome:` or `outcomes:` (schema-checked already)."""
    if ("outcome" in raw) == ("outcomes" in raw) and not ("items" in raw and "outcome" not in raw):
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
        entries = {
            name: (f"outcomes.{name}", entry) for name, entry in raw.get("outcomes", {}).items()
        }
    # Coded items are outcomes too, each fitted by the cohort's templates (items.py).
    entries |= {n: (f"items.{n}", e) for n, e in raw.get("items", {}).items() if n not in entries}
    outcomes, problems = {}, []
    for name, (key, entry) in entries.items():
        found = _entry_problems(name, key, entry, f"{where}: {key}")
        problems += found
        if not found:
            outcomes[name] = _outcome(name, key, entry)
    return outcomes, problems


def _entry_problems(name: str, key: str, entry: dict[str, Any], where: str) -> list[str]:
    """What is wrong with one outcome's definition, each problem starting with where."""
    if key != "outcome" and "name" in entry:
        return [f"{where}.name: under outcomes the key is the outcome's name ({name!r}); "
                "remove name."]  # fmt: skip
    if "order" not in entry and "at_least" not in entry:
        return []  # binary from codes: the schema has checked it
    how = "at_least" if "at_least" in entry else "order"
    problems = []
    if "any_of" in entry:
        problems.append(f"{where}: {how} reads one column; use column: instead of any_of.")
    codes = [k for k in ("positive", "negative") if k in entry]
    if codes:
        problems.append(
            f"{where}: {' and '.join(codes)} make a binary outcome from codes, and {how} "
            f"{'from an ordinal column' if how == 'at_least' else 'an ordinal outcome'}; keep "
            "one of them."
        )
    order = [as_code(code) for code in entry.get("order", [])]
    if len(set(order)) < len(order):
        problems.append(f"{where}.order: {entry['order']} lists a code twice.")
    if how == "at_least":
        at_least = entry["at_least"]
        if order and as_code(at_least) not in order:
            problems.append(f"{where}.at_least: {at_least!r} is not in order {entry['order']}.")
        elif not order and not isinstance(at_least, int | float):
            problems.append(
                f"{where}.at_least: {at_least!r} is not a number; give order (the column's "
                "codes, lowest first) to say which codes are at least it."
            )
    elif len(order) < MIN_CATEGORIES:
        low, high = (list(entry["order"]) * 2)[:2]
        problems.append(
            f"{where}.order: {len(order)} categor{'y' if len(order) == 1 else 'ies'}; an "
            f"ordinal outcome needs at least {MIN_CATEGORIES}. For a binary outcome, write "
            f"positive: [{high}], negative: [{low}] in place of order."
        )
    return problems


def _outcome(name: str, key: str, entry: dict[str, Any]) -> Outcome:
    sources = tuple(entry["any_of"]) if "any_of" in entry else (entry["column"],)
    if "order" in entry or "at_least" in entry:
        kind = "binary" if "at_least" in entry else "ordinal"
        order = tuple(entry.get("order", ()))
        return Outcome(name, sources, (), (), key, kind, order, entry.get("at_least"))
    return Outcome(
        name,
        sources,
        positive=tuple(entry.get("positive", [1])),
        negative=tuple(entry.get("negative", [0])),
        key=key,
    )


def coded_values(
    outcome: Outcome, text: pd.DataFrame, is_missing: pd.DataFrame, problem, quirk
) -> pd.Series:
    """A binary outcome from codes: 1 where any source is positive, 0 where all are negative.

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


def scored_values(outcome: Outcome, cells: pd.Series, config: str, problem, quirk) -> pd.Series:
    """An ordinal outcome's category index 0..K-1, or at_least's 0/1; NaN where missing.

    cells are the source column's (text, NA where missing, after codes.<name>); a code outside
    the order (or, without one, not a number) is a problem naming the keys to change.
    """
    source, key, name = outcome.sources[0], outcome.key, outcome.name
    if outcome.order:
        matched, folded = CodeMatcher(outcome.order).match(cells)
        position = {as_code(code): float(i) for i, code in enumerate(outcome.order)}
        rank = matched.map(position, na_action="ignore").astype(float)
        bad = (cells.notna() & matched.isna()).to_numpy()
        problem(
            source,
            bad,
            f"outcome code(s) {sorted(cells[bad].unique())[:SHOW_VALUES]} are not in "
            f"{key}.order {list(outcome.order)}",
            f"Add them to {key}.order in {config} (lowest first), map them to codes of the "
            f"order under codes.{name}, or list them under missing.",
        )
        quirk(source, folded.sum(), "outcome codes matched ignoring case")
        if outcome.ordinal:
            return rank
        threshold = position[as_code(outcome.at_least)]
    else:
        rank = to_numbers(cells.fillna("").astype(str))
        bad = (cells.notna() & rank.isna()).to_numpy()
        problem(
            source,
            bad,
            f"outcome code(s) {sorted(cells[bad].unique())[:SHOW_VALUES]} are not numbers, "
            f"and {key}.at_least compares numbers",
            f"Give {key}.order (the codes, lowest first) in {config}, map them to numbers "
            f"under codes.{name}, or list them under missing.",
        )
        threshold = float(outcome.at_least)
    return (rank >= threshold).astype(float).where(rank.notna())


def model_outcome_problems(
    spec: ModelSpec, outcomes: dict[str, Outcome], fitted_by: dict[str, tuple[str, ...]], where: str
) -> list[str]:
    """A model's left-hand side: one of the cohort's outcomes, of a type each engine fits.

    fitted_by maps each of the cohort's engines to the outcome types it fits
    (Engine.outcome_types).
    """
    at = f"{where}: models.{spec.name}"
    if spec.outcome not in outcomes:
        if len(outcomes) == 1:
            (outcome,) = outcomes.values()
            keys = "outcome.name" if outcome.key == "outcome" else "outcomes"
            return [f"{at}: outcome {spec.outcome!r} is not the cohort's outcome "
                    f"{outcome.name!r} (set under {keys})."]  # fmt: skip
        close = difflib.get_close_matches(spec.outcome, list(outcomes), n=1)
        return [
            f"{at}: outcome {spec.outcome!r} is not one of the cohort's outcomes "
            f"({', '.join(outcomes)}; set under outcomes)."
            + (f" Closest: {close[0]!r}." if close else "")
        ]
    outcome = outcomes[spec.outcome]
    able = [e for e, kinds in fitted_by.items() if outcome.kind in kinds]
    return [
        f"{at}: its outcome {outcome.name!r} is {outcome.kind}, and engine {engine!r} fits "
        f"{' and '.join(kinds)} outcomes only. Take {engine!r} out of engines"
        + (f" ({' and '.join(able)} can fit it)" if able else "")
        + f", or model a binary outcome made from the column ({outcome.key} with at_least: "
        "in place of order)."
        for engine, kinds in fitted_by.items()
        if outcome.kind not in kinds
    ]
