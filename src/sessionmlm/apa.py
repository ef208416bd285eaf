"""Numbers as APA style (7th edition, sections 6.36 and 6.40) writes them in tables.

Rounding is half up on the number as written (0.745 -> 0.75), as a reader rounding by hand
would, not the binary float's half-even; values that cannot exceed 1 (p, probabilities,
correlations, ICCs) lose the leading zero; p below .001 is written p < .001; a minus is the
minus sign (U+2212); an empty cell is an em dash.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

MINUS = "\u2212"
EMPTY = "\u2014"  # em dash: no value


def _rounded(value: float, places: int) -> Decimal:
    """The value rounded half up to places decimals, from its shortest form (repr)."""
    return Decimal(repr(float(value))).quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)


def _text(number: Decimal, leading_zero: bool) -> str:
    if number.is_zero():
        number = abs(number)  # no "-0.00"
    text = f"{abs(number):f}"
    if not leading_zero and text.startswith("0."):
        text = text[1:]
    return (MINUS if number < 0 else "") + text


def number(value: float | None, places: int = 2) -> str:
    """A number to places decimals: 2.1 -> "2.10", -0.5 -> "−0.50"; missing -> "—"."""
    if value is None or not math.isfinite(value):
        return EMPTY
    return _text(_rounded(value, places), leading_zero=True)


def bounded(value: float | None, places: int = 2) -> str:
    """A number that cannot exceed 1 in size (a correlation, an ICC): 0.153 -> ".15"."""
    if value is None or not math.isfinite(value):
        return EMPTY
    return _text(_rounded(value, places), leading_zero=False)


def probability(value: float | None, places: int = 3) -> str:
    """A probability or p value: ".034", "< .001", "> .999" (never ".000" or "1.000")."""
    if value is None or not math.isfinite(value):
        return EMPTY
    smallest = Decimal(1).scaleb(-places)
    rounded = _rounded(value, places)
    if rounded < smallest:
        return f"< {_text(smallest, leading_zero=False)}"
    if rounded >= 1:
        return f"> {_text(1 - smallest, leading_zero=False)}"
    return _text(rounded, leading_zero=False)


def interval(low: float | None, high: float | None, places: int = 2, lead: bool = True) -> str:
    """A 95% interval in brackets, "[1.40, 3.13]"; lead=False drops leading zeros (ICCs)."""
    write = number if lead else bounded
    if low is None or high is None or not (math.isfinite(low) and math.isfinite(high)):
        return EMPTY
    return f"[{write(low, places)}, {write(high, places)}]"


def percent(value: float | None) -> str:
    """A share as a whole percentage: 0.4375 -> "44%"."""
    if value is None or not math.isfinite(value):
        return EMPTY
    return f"{number(100 * value, 0)}%"
