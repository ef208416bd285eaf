"""Intraclass correlations of single ratings with F-distribution 95% intervals.

Shrout & Fleiss (1979), Psychological Bulletin 86:420-428, and McGraw & Wong (1996),
Psychological Methods 1:30-46: ICC(1,1) one-way random; ICC(2,1) = ICC(A,1) two-way random,
absolute agreement; ICC(3,1) = ICC(C,1) two-way, consistency. `y` is (units, raters).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from .agreement import TINY

EXHAUSTIVE_RATERS = 12  # up to this many raters every subset is tried for a crossed block
Q = 0.975  # upper quantile for two-sided 95% intervals


@dataclass(frozen=True)
class Icc:
    """An ICC, its 95% interval and a note ("" when nothing needs saying)."""

    estimate: float
    ci_low: float
    ci_high: float
    note: str = ""


UNDEFINED = Icc(math.nan, math.nan, math.nan, "no variation: ICC undefined")


def one_way(y: np.ndarray) -> Icc:
    """ICC(1,1) of units rated by any raters; NaN cells are not rated.

    With unequal numbers of ratings per unit, k is replaced by k0 = (N - sum m_i^2 / N)/(n - 1)
    (Searle 1971, Linear Models, 11.3) in the estimate and the interval, which is then only
    approximate.
    """
    rated = ~np.isnan(y)
    m = rated.sum(axis=1)
    y, rated, m = y[m >= 2], rated[m >= 2], m[m >= 2]
    n, total = len(m), m.sum()
    if n < 2:
        return Icc(math.nan, math.nan, math.nan, "fewer than two units rated twice")
    means = np.where(rated, y, 0).sum(axis=1) / m
    grand = np.where(rated, y, 0).sum() / total
    msb = (m * (means - grand) ** 2).sum() / (n - 1)
    msw = (np.where(rated, y - means[:, None], 0) ** 2).sum() / (total - n)
    k0 = (total - (m**2).sum() / total) / (n - 1)
    note = "" if (m == m[0]).all() else f"unequal ratings per unit: k0 = {k0:.2f}, approximate"
    if msb + (k0 - 1) * msw <= TINY:
        return UNDEFINED
    estimate = (msb - msw) / (msb + (k0 - 1) * msw)
    if msw <= TINY:
        return Icc(estimate, math.nan, math.nan, _join(note, "no within-unit variation"))
    f0, df1, df2 = msb / msw, n - 1, total - n
    fl = f0 / stats.f.ppf(Q, df1, df2)
    fu = f0 * stats.f.ppf(Q, df2, df1)
    return Icc(estimate, (fl - 1) / (fl + k0 - 1), (fu - 1) / (fu + k0 - 1), note)


@dataclass(frozen=True)
class TwoWay:
    """Mean squares of a complete (units, raters) table: rows, columns, residual."""

    n: int
    k: int
    msr: float
    msc: float
    mse: float

    @classmethod
    def of(cls, y: np.ndarray) -> TwoWay:
        """Two-way ANOVA without replication of a complete table."""
        n, k = y.shape
        grand = y.mean()
        ssr = k * ((y.mean(axis=1) - grand) ** 2).sum()
        ssc = n * ((y.mean(axis=0) - grand) ** 2).sum()
        sse = ((y - grand) ** 2).sum() - ssr - ssc
        return cls(n, k, ssr / (n - 1), ssc / (k - 1), max(sse, 0.0) / ((n - 1) * (k - 1)))


def agreement(y: np.ndarray) -> Icc:
    """ICC(2,1) = ICC(A,1) of a complete table; McGraw & Wong (1996) interval (their Table 7)."""
    a = TwoWay.of(y)
    n, k = a.n, a.k
    denominator = a.msr + (k - 1) * a.mse + k * (a.msc - a.mse) / n
    if denominator <= TINY:
        return UNDEFINED
    estimate = (a.msr - a.mse) / denominator
    if a.mse <= TINY or estimate >= 1:
        return Icc(estimate, math.nan, math.nan, "no residual variation: interval undefined")
    # Satterthwaite degrees of freedom of the denominator's mix of mean squares.
    an = k * estimate / (n * (1 - estimate))
    bn = 1 + k * estimate * (n - 1) / (n * (1 - estimate))
    v = (an * a.msc + bn * a.mse) ** 2 / (
        (an * a.msc) ** 2 / (k - 1) + (bn * a.mse) ** 2 / ((n - 1) * (k - 1))
    )
    fl = stats.f.ppf(Q, n - 1, v)
    fu = stats.f.ppf(Q, v, n - 1)
    low = n * (a.msr - fl * a.mse) / (fl * (k * a.msc + (k * n - k - n) * a.mse) + n * a.msr)
    high = n * (fu * a.msr - a.mse) / (k * a.msc + (k * n - k - n) * a.mse + n * fu * a.msr)
    return Icc(estimate, low, high)


def consistency(y: np.ndarray) -> Icc:
    """ICC(3,1) = ICC(C,1) of a complete table, Shrout & Fleiss (1979) interval."""
    a = TwoWay.of(y)
    n, k = a.n, a.k
    if a.msr + (k - 1) * a.mse <= TINY:
        return UNDEFINED
    estimate = (a.msr - a.mse) / (a.msr + (k - 1) * a.mse)
    if a.mse <= TINY:
        return Icc(estimate, math.nan, math.nan, "no residual variation: interval undefined")
    f0, df1, df2 = a.msr / a.mse, n - 1, (n - 1) * (k - 1)
    fl = f0 / stats.f.ppf(Q, df1, df2)
    fu = f0 * stats.f.ppf(Q, df2, df1)
    return Icc(estimate, (fl - 1) / (fl + k - 1), (fu - 1) / (fu + k - 1))


def crossed_block(rated: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(unit mask, rater indices) of the largest fully crossed block of a (units, raters) mask.

    Largest means most ratings (units x raters), ties broken by more units; at least two
    units and two raters. Every subset of raters is tried up to EXHAUSTIVE_RATERS raters,
    beyond that the pairs and all raters only.
    """
    raters = np.flatnonzero(rated.any(axis=0))
    if len(raters) <= EXHAUSTIVE_RATERS:
        subsets = itertools.chain.from_iterable(
            itertools.combinations(raters, size) for size in range(2, len(raters) + 1)
        )
    else:
        subsets = itertools.chain(itertools.combinations(raters, 2), [tuple(raters)])
    best = (0, 0, np.zeros(len(rated), bool), np.array([], int))
    for subset in subsets:
        units = rated[:, list(subset)].all(axis=1)
        size = int(units.sum())
        if size >= 2 and (size * len(subset), size) > best[:2]:
            best = (size * len(subset), size, units, np.array(subset))
    return best[2], best[3]


def _join(*parts: str) -> str:
    return "; ".join(p for p in parts if p)
