"""Krippendorff's alpha from the coincidence matrix, for nominal, ordinal, interval, ratio data.

Krippendorff (2011), "Computing Krippendorff's alpha-reliability", and Krippendorff (2019),
Content Analysis, 4th ed., ch. 12. Values of units rated once are not pairable and drop out.
Like the coefficients in agreement.py, each function takes `counts` (units, categories) and
`weights` (draws, units) and returns one alpha per draw.
"""

from __future__ import annotations

import numpy as np

from .agreement import ratio

LEVELS = ("nominal", "ordinal", "interval", "ratio")


def coincidences(counts: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(draws, q, q): o_ck = sum_u (number of c-k pairs in unit u) / (m_u - 1)."""
    m = counts.sum(axis=1)
    # (units, q, q): each unit's pairs of distinct ratings, a rating never paired with itself.
    pairs = counts[:, :, None] * counts[:, None, :]
    pairs -= np.einsum("uk,kl->ukl", counts, np.eye(counts.shape[1]))
    per_unit = np.where((m >= 2)[:, None, None], pairs, 0.0)
    scaled = per_unit / np.maximum(m - 1, 1)[:, None, None]
    q = counts.shape[1]
    return (weights @ scaled.reshape(len(m), q * q)).reshape(-1, q, q)


def distances(level: str, marginals: np.ndarray, values: np.ndarray) -> np.ndarray:
    """(draws, q, q): the squared difference delta^2_ck of the level of measurement.

    The ordinal metric, (sum_{g=c..k} n_g - (n_c + n_k)/2)^2, is the squared difference of
    the categories' mid-ranks S_c - n_c/2 (S the cumulative marginals), computed that way.
    The ratio metric, ((c - k) / (c + k))^2, needs values with a true zero; 0 with 0 is 0.
    """
    draws, q = marginals.shape
    if level == "nominal":
        return np.broadcast_to(1.0 - np.eye(q), (draws, q, q))
    if level == "ordinal":
        points = np.cumsum(marginals, axis=1) - marginals / 2
    elif level == "interval":
        points = np.broadcast_to(values, (draws, q))
    elif level == "ratio":
        total = values[:, None] + values[None, :]
        difference = values[:, None] - values[None, :]
        share = np.divide(difference, total, out=np.zeros((q, q)), where=total != 0)
        return np.broadcast_to(share**2, (draws, q, q))
    else:
        raise ValueError(f"level {level!r} is not one of {', '.join(LEVELS)}")
    return (points[:, :, None] - points[:, None, :]) ** 2


def krippendorff_alpha(
    counts: np.ndarray, weights: np.ndarray, level: str, values: np.ndarray
) -> np.ndarray:
    """(draws,): alpha = 1 - (n - 1) sum o_ck d_ck / sum n_c n_k d_ck; NaN without variation."""
    o = coincidences(counts, weights)
    marginals = o.sum(axis=2)
    n = marginals.sum(axis=1)
    d = distances(level, marginals, values)
    observed = (o * d).sum(axis=(1, 2))
    expected = (marginals[:, :, None] * marginals[:, None, :] * d).sum(axis=(1, 2))
    return 1 - ratio((n - 1) * observed, expected)
