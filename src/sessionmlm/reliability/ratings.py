"""One coded item's ratings checked against its scale and held as positions on that scale."""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import UserError

KINDS = ("binary", "nominal", "ordinal")
MISSING = -1  # position of a cell the rater did not rate
SHOWN_ROWS = 5  # rows named per bad value in an error message


@dataclass(frozen=True)
class Ratings:
    """Ratings of the units that at least one rater rated.

    `codes` is (units, raters): the position of each rating in `scale`, MISSING where that rater
    did not rate that unit. `values` is (categories,): the number each position stands for in
    distance-based statistics (interval alpha, ICC), the codes themselves when all are numbers.
    """

    codes: np.ndarray
    scale: tuple
    kind: str
    raters: tuple[str, ...]
    values: np.ndarray
    values_are_positions: bool
    single_rated: int  # units with exactly one rating (in `codes`)
    unrated: int  # rows of the input with no rating at all (not in `codes`)

    @property
    def counts(self) -> np.ndarray:
        """(units, categories): how many raters put each unit in each category."""
        q = len(self.scale)
        rated = self.codes != MISSING
        out = np.zeros((self.codes.shape[0], q))
        for k in range(q):
            out[:, k] = ((self.codes == k) & rated).sum(axis=1)
        return out

    @property
    def per_unit(self) -> np.ndarray:
        """(units,): number of ratings of each unit."""
        return (self.codes != MISSING).sum(axis=1)

    @property
    def paired(self) -> Ratings:
        """The units rated at least twice, the only ones that show agreement."""
        keep = self.per_unit >= 2
        return Ratings(self.codes[keep], self.scale, self.kind, self.raters, self.values,
                       self.values_are_positions, 0, self.unrated)  # fmt: skip

    def raters_used(self) -> int:
        """Distinct raters with at least one rating among these units."""
        return int((self.codes != MISSING).any(axis=0).sum())


def validate_scale(scale: list, kind: str) -> tuple:
    """The scale as a tuple; an error names an unknown kind, repeated or missing codes."""
    if kind not in KINDS:
        raise UserError(f"reliability: kind {kind!r} is not one of {', '.join(sorted(KINDS))}.")
    codes = tuple(scale)
    if any(pd.isna(code) for code in codes):
        raise UserError(f"reliability: the scale {list(codes)} has a missing code.")
    repeated = sorted({str(c) for c in codes if codes.count(c) > 1})
    if repeated:
        raise UserError(f"reliability: the scale {list(codes)} repeats {', '.join(repeated)}.")
    if len(codes) < 2:
        raise UserError(f"reliability: the scale {list(codes)} needs at least two codes.")
    if kind == "binary" and len(codes) != 2:
        raise UserError(f"reliability: a binary item has two codes, the scale {list(codes)} "
                        f"has {len(codes)}; declare it nominal or ordinal.")  # fmt: skip
    return codes


def shown(value: object) -> str:
    """A rating as the user wrote it: 7 for a 7 stored as 7.0 next to missing cells."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        number = float(value)
        return str(int(number)) if number.is_integer() else str(number)
    return repr(value)


def read_ratings(ratings: pd.DataFrame, scale: list, kind: str) -> Ratings:
    """Check every rating against the scale (all problems at once) and encode positions."""
    if not isinstance(ratings, pd.DataFrame):
        raise UserError("reliability: ratings must be a table with one column per rater.")
    codes = validate_scale(scale, kind)
    if ratings.columns.duplicated().any():
        twice = sorted({str(c) for c in ratings.columns[ratings.columns.duplicated()]})
        raise UserError(f"reliability: rater columns appear twice: {', '.join(twice)}.")
    position = {code: k for k, code in enumerate(codes)}
    matrix = np.full(ratings.shape, MISSING, dtype=int)
    bad: dict[str, list[str]] = {}
    for j, column in enumerate(ratings.columns):
        for i, (unit, value) in enumerate(ratings[column].items()):
            if pd.isna(value):
                continue
            if value in position:
                matrix[i, j] = position[value]
            else:
                bad.setdefault(shown(value), []).append(f"{unit} ({column})")
    if bad:
        listed = "; ".join(
            f"{value} at {', '.join(places[:SHOWN_ROWS])}"
            + (f" and {len(places) - SHOWN_ROWS} more" if len(places) > SHOWN_ROWS else "")
            for value, places in sorted(bad.items())
        )
        raise UserError(f"reliability: ratings outside the scale {list(codes)}: {listed}. "
                        "Recode them to the item's codes or declare them missing.")  # fmt: skip
    rated = (matrix != MISSING).sum(axis=1)
    numeric = all(isinstance(c, numbers.Real) for c in codes)
    values = np.array(codes, dtype=float) if numeric else np.arange(len(codes), dtype=float)
    return Ratings(
        codes=matrix[rated >= 1],
        scale=codes,
        kind=kind,
        raters=tuple(str(c) for c in ratings.columns),
        values=values,
        values_are_positions=not numeric,
        single_rated=int((rated == 1).sum()),
        unrated=int((rated == 0).sum()),
    )
