"""Numba kernels of the posterior checks: integrals over an innermost unit's own effect.

For every kept draw s and innermost unit j, the checks need log E_x[prod_i p(y_i | eta_si(x))]
with x ~ N(0, I_d) the unit's standardised effect, and for every session E_x[expit(eta_si(x))],
where eta_si(x) = a_si + loadings_si' x (checks.unit_loglik says what a and the loadings
hold). Gauss-Hermite nodes (Q, d) and weights (Q,) (posterior.product_rule) turn each into a
sum over Q points. Written in NumPy this makes (draws, sessions, Q) arrays, about 57 million
numbers at 4,000 draws, 680 sessions and Q = 21; these kernels run over the draws in parallel
and keep one (units, Q) buffer per draw instead, with one exp and one log1p per point.

loadings are (S, n or 1, d): one row per session with random slopes, one per draw without.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np


@nb.njit(cache=True, error_model="numpy", inline="always")
def _log_sigmoid(x):
    """log(1 / (1 + exp(-x))) without overflow or cancellation far out."""
    if x >= 0.0:
        return -math.log1p(math.exp(-x))
    return x - math.log1p(math.exp(x))


@nb.njit(cache=True, error_model="numpy", inline="always")
def _log1mexp(x):
    """log(1 - exp(x)) for x < 0, accurate near 0 and far below it (Maechler 2012)."""
    if x > -math.log(2.0):
        return math.log(-math.expm1(x))
    return math.log1p(-math.exp(x))


@nb.njit(cache=True, error_model="numpy", inline="always")
def _eta(a, loadings, s, i, nodes, q):
    """a[s, i] + loadings[s, i or 0] . nodes[q]."""
    row = i if loadings.shape[1] > 1 else 0
    eta = a[s, i]
    for k in range(nodes.shape[1]):
        eta += loadings[s, row, k] * nodes[q, k]
    return eta


@nb.njit(cache=True, error_model="numpy", inline="always")
def _log_mean(acc, j, log_w):
    """The log of sum_q w_q exp(acc[j, q]), shifted by the largest term."""
    top = -np.inf
    for q in range(acc.shape[1]):
        top = max(top, acc[j, q] + log_w[q])
    if top == -np.inf:
        return top
    total = 0.0
    for q in range(acc.shape[1]):
        total += math.exp(acc[j, q] + log_w[q] - top)
    return top + math.log(total)


@nb.njit(cache=True, parallel=True, error_model="numpy")
def binary_unit_quadrature(y, a, loadings, unit, n_units, nodes, weights):
    """(S, J) log-likelihood of each unit, its effect integrated out, and (S, n) E_x[expit(eta)].

    y (n,) 0/1, a (S, n), unit (n,) each session's unit in 0..n_units-1.
    """
    S, n = a.shape
    Q = len(weights)
    log_w = np.log(weights)
    loglik = np.empty((S, n_units))
    new_unit = np.empty((S, n))
    for s in nb.prange(S):
        acc = np.zeros((n_units, Q))  # (J, Q) sum of the unit's session log-likelihoods
        for i in range(n):
            j = unit[i]
            sign = 2.0 * y[i] - 1.0
            p = 0.0
            for q in range(Q):
                eta = _eta(a, loadings, s, i, nodes, q)
                e = math.exp(-abs(eta))  # one exp for both: expit(eta) and log expit(sign eta)
                p += weights[q] * (1.0 / (1.0 + e) if eta >= 0.0 else e / (1.0 + e))
                acc[j, q] -= math.log1p(e) + max(0.0, -sign * eta)
            new_unit[s, i] = p
        for j in range(n_units):
            loglik[s, j] = _log_mean(acc, j, log_w)
    return loglik, new_unit


@nb.njit(cache=True, parallel=True, error_model="numpy")
def ordinal_unit_quadrature(y, a, loadings, thresholds, unit, n_units, nodes, weights):
    """(S, J) log-likelihood of each unit under the cumulative logit, its effect integrated out.

    y (n,) category indices 0..K-1, thresholds (S, K-1) increasing; logit P(y <= k) =
    thresholds_k - eta, P(y = k) = sigmoid(c_k - eta) sigmoid(eta - c_{k-1})
    (1 - exp(c_{k-1} - c_k)) as ordinal_checks.ordinal_loglik: no log of a difference.
    """
    S, n = a.shape
    Q = len(weights)
    cuts = thresholds.shape[1]
    log_w = np.log(weights)
    loglik = np.empty((S, n_units))
    for s in nb.prange(S):
        gaps = np.zeros(cuts + 1)  # each category's width term, 0 for the end categories
        for k in range(1, cuts):
            gaps[k] = _log1mexp(thresholds[s, k - 1] - thresholds[s, k])
        acc = np.zeros((n_units, Q))
        for i in range(n):
            j = unit[i]
            c = y[i]
            for q in range(Q):
                eta = _eta(a, loadings, s, i, nodes, q)
                term = gaps[c]
                if c < cuts:
                    term += _log_sigmoid(thresholds[s, c] - eta)
                if c > 0:
                    term += _log_sigmoid(eta - thresholds[s, c - 1])
                acc[j, q] += term
        for j in range(n_units):
            loglik[s, j] = _log_mean(acc, j, log_w)
    return loglik


@nb.njit(cache=True, parallel=True, error_model="numpy")
def new_unit_quadrature(a, loadings, nodes, weights):
    """(S, n) E_x[expit(a + loadings . x)]: each session's probability for a new unit."""
    S, n = a.shape
    out = np.empty((S, n))
    for s in nb.prange(S):
        for i in range(n):
            p = 0.0
            for q in range(len(weights)):
                eta = _eta(a, loadings, s, i, nodes, q)
                if eta >= 0.0:
                    p += weights[q] / (1.0 + math.exp(-eta))
                else:
                    e = math.exp(eta)
                    p += weights[q] * e / (1.0 + e)
            out[s, i] = p
    return out
