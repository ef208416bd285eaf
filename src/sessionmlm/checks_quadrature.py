"""Numba kernels of the posterior checks: integrals over an innermost unit's own effect.

For every kept draw s and innermost unit j, the checks need log E_x[prod_i p(y_i | eta_si(x))]
with x ~ N(0, I_d) the unit's standardised effect, and for every session E_x[expit(eta_si(x))],
where eta_si(x) = a_si + loadings_si' x (checks.unit_loglik says what a and the loadings
hold). Gauss-Hermite nodes (Q, d) and weights (Q,) (posterior.product_rule) turn each into a
sum over Q points. Written in NumPy this makes (draws, sessions, Q) arrays, about 57 million
numbers at 4,000 draws, 680 sessions and Q = 21; these kernels run over the draws in parallel
and keep (units, Q) buffers per draw instead. They multiply probabilities rather than add
log-probabilities (a log per unit, not per point), and split exp(a + loadings . x) into
exp(a) exp(loadings . x) (an exp per session and per node, not per point), falling back to
the stable log form far out: a division or two per point instead of an exp and a log1p.

loadings are (S, n or 1, d): one row per session with random slopes, one per draw without.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from sessionmlm import kernel_cache
from sessionmlm.numba_math import log1mexp as _log1mexp

kernel_cache.register()  # before the first kernel: cached on every kernel file


@nb.njit(cache=True, error_model="numpy", inline="always")
def _log_sigmoid(x):
    """log(1 / (1 + exp(-x))) without overflow or cancellation far out."""
    if x >= 0.0:
        return -math.log1p(math.exp(-x))
    return x - math.log1p(math.exp(x))


# Products of probabilities are folded into a log before they could underflow; a factor
# below this (far-out log-odds) is added as its log, computed stably.
TINY = 1e-150
# exp(a) exp(loadings . x) replaces exp(a + loadings . x) while neither exponent passes this.
SPLIT_LIMIT = 300.0


@nb.njit(cache=True, error_model="numpy", inline="always")
def _dot(loadings, s, row, nodes, q):
    total = 0.0
    for k in range(nodes.shape[1]):
        total += loadings[s, row, k] * nodes[q, k]
    return total


@nb.njit(cache=True, error_model="numpy", inline="always")
def _node_exps(loadings, s, nodes, sign, out):
    """out[q] = exp(sign loadings[s, 0] . nodes[q]); False if an exponent passes SPLIT_LIMIT."""
    for q in range(nodes.shape[0]):
        x = _dot(loadings, s, 0, nodes, q)
        if abs(x) > SPLIT_LIMIT:
            return False
        out[q] = math.exp(sign * x)
    return True


@nb.njit(cache=True, error_model="numpy", inline="always")
def _etas(a, loadings, s, i, nodes, node_exp, split, sign, eta, ex):
    """eta[q] = a[s, i] + loadings[s, i or 0] . nodes[q] and ex[q] = exp(sign eta[q]).

    With loadings shared by the sessions (split: _node_exps succeeded for this draw), ex is
    exp(sign a) node_exp[q]: one exp per session rather than per point.
    """
    base = a[s, i]
    row = i if loadings.shape[1] > 1 else 0
    if split and abs(base) <= SPLIT_LIMIT:
        ea = math.exp(sign * base)
        for q in range(nodes.shape[0]):
            eta[q] = base + _dot(loadings, s, 0, nodes, q)
            ex[q] = ea * node_exp[q]
    else:
        for q in range(nodes.shape[0]):
            eta[q] = base + _dot(loadings, s, row, nodes, q)
            ex[q] = math.exp(sign * eta[q])


@nb.njit(cache=True, error_model="numpy", inline="always")
def _multiply(prod, logs, j, q, factor):
    """prod[j, q] *= factor, folding prod into logs[j, q] first if the product could underflow."""
    if prod[j, q] < TINY:
        logs[j, q] += math.log(prod[j, q])
        prod[j, q] = 1.0
    prod[j, q] *= factor


@nb.njit(cache=True, error_model="numpy", inline="always")
def _unit_log_mean(prod, logs, j, weights, log_w):
    """The log of sum_q w_q prod[j, q] exp(logs[j, q]): one log unless something was folded."""
    folded = False
    total = 0.0
    for q in range(prod.shape[1]):
        folded = folded or logs[j, q] != 0.0
        total += weights[q] * prod[j, q]
    if not folded and total > 0.0:
        return math.log(total)
    top = -np.inf
    for q in range(prod.shape[1]):
        top = max(top, logs[j, q] + math.log(prod[j, q]) + log_w[q])
    if top == -np.inf:
        return top
    total = 0.0
    for q in range(prod.shape[1]):
        total += math.exp(logs[j, q] + math.log(prod[j, q]) + log_w[q] - top)
    return top + math.log(total)


@nb.njit(cache=True, parallel=True, error_model="numpy")
def binary_unit_quadrature(y, a, loadings, unit, n_units, nodes, weights):
    """(S, J) log-likelihood of each unit, its effect integrated out, and (S, n) E_x[expit(eta)].

    y (n,) 0/1, a (S, n), unit (n,) each session's unit in 0..n_units-1. Per point: t =
    exp(-eta), expit(eta) = 1 / (1 + t), P(y = 0) = t / (1 + t).
    """
    S, n = a.shape
    Q = len(weights)
    log_w = np.log(weights)
    loglik = np.empty((S, n_units))
    new_unit = np.empty((S, n))
    for s in nb.prange(S):
        prod = np.ones((n_units, Q))  # (J, Q) product of the unit's session probabilities
        logs = np.zeros((n_units, Q))  # and the logs folded out of it
        node_exp, eta, t = np.empty(Q), np.empty(Q), np.empty(Q)
        split = loadings.shape[1] == 1 and _node_exps(loadings, s, nodes, -1.0, node_exp)
        for i in range(n):
            j = unit[i]
            _etas(a, loadings, s, i, nodes, node_exp, split, -1.0, eta, t)
            p = 0.0
            for q in range(Q):
                r = 1.0 / (1.0 + t[q])  # expit(eta), 0 at t = inf
                p += weights[q] * r
                factor = r if y[i] > 0.5 else t[q] * r
                if factor > TINY:  # false for nan (inf * 0) too
                    _multiply(prod, logs, j, q, factor)
                else:
                    logs[j, q] += _log_sigmoid(eta[q] if y[i] > 0.5 else -eta[q])
            new_unit[s, i] = p
        for j in range(n_units):
            loglik[s, j] = _unit_log_mean(prod, logs, j, weights, log_w)
    return loglik, new_unit


@nb.njit(cache=True, parallel=True, error_model="numpy")
def ordinal_unit_quadrature(y, a, loadings, thresholds, unit, n_units, nodes, weights):
    """(S, J) log-likelihood of each unit under the cumulative logit, its effect integrated out.

    y (n,) category indices 0..K-1, thresholds (S, K-1) increasing; logit P(y <= k) =
    thresholds_k - eta, P(y = k) = sigmoid(c_k - eta) sigmoid(eta - c_{k-1})
    (1 - exp(c_{k-1} - c_k)) as ordinal_checks.ordinal_loglik: no difference of
    probabilities. With u = exp(eta): sigmoid(c_k - eta) = 1 / (1 + u exp(-c_k)) and
    sigmoid(eta - c_{k-1}) = u / (u + exp(c_{k-1})).
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
        widths = np.exp(gaps)
        below = np.exp(-thresholds[s])  # exp(-c_k)
        above = np.exp(thresholds[s])  # exp(c_k)
        prod = np.ones((n_units, Q))
        logs = np.zeros((n_units, Q))
        node_exp, eta, u = np.empty(Q), np.empty(Q), np.empty(Q)
        split = loadings.shape[1] == 1 and _node_exps(loadings, s, nodes, 1.0, node_exp)
        for i in range(n):
            j = unit[i]
            c = y[i]
            _etas(a, loadings, s, i, nodes, node_exp, split, 1.0, eta, u)
            for q in range(Q):
                factor = widths[c]
                if c < cuts:
                    factor /= 1.0 + u[q] * below[c]
                if c > 0:
                    factor *= u[q] / (u[q] + above[c - 1])
                if factor > TINY:  # false for nan and for overflows that gave 0
                    _multiply(prod, logs, j, q, factor)
                else:
                    term = gaps[c]
                    if c < cuts:
                        term += _log_sigmoid(thresholds[s, c] - eta[q])
                    if c > 0:
                        term += _log_sigmoid(eta[q] - thresholds[s, c - 1])
                    logs[j, q] += term
        for j in range(n_units):
            loglik[s, j] = _unit_log_mean(prod, logs, j, weights, log_w)
    return loglik


@nb.njit(cache=True, parallel=True, error_model="numpy")
def new_unit_quadrature(a, loadings, nodes, weights):
    """(S, n) E_x[expit(a + loadings . x)]: each session's probability for a new unit."""
    S, n = a.shape
    Q = len(weights)
    out = np.empty((S, n))
    for s in nb.prange(S):
        node_exp, eta, t = np.empty(Q), np.empty(Q), np.empty(Q)
        split = loadings.shape[1] == 1 and _node_exps(loadings, s, nodes, -1.0, node_exp)
        for i in range(n):
            _etas(a, loadings, s, i, nodes, node_exp, split, -1.0, eta, t)
            p = 0.0
            for q in range(Q):
                p += weights[q] / (1.0 + t[q])
            out[s, i] = p
    return out
