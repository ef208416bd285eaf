"""Normal-theory constants and intervals shared by engines, checks and reports."""

from __future__ import annotations

import math

Z95 = 1.959963984540054  # the standard normal's 97.5% quantile: two-sided 95% intervals


def wilson(p: float, n: int) -> tuple[float, float]:
    """Wilson 95% interval of a proportion p observed in n trials (NaNs when n is 0)."""
    if n == 0 or not math.isfinite(p):
        return math.nan, math.nan
    centre = (p + Z95**2 / (2 * n)) / (1 + Z95**2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n**2)) / (1 + Z95**2 / n)
    return centre - half, centre + half
