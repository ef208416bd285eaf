"""Small numba functions shared by the package's kernels (bayes density, posterior checks)."""

from __future__ import annotations

import math

import numba as nb

from sessionmlm import kernel_cache

kernel_cache.register()  # before the first kernel: cached on every kernel file


@nb.njit(cache=True, error_model="numpy", inline="always")
def log1mexp(x):
    """log(1 - exp(x)) for x < 0, accurate near 0 and far below it (Maechler 2012)."""
    if x > -math.log(2.0):
        return math.log(-math.expm1(x))
    return math.log1p(-math.exp(x))
