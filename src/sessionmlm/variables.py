"""Every model variable gets a type and a level, declared or inferred, and inference never guesses.

Types: binary (0/1), numeric, ordinal (ordered scores) and categorical (text levels). A level is
the outermost one within whose units the variable is constant. What the cohort declares under
`variables:` is checked; what it does not is inferred conservatively: anything ambiguous (a
number column with a few text cells, an unlisted missing code, free text, a therapist
characteristic that varies within a few therapists) is a finding for validation to report,
never a silent choice.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sessionmlm.cells import (
    DATE,
    DECIMAL_COMMA,
    EXCEL_ERRORS,
    MISSING_NUMBERS,
    MISSING_TEXT,
    NUMBER_WITH_UNIT,
    CodeMatcher,
    to_numbers,
)

TYPES = ("binary", "numeric", "ordinal", "categorical")
MAX_CATEGORIES = 20  # more text levels than this is free text, ids or dates unless declared
MIN_SESSIONS_PER_CATEGORY = 5  # fewer sessions per level on average: too many levels
FEW_UNITS = 3  # a unit-level variable that varies within at most this many units: an error
SHOW_VALUES = 5


@dataclass(frozen=True)
class Finding:
    """Something wrong (or worth a warning) in some cells of one column."""

    mask: np.ndarray | None  # (n,) the sessions concerned; None: the column as a whole
    message: str
    fix: str


@dataclass(frozen=True)
class Variable:
    """A model variable's type and level, and whether each was declared or inferred."""

    name: str
    type: str
    level: str
    type_inferred: bool
    level_inferred: bool
    categories: tuple[str, ...] = ()  # categorical: reference first; ordinal: in order
    reference_inferred: bool = False  # categorical: the reference is the first in sort order

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for validation.json and the table's metadata."""
        return {**asdict(self), "categories": list(self.categories)}

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> Variable:
        """The inverse of to_dict (validation.json, the table's metadata)."""
        return cls(**{**record, "categories": tuple(record.get("categories", ()))})

    def __str__(self) -> str:
        type_ = f"{self.type}{' (inferred)' if self.type_inferred else ''}"
        level = f"{self.level} level{' (inferred)' if self.level_inferred else ''}"
        text = f"{self.name}: {type_}, {level}"
        if self.type == "categorical" and self.categories:
            how = "first in sort order; set reference" if self.reference_inferred else "set"
            text += f", reference {self.categories[0]!r} ({how})"
        if self.type == "ordinal" and self.categories:
            text += f", categories {' < '.join(self.categories)}"
        return text


@dataclass
class Typed:
    """A column's cells turned into model values, with what was found on the way."""

    values: pd.Series  # float for binary, numeric and ordinal; string for categorical
    type: str
    inferred: bool
    problems: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)


def _seen(cells: pd.Series) -> list:
    return sorted(cells.dropna().astype(str).unique())[:SHOW_VALUES]


class Distinct:
    """A column's distinct cells: text tests run once per value, not once per session.

    A million sessions hold a few hundred distinct ages or codes, so a regular expression or a
    number parse over the distinct values costs nothing next to one over every cell.
    """

    def __init__(self, cells: pd.Series):
        self.codes, uniques = pd.factorize(cells)  # codes: (n,), -1 where missing
        self.uniques = pd.Series(uniques, dtype=object)

    def test(self, predicate) -> np.ndarray:
        """(n,) bool: predicate (Series of values -> bool Series) per cell, False where missing."""
        per_value = np.append(predicate(self.uniques).fillna(False).to_numpy(bool), False)
        return per_value[self.codes]

    def numbers(self, decimal_comma: bool) -> np.ndarray:
        """(n,) each cell as a finite float, NaN where missing or not a number."""
        per_value = np.append(to_numbers(self.uniques.astype(str), decimal_comma), np.nan)
        return per_value[self.codes]


def type_column(
    name: str, cells: pd.Series, declared: dict[str, Any], decimal_comma: bool, config: str
) -> Typed:
    """Type one column's cells (text, NA where missing) as declared or by conservative inference.

    config is the cohort file's name, for the fixes the findings suggest.
    """
    distinct = Distinct(cells)
    problems: list[Finding] = []
    excel = distinct.test(lambda u: u.str.upper().isin(EXCEL_ERRORS))
    missing_like = distinct.test(lambda u: u.str.upper().isin(MISSING_TEXT)) & ~excel
    if excel.any():
        problems.append(
            Finding(
                excel,
                f"spreadsheet error value(s) {_seen(cells[excel])}",
                "Correct the formulas in the source spreadsheet, or list these "
                f"under missing: in {config}.",
            )
        )
    if missing_like.any():
        seen = _seen(cells[missing_like])
        problems.append(
            Finding(
                missing_like,
                f"value(s) {seen} look like missing-value codes the cohort does not list",
                f"If they mean missing, add them under missing: in {config} (for example missing: "
                f"[-99, {', '.join(repr(s) for s in seen)}]); otherwise correct them.",
            )
        )
    usable = cells.where(~(excel | missing_like))
    if usable.notna().sum() == 0:
        problems.append(
            Finding(
                None,
                "has no values: every cell is empty or a missing code",
                "Check the export (an unfilled or misnamed column), or take the variable out "
                "of the models.",
            )
        )
        empty = pd.Series(np.nan, index=cells.index)
        return Typed(empty, declared.get("type", "numeric"), "type" not in declared, problems)
    kind = declared.get("type")
    numbers = pd.Series(distinct.numbers(decimal_comma), index=cells.index)
    if kind == "categorical" or (kind is None and not _mostly_numbers(distinct, numbers, usable)):
        typed = _categorical(name, usable, distinct, kind is None)
    elif kind == "ordinal" and "order" in declared:
        typed = _ordered(name, usable, declared["order"], config)
    else:
        typed = _numbers(name, usable, numbers, declared, decimal_comma, config)
    typed.problems[:0] = problems
    return typed


def _mostly_numbers(distinct: Distinct, numbers: pd.Series, usable: pd.Series) -> bool:
    """At least half the cells are numbers, or numbers with a decimal comma or a unit."""
    numberish = numbers.notna().to_numpy() | distinct.test(
        lambda u: u.str.match(DECIMAL_COMMA) | u.str.match(NUMBER_WITH_UNIT)
    )
    return (numberish & usable.notna().to_numpy()).sum() >= 0.5 * usable.notna().sum()


def _categorical(name: str, usable: pd.Series, distinct: Distinct, inferred: bool) -> Typed:
    values = usable.astype("string")
    typed = Typed(values, "categorical", inferred)
    codes = distinct.test(lambda u: pd.to_numeric(u, errors="coerce").isin(MISSING_NUMBERS))
    if codes.any():  # -99 among text categories stands out by being a number
        typed.problems.append(
            Finding(
                codes,
                f"value(s) {_seen(usable[codes])} among text categories look like missing-value "
                "codes the cohort does not list",
                f"If they mean missing, add them under missing: in the cohort file; if they are "
                f"categories, map them to a name under codes.{name}.",
            )
        )
    if not inferred:
        return typed
    present = values.dropna()
    n, k = len(present), present.nunique()
    if (distinct.test(lambda u: u.str.match(DATE)) & values.notna().to_numpy()).sum() >= 0.5 * n:
        typed.problems.append(
            Finding(
                None,
                f"holds dates ({_seen(present)}), which are not a predictor as they stand",
                f"Derive what the date means (for example the child's age at the session), or "
                f"declare variables.{name}.type: categorical to use each date as a category.",
            )
        )
    elif k > MAX_CATEGORIES or (k > SHOW_VALUES and k * MIN_SESSIONS_PER_CATEGORY > n):
        typed.problems.append(
            Finding(
                None,
                f"{k} distinct text values in {n} sessions (for example {_seen(present)}): too "
                "many for a categorical predictor (free text, ids or dates?)",
                f"Map them to a few categories under codes.{name}, or declare "
                f"variables.{name}.type: categorical to fit one term per value.",
            )
        )
    return typed


def _ordered(name: str, usable: pd.Series, order: list[Any], config: str) -> Typed:
    matched, _ = CodeMatcher(order).match(usable)
    position = {str(code).strip(): i + 1 for i, code in enumerate(order)}
    values = matched.map(position).astype(float)
    bad = (usable.notna() & matched.isna()).to_numpy()
    typed = Typed(values, "ordinal", False)
    if bad.any():
        typed.problems.append(
            Finding(
                bad,
                f"value(s) {_seen(usable[bad])} are not in variables.{name}.order {list(order)}",
                f"Add them to the order in {config}, or under missing:.",
            )
        )
    return typed


def _numbers(
    name: str,
    usable: pd.Series,
    numbers: pd.Series,
    declared: dict[str, Any],
    decimal_comma: bool,
    config: str,
) -> Typed:
    numbers = numbers.where(usable.notna())
    bad = (usable.notna() & numbers.isna()).to_numpy()
    distinct = set(numbers.dropna().unique())
    kind = declared.get("type") or ("binary" if distinct == {0.0, 1.0} else "numeric")
    typed = Typed(numbers, kind, "type" not in declared)
    if bad.any():
        typed.problems.append(_not_numbers(name, usable[bad], bad, declared, decimal_comma, config))
    if kind == "binary" and not distinct <= {0.0, 1.0}:
        wrong = numbers.notna() & ~numbers.isin([0.0, 1.0])
        typed.problems.append(
            Finding(
                wrong.to_numpy(),
                f"value(s) {_seen(usable[wrong])} are not 0 or 1, and the variable is binary",
                f"Map its codes to 0 and 1 under codes.{name}.",
            )
        )
    if kind == "ordinal" and (numbers.dropna() % 1 != 0).any():
        wrong = (numbers % 1 != 0) & numbers.notna()
        typed.problems.append(
            Finding(
                wrong.to_numpy(),
                f"value(s) {_seen(usable[wrong])} are not whole-number scores",
                f"Correct them, or give variables.{name}.order.",
            )
        )
    _missing_numbers(name, numbers, declared, config, typed)
    return typed


def _not_numbers(
    name: str, cells: pd.Series, mask: np.ndarray, declared: dict, decimal_comma: bool, config: str
) -> Finding:
    if cells.str.match(DECIMAL_COMMA, na=False).any() and not decimal_comma:
        fix = f'They use a decimal comma: set read: {{decimal: ","}} in {config}.'
    elif cells.str.match(NUMBER_WITH_UNIT, na=False).any():
        fix = "Export the number alone, without a unit or words (for example 12, not 12 years)."
    else:
        fix = (
            f"Correct them, or list them under missing: in {config} if they mean missing, or "
            f"declare variables.{name}.type: categorical if the column holds categories."
        )
    why = (
        f"variables.{name} says {declared['type']}"
        if "type" in declared
        else "the rest of the column is numbers"
    )
    return Finding(mask, f"value(s) {_seen(cells)} are not numbers ({why})", fix)


def _missing_numbers(
    name: str, numbers: pd.Series, declared: dict[str, Any], config: str, typed: Typed
) -> None:
    """A missing-value code left in the data: an error where it stands out, else a warning."""
    present = numbers.dropna()
    for code in (c for c in MISSING_NUMBERS if c in set(present.unique())):
        if declared.get("min", -np.inf) <= code <= declared.get("max", np.inf) and (
            "min" in declared or "max" in declared
        ):
            continue  # the declared range says the value is real
        others = present[~present.isin(MISSING_NUMBERS)]
        mask = (numbers == code).to_numpy()
        if len(others) < SHOW_VALUES:
            continue  # too few other values to judge
        low, high = others.min(), others.max()
        q1, q3 = others.quantile([0.25, 0.75])
        spread = max(q3 - q1, (high - low) / 4) or 1.0
        bound = "max" if code > high else "min"
        # Far beyond the others, or negative where nothing else is (an age of -9).
        if code < low - 2 * spread or code > high + 2 * spread or (code < 0 <= low):
            typed.problems.append(
                Finding(
                    mask,
                    f"value {code:g} looks like a missing-value code: it lies far outside the "
                    f"other values ({low:g} to {high:g})",
                    f"If it means missing, add it under missing: in {config}; if it is a real "
                    f"value, say so with variables.{name}.{bound}: {code:g}.",
                )
            )
        else:
            typed.warnings.append(
                Finding(
                    mask,
                    f"value {code:g} is a common missing-value code; it lies among the other "
                    f"values ({low:g} to {high:g}), so it was kept as data",
                    f"If it means missing here, add it under missing: in {config}.",
                )
            )


def level_of(
    name: str,
    values: pd.Series,
    units: dict[str, pd.Series],
    session_level: str,
    declared: str | None,
) -> tuple[str, list[Finding]]:
    """The level a variable describes, and findings where its units disagree.

    units maps each grouping level (outermost first) to the unit id of every session. A
    declared level is checked: the variable must be constant within each of its units. An
    inferred one is the outermost level within whose units it is constant; a variable constant
    within all but a few units of a level is an error, since either the data are wrong or it
    is a characteristic of a lower level and must be declared so.
    """
    if declared is not None:
        if declared == session_level:
            return declared, []
        varies = _varies(values, units[declared])
        if not varies.any():
            return declared, []
        return declared, [
            Finding(
                varies,
                f"takes more than one value within a {declared}",
                f"variables.{name}.level says {declared}: each {declared} "
                "must have one value; correct the file or set the level it "
                "varies at.",
            )
        ]
    for level, unit in units.items():
        varies = _varies(values, unit)
        if not varies.any():
            return level, []
        n_varying = unit[varies].nunique()
        judged = values.groupby(unit).count().gt(1).sum()  # units with two values or more
        if n_varying <= FEW_UNITS and n_varying <= 0.1 * judged:
            return level, [
                Finding(
                    varies,
                    f"is constant within every {level} but {n_varying} of {judged} (their "
                    f"rows are listed): a {level} characteristic that varies within a {level}",
                    f"Correct those rows; or, if it describes a lower level, declare it under "
                    f"variables: in the cohort file, e.g. {name}: {{level: {session_level}}}.",
                )
            ]
    return session_level, []


def _varies(values: pd.Series, unit: pd.Series) -> np.ndarray:
    """(n,) sessions of units within which the variable takes more than one value."""
    return (values.groupby(unit).transform("nunique") > 1).to_numpy()
