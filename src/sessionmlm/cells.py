"""Cells as exports write them: numbers in the spellings exports use, codes, and what looks missing.

One rule for codes (documented in config/README.md under `codes`): cells and codes are compared
after trimming spaces, a whole number written as a float ("1.0") is that number, and letter
case is ignored unless two codes of the same list differ only by case.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

FLOAT_WHOLE = r"^[+-]?\d+\.0+$"  # "1.0", "-99.00": a whole number exported as a float
DECIMAL_COMMA = r"^[+-]?\d*,\d+$"  # "12,5"
NUMBER_WITH_UNIT = r"^[+-]?\d+(?:[.,]\d+)?\s*[A-Za-z%]"  # "12 years", "40h", "5%"
DATE = r"^(?:\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[/.]\d{1,2}[/.]\d{2,4})"

# Spreadsheet formula errors: never data (#N/A, often typed on purpose, counts as missing text).
EXCEL_ERRORS = frozenset(
    {"#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#NULL!", "#SPILL!", "#CALC!"}
)
# Text that statistical packages and people write for "missing" (compared in upper case).
MISSING_TEXT = frozenset(
    {
        "NA",
        "N/A",
        "N.A.",
        "#N/A",
        "NULL",
        "#NULL!",
        "NIL",
        "NONE",
        "NAN",
        ".",
        "-",
        "--",
        "?",
        "MISSING",
        "SYSMIS",
    }
)
# Numbers that SPSS/Stata users and coding manuals use for "missing" or "not applicable".
MISSING_NUMBERS = (-9999.0, -999.0, -99.0, -98.0, -9.0, 99.0, 98.0, 999.0, 9999.0)


def as_code(value: Any) -> str:
    """A code from YAML (1, 1.0, True, 'Y ') as the text a cell holding it would have."""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def whole_floats(cells: pd.Series) -> tuple[pd.Series, int]:
    """Cells with whole numbers written as floats ("1.0") rewritten as integers ("1")."""
    codes, uniques = pd.factorize(cells)  # the distinct cells: few, however many sessions
    uniques = pd.Series(uniques, dtype=object)
    whole = uniques.str.match(FLOAT_WHOLE).fillna(False).to_numpy(bool)
    if not whole.any():
        return cells, 0
    uniques[whole] = uniques[whole].str.replace(r"\.0+$", "", regex=True)
    out = pd.Series(uniques.to_numpy()[codes], index=cells.index, dtype=cells.dtype)
    out[codes < 0] = pd.NA
    return out, int(np.isin(codes, np.flatnonzero(whole)).sum())


def to_numbers(cells: pd.Series, decimal_comma: bool = False) -> pd.Series:
    """Each cell as a finite float, NaN where it is not a number (or is inf)."""
    text = cells.str.replace(",", ".", regex=False) if decimal_comma else cells
    numbers = pd.to_numeric(text, errors="coerce").astype(float)
    return numbers.where(np.isfinite(numbers))


class CodeMatcher:
    """Match cells against a list of codes under the one rule above.

    `match` returns, per cell, the code as written in the config (or NA) and whether the match
    needed the case to be ignored, so the cohort's validation can record it.
    """

    def __init__(self, codes: Iterable[Any]):
        self.exact = {as_code(c): c for c in codes}
        folded: dict[str, list[str]] = {}
        for text in self.exact:
            folded.setdefault(text.casefold(), []).append(text)
        self.case_sensitive = any(len(v) > 1 for v in folded.values())
        self.folded = {} if self.case_sensitive else {k: v[0] for k, v in folded.items()}

    def match(self, cells: pd.Series) -> tuple[pd.Series, np.ndarray]:
        """Config code (as text) of each cell, NA where none matches; and the case-folded mask.

        Works on the distinct cells, so a million sessions cost little more than their codes.
        """
        mapping, folded = {}, []
        for cell in pd.unique(cells.dropna()):
            if cell in self.exact:
                mapping[cell] = cell
            elif self.folded and cell.casefold() in self.folded:
                mapping[cell] = self.folded[cell.casefold()]
                folded.append(cell)
        if not mapping:
            return pd.Series(pd.NA, index=cells.index, dtype="object"), np.zeros(len(cells), bool)
        return cells.map(mapping), cells.isin(folded).to_numpy()


def recode(cells: pd.Series, codes: dict[Any, Any]) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """Cells (text, NA where missing) through a `codes:` mapping, under the one rule above.

    Returns the values as text (NA where missing or not listed), the (n,) mask of cells the
    mapping does not list, and the (n,) mask of cells matched ignoring case.
    """
    codes = {as_code(k): v for k, v in codes.items()}
    matched, folded = CodeMatcher(codes).match(cells)
    unlisted = (cells.notna() & matched.isna()).to_numpy()
    return matched.map(lambda c: as_code(codes[c]), na_action="ignore"), unlisted, folded
