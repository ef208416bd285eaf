"""The random-intercept models' log density and its gradient, written out for numba.

The same model as model.py's build_model (binary, weighted binary and ordinal outcomes,
random intercepts on any number of nested or crossed levels), in the unconstrained space
PyMC samples: sigma as log(sigma) with its log-Jacobian, ordered thresholds as
x_0 = c_0, x_i = log(c_i - c_{i-1}) with log-Jacobian sum x_{1:}. Every prior keeps its
normalising constants, so logp equals PyMC's model.logp() (tests/test_bayes_density.py).

Compiled with numba's on-disk cache: a new process loads the machine code instead of
compiling it again, which PyMC's generated function cannot (it "uses dynamic globals").

The unconstrained vector, in PyMC's order of free variables (positions from Layout):
alpha (binary only), gamma (p,), log sigma (K,), z_k (J_k,) per level, thresholds (ordinal).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from sessionmlm import kernel_cache
from sessionmlm.numba_math import log1mexp as _log1mexp

kernel_cache.register()  # before the first kernel: cached on every kernel file

HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)
HALF_NORMAL, HALF_STUDENT_T = 0, 1  # the group_sd prior's family, as the kernels read it

kernel = njit(cache=True, nogil=True, error_model="numpy")


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _sigmoid_parts(t):
    """(min(t, 0), 1 + exp(-|t|), sigmoid(-t)), sharing one exp; stable for any t.

    log sigmoid(t) = min(t, 0) - log(1 + exp(-|t|)), and sigmoid(-t) is its derivative. The
    caller takes the log of a product of many 1 + exp(-|t|) (each in (1, 2]) at once: one
    log per LOG_BLOCK sessions instead of one log1p each, a third of the time at 10^5
    sessions, with an absolute error near 1e-16 per term.
    """
    e = math.exp(-abs(t))
    inverse = 1.0 / (1.0 + e)
    if t >= 0.0:
        return 0.0, 1.0 + e, e * inverse
    return t, 1.0 + e, inverse


LOG_BLOCK = 32  # terms multiplied before one log: at most 2^33, far from overflow


@kernel
def _normal(values, mu, sd, grad, start):
    """Sum of Normal(mu, sd) log densities of values; adds d/dvalues to grad[start:]."""
    total = 0.0
    for j in range(values.shape[0]):
        r = (values[j] - mu) / sd
        total += -0.5 * r * r - math.log(sd) - HALF_LOG_2PI
        grad[start + j] += -r / sd
    return total


@kernel
def _group_sds(x, grad, sd_start, n_levels, prior):
    """Log prior of sigma = exp(x[sd_start:]) plus log-Jacobian; adds its gradient in x.

    prior = (family, sigma, nu): HalfNormal(sigma) or HalfStudentT(nu, sigma).
    """
    family, s, nu = prior[0], prior[1], prior[2]
    total = 0.0
    for k in range(n_levels):
        u = x[sd_start + k]
        sigma = math.exp(u)
        if family == HALF_NORMAL:
            r = sigma / s
            total += 0.5 * math.log(2.0 / math.pi) - math.log(s) - 0.5 * r * r + u
            grad[sd_start + k] += 1.0 - r * r
        else:
            q = sigma * sigma / (nu * s * s)
            total += (
                math.log(2.0) + math.lgamma((nu + 1.0) / 2.0) - math.lgamma(nu / 2.0)
                - 0.5 * math.log(nu * math.pi * s * s) - (nu + 1.0) / 2.0 * math.log1p(q) + u
            )  # fmt: skip
            grad[sd_start + k] += 1.0 - (nu + 1.0) * q / (1.0 + q)
    return total


# reassoc: sums over the predictors may be vectorised (bit-identical from run to run still).
@njit(cache=True, nogil=True, error_model="numpy", fastmath={"reassoc", "contract"})
def _sessions(x, X, units, z_start, sd_start, has_alpha, grad, y, w, ordinal, y_index, c, d_c):
    """The sessions' log-likelihood at x, in one pass; adds its gradient to grad (and d_c).

    One pass, not eta first and the gradient after: at 10^5 sessions the predictor matrix
    does not fit in cache, and reading it once instead of twice halves the time.
    Binary when c is empty (y, w: outcome and row weights); else ordinal, as ordinal_logp.
    """
    n, p = X.shape
    n_levels = units.shape[0]
    first = sd_start - p
    sigma = np.exp(x[sd_start : sd_start + n_levels])
    gamma = x[first:sd_start].copy()
    g_gamma = np.zeros(p)
    d_sigma = np.zeros(n_levels)
    alpha = x[0] if has_alpha else 0.0
    g_alpha = 0.0
    loglik = 0.0
    product = 1.0  # of the unweighted terms' 1 + exp(-|t|) not yet logged
    in_product = 0
    binary = c.shape[0] == 0
    for i in range(n):
        eta = alpha
        for j in range(p):
            eta += X[i, j] * gamma[j]
        for k in range(n_levels):
            eta += sigma[k] * x[z_start[k] + units[k, i]]
        if binary:
            # y log sigmoid(eta) + (1 - y) log sigmoid(-eta) = log sigmoid(eta) - (1 - y) eta
            base, q, slope = _sigmoid_parts(eta)
            if w[i] == 1.0:  # unweighted rows: into the product, logged in blocks
                product *= q
                in_product += 1
                loglik += base - (1.0 - y[i]) * eta
            else:
                loglik += w[i] * (base - math.log(q) - (1.0 - y[i]) * eta)
            g = w[i] * (slope - (1.0 - y[i]))
        else:
            g = 0.0
            for side in range(2):  # the upper threshold, then the lower
                f = ordinal[side, i]  # 0 where the category has no such threshold
                cut = c[y_index[side, i]]
                base, q, slope = _sigmoid_parts(cut - eta if side == 0 else eta - cut)
                if f == 1.0:
                    product *= q
                    in_product += 1
                    loglik += base
                elif f != 0.0:
                    loglik += f * (base - math.log(q))
                d = f * slope
                if side == 0:
                    d_c[y_index[0, i]] += d
                    g -= d
                else:
                    d_c[y_index[1, i]] -= d
                    g += d
        if in_product >= LOG_BLOCK:
            loglik -= math.log(product)
            product = 1.0
            in_product = 0
        g_alpha += g
        for j in range(p):
            g_gamma[j] += X[i, j] * g
        for k in range(n_levels):
            at = z_start[k] + units[k, i]
            grad[at] += sigma[k] * g
            d_sigma[k] += x[at] * g
    if has_alpha:
        grad[0] += g_alpha
    for j in range(p):
        grad[first + j] += g_gamma[j]
    for k in range(n_levels):
        grad[sd_start + k] += d_sigma[k] * sigma[k]
    return loglik - math.log(product)


@kernel
def _effects_prior(x, grad, p, z_start, sd_start, n_levels, end, coefficients, group_sd):
    """Log priors of gamma, sigma (with Jacobian) and the z's (standard normal, non-centred)."""
    mu, sd = coefficients[0], coefficients[1]
    total = _normal(x[sd_start - p : sd_start], mu, sd, grad, sd_start - p)
    total += _group_sds(x, grad, sd_start, n_levels, group_sd)
    first_z = z_start[0] if n_levels else end
    for j in range(first_z, end):
        total += -0.5 * x[j] * x[j] - HALF_LOG_2PI
        grad[j] -= x[j]
    return total


@kernel
def binary_logp(x, y, w, X, units, z_start, sd_start, intercept, coefficients, group_sd):
    """(logp, gradient) of the binary model at x: sum_i w_i log P(y_i | eta_i) plus priors.

    intercept, coefficients: (mu, sigma) of their Normal priors; group_sd: (family, sigma, nu).
    """
    grad = np.zeros(x.shape[0])
    none = np.zeros((2, 0))
    loglik = _sessions(x, X, units, z_start, sd_start, True, grad, y, w, none,
                       none.astype(np.int64), np.zeros(0), np.zeros(0))  # fmt: skip
    logp = loglik + _normal(x[0:1], intercept[0], intercept[1], grad, 0)
    logp += _effects_prior(
        x, grad, X.shape[1], z_start, sd_start, units.shape[0], x.shape[0], coefficients, group_sd
    )
    return logp, grad


@kernel
def ordered_thresholds(raw):
    """Thresholds c from their unconstrained values: c_0 = x_0, c_i = c_{i-1} + exp(x_i)."""
    c = np.empty(raw.shape[0])
    c[0] = raw[0]
    for i in range(1, raw.shape[0]):
        c[i] = c[i - 1] + math.exp(raw[i])
    return c


@kernel
def ordinal_logp(x, ordinal, y_index, n_inner, X, units, z_start, sd_start, cut_start,
                 coefficients, group_sd, thresholds):  # fmt: skip
    """(logp, gradient) of the ordinal model at x: model.py's ordinal_loglik plus priors.

    ordinal: (2, n) has_upper, has_lower (times the row weights); y_index: (2, n) y_upper,
    y_lower; n_inner: (cuts - 1,) weighted count of each inner category; thresholds:
    (mu, sigma) of each threshold's Normal prior.
    """
    grad = np.zeros(x.shape[0])
    raw = x[cut_start:]
    c = ordered_thresholds(raw)
    d_c = np.zeros(c.shape[0])
    empty = np.zeros(0)
    loglik = _sessions(x, X, units, z_start, sd_start, False, grad, empty, empty, ordinal,
                       y_index, c, d_c)  # fmt: skip
    for k in range(c.shape[0] - 1):
        a = c[k] - c[k + 1]
        loglik += n_inner[k] * _log1mexp(a)
        d = -n_inner[k] / math.expm1(-a)  # d/da log(1 - exp(a))
        d_c[k] += d
        d_c[k + 1] -= d
    logp = loglik + _effects_prior(
        x, grad, X.shape[1], z_start, sd_start, units.shape[0], cut_start, coefficients, group_sd
    )
    # The thresholds' prior, on c, then everything on c back to the unconstrained raw values.
    prior_grad = np.zeros(c.shape[0])
    logp += _normal(c, thresholds[0], thresholds[1], prior_grad, 0)
    d_c += prior_grad
    tail = 0.0  # sum_{i >= j} dL/dc_i: c_i for i >= j moves with raw_j
    for j in range(c.shape[0] - 1, 0, -1):
        tail += d_c[j]
        logp += raw[j]  # the transform's log-Jacobian
        grad[cut_start + j] += tail * math.exp(raw[j]) + 1.0
    grad[cut_start] += tail + d_c[0]
    return logp, grad
