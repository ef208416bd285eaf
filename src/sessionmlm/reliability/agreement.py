"""Percent agreement and the kappa-type coefficients: Cohen's, Fleiss' and Gwet's AC1.

The multi-rater coefficients follow Gwet (2014, Handbook of Inter-Rater Reliability, 4th ed.,
ch. 2 and 5), which allows a different number of raters per unit. Each takes `counts` (units,
categories), how many raters put each unit in each category, and `weights` (draws, units), how
often each unit enters a (bootstrap) sample; a row of ones gives the estimate itself.
"""

from __future__ import annotations

import numpy as np
from statsmodels.stats.inter_rater import cohens_kappa as sm_cohens_kappa
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss_kappa

from ..intervals import Z95

TINY = 1e-12  # a chance agreement this close to 1 leaves nothing to correct for


def ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """The quotient, NaN where the denominator is (numerically) zero."""
    out = np.full(np.broadcast(numerator, denominator).shape, np.nan)
    np.divide(numerator, denominator, out=out, where=np.abs(denominator) > TINY)
    return out


def unit_agreement(counts: np.ndarray) -> np.ndarray:
    """(units,): share of agreeing rater pairs in each unit, 0 for a unit rated once."""
    m = counts.sum(axis=1)
    pairs = m * (m - 1)
    return np.where(pairs > 0, ratio((counts * (counts - 1)).sum(axis=1), pairs), 0.0)


def percent_agreement(counts: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(draws,): mean pairwise agreement over the units rated at least twice."""
    paired = (counts.sum(axis=1) >= 2).astype(float)
    return ratio(weights @ unit_agreement(counts), weights @ paired)


def classification(counts: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(draws, categories): Gwet's pi_k, the mean share of a unit's ratings in category k.

    Every rated unit counts here, a unit rated once too, as in Gwet (2014, eq. 2.9).
    """
    shares = counts / counts.sum(axis=1, keepdims=True)
    return ratio(weights @ shares, weights.sum(axis=1, keepdims=True))


def chance_fleiss(pi: np.ndarray) -> np.ndarray:
    """(draws,): chance agreement of Fleiss' kappa, sum_k pi_k^2."""
    return (pi**2).sum(axis=1)


def chance_ac1(pi: np.ndarray) -> np.ndarray:
    """(draws,): chance agreement of Gwet's AC1, sum_k pi_k (1 - pi_k) / (q - 1)."""
    return (pi * (1 - pi)).sum(axis=1) / (pi.shape[1] - 1)


def fleiss_kappa(counts: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(draws,): Fleiss' kappa generalised to unequal numbers of raters (Gwet 2014, 5.2)."""
    pe = chance_fleiss(classification(counts, weights))
    return ratio(percent_agreement(counts, weights) - pe, 1 - pe)


def gwet_ac1(counts: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(draws,): Gwet's AC1; its chance agreement is below 1 whenever q >= 2."""
    pe = chance_ac1(classification(counts, weights))
    return ratio(percent_agreement(counts, weights) - pe, 1 - pe)


def fleiss_interval(counts: np.ndarray) -> tuple[float, float, float, bool]:
    """Fleiss' kappa, its 95% interval and whether statsmodels' Fleiss (1971) formula applied.

    The standard error is Gwet's (2008, Psychometrika 73:407-430; 2014, eq. 5.17) linearisation
    over units, with no finite-population correction. With the same number of raters on every
    unit the estimate is statsmodels' Fleiss (1971) kappa, which Gwet's form equals then.
    """
    ones = np.ones((1, counts.shape[0]))
    m = counts.sum(axis=1)
    n, paired = len(m), m >= 2
    pi = classification(counts, ones)[0]
    pe = chance_fleiss(pi[None, :])[0]
    if 1 - pe <= TINY or n < 2 or not paired.any():
        return np.nan, np.nan, np.nan, False
    balanced = bool((m == m[0]).all() and m[0] >= 2)
    kappa = float(sm_fleiss_kappa(counts)) if balanced else float(fleiss_kappa(counts, ones)[0])
    # Unit i's share of kappa and the correction for estimating pi from the same units.
    kappa_i = (n / paired.sum()) * (unit_agreement(counts) - pe * paired) / (1 - pe)
    pe_i = (counts / m[:, None]) @ pi
    linear = kappa_i - 2 * (1 - kappa) * (pe_i - pe) / (1 - pe)
    se = float(np.sqrt(((linear - kappa) ** 2).sum() / (n * (n - 1))))
    return kappa, kappa - Z95 * se, kappa + Z95 * se, balanced


def cohen_table(codes: np.ndarray, q: int) -> np.ndarray:
    """(q, q) cross-table of two raters' category positions, (units, 2) -> counts."""
    table = np.zeros((q, q))
    np.add.at(table, (codes[:, 0], codes[:, 1]), 1)
    return table


def cohen_interval(codes: np.ndarray, q: int) -> tuple[float, float, float]:
    """Cohen's kappa of two raters and its 95% interval (asymptotic SE, statsmodels).

    NaNs when chance agreement is 1 (both raters used one and the same category only).
    """
    table = cohen_table(codes, q)
    total = table.sum()
    pe = float((table.sum(axis=0) * table.sum(axis=1)).sum() / total**2)
    if 1 - pe <= TINY:
        return np.nan, np.nan, np.nan
    result = sm_cohens_kappa(table)
    se = float(np.sqrt(max(result.var_kappa, 0.0)))
    kappa = float(result.kappa)
    return kappa, kappa - Z95 * se, kappa + Z95 * se
