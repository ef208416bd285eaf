"""Percentile bootstrap over units, written as resampling weights so statistics stay vectorised."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

SEED = 20261201
N_BOOT = 1000


def unit_weights(n_units: int, n_boot: int, seed: int) -> np.ndarray:
    """(n_boot, units): how many times each unit is drawn in each resample of n_units units."""
    drawn = np.random.default_rng(seed).integers(n_units, size=(n_boot, n_units))
    # Counting draws per resample with one bincount is far faster than rng.multinomial.
    offsets = drawn + n_units * np.arange(n_boot)[:, None]
    return np.bincount(offsets.ravel(), minlength=n_boot * n_units).reshape(n_boot, n_units) * 1.0


@dataclass(frozen=True)
class Interval:
    """A percentile interval and how many resamples gave no value (the statistic undefined)."""

    low: float
    high: float
    undefined: int


def percentile_interval(
    statistic: Callable[[np.ndarray], np.ndarray], weights: np.ndarray
) -> Interval:
    """2.5% and 97.5% percentiles of the statistic over the resamples where it is defined."""
    draws = statistic(weights)
    finite = draws[np.isfinite(draws)]
    undefined = len(draws) - len(finite)
    if len(finite) == 0:
        return Interval(np.nan, np.nan, undefined)
    low, high = np.percentile(finite, [2.5, 97.5])
    return Interval(float(low), float(high), undefined)
