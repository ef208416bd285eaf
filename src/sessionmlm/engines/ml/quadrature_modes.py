"""Numba kernels of the quadrature: Bernoulli terms and the conditional modes.

engines/ml/quadrature.py describes the model and the adaptation these serve.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from sessionmlm import kernel_cache

kernel_cache.register()  # before the first kernel: cached on every kernel file

MODE_TOL = 1e-11  # Newton step size at which a mode counts as found
MODE_MAX_ITER = 100


@nb.njit(cache=True, error_model="numpy", inline="always")
def _cdf(x):
    """The logistic distribution function, 1 at +inf and 0 at -inf."""
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


@nb.njit(cache=True, error_model="numpy", inline="always")
def _cdf_log(x):
    """F(x) and log F(x) with one exp, without overflow or cancellation."""
    if x >= 0.0:
        e = math.exp(-x)
        return 1.0 / (1.0 + e), -math.log1p(e)
    e = math.exp(x)
    return e / (1.0 + e), x - math.log1p(e)


@nb.njit(cache=True, error_model="numpy", inline="always")
def _session(bounds, s, eta):
    """One session's log-probability and its eta-derivatives under the cumulative logit.

    bounds[s] = (lo, hi, log(1 - exp(lo - hi)), 1 - exp(lo - hi)): the thresholds around the
    session's category (-inf and +inf at the ends) and the width terms, which do not depend
    on eta and are computed once per evaluation. P = F(hi - eta) - F(lo - eta); returns
    (log P, r, w, w') with r = d log P / d eta, w = -dr/deta and w' = dw/deta. A binary
    outcome is the case of one threshold at 0 (y = 1: lo = 0, hi = +inf; y = 0: lo = -inf,
    hi = 0), where r = y - p and w = p(1 - p). Since f1 - f0 = P (1 - F1 - F0),
    r = F1 + F0 - 1 (F1 = F(hi - eta), F0 = F(lo - eta), f = F(1 - F) the density): no
    division by a P that may underflow. The end categories, all of a binary outcome's, cost
    one exp.
    """
    lo = bounds[s, 0]
    hi = bounds[s, 1]
    if lo == -np.inf:
        F1, ll = _cdf_log(hi - eta)
        f1 = F1 * (1.0 - F1)
        return ll, F1 - 1.0, f1, -f1 * (1.0 - 2.0 * F1)
    if hi == np.inf:
        G0, ll = _cdf_log(eta - lo)  # 1 - F0
        f0 = G0 * (1.0 - G0)
        return ll, 1.0 - G0, f0, f0 * (1.0 - 2.0 * G0)
    F1, l1 = _cdf_log(hi - eta)
    G0, l0 = _cdf_log(eta - lo)
    F0 = 1.0 - G0
    f1 = F1 * (1.0 - F1)
    f0 = F0 * G0
    wp = -f1 * (1.0 - 2.0 * F1) - f0 * (1.0 - 2.0 * F0)
    return l1 + l0 + bounds[s, 2], F1 + F0 - 1.0, f1 + f0, wp


@nb.njit(cache=True, error_model="numpy", inline="always")
def _slopes(bounds, s, eta):
    """The (r, w, w') of _session without the log-probability, for the mode searches."""
    lo = bounds[s, 0]
    hi = bounds[s, 1]
    if lo == -np.inf:
        F1 = _cdf(hi - eta)
        f1 = F1 * (1.0 - F1)
        return F1 - 1.0, f1, -f1 * (1.0 - 2.0 * F1)
    G0 = _cdf(eta - lo)  # 1 - F0
    f0 = G0 * (1.0 - G0)
    if hi == np.inf:
        return 1.0 - G0, f0, f0 * (1.0 - 2.0 * G0)
    F1 = _cdf(hi - eta)
    F0 = 1.0 - G0
    f1 = F1 * (1.0 - F1)
    return F1 + F0 - 1.0, f1 + f0, -f1 * (1.0 - 2.0 * F1) - f0 * (1.0 - 2.0 * F0)


@nb.njit(cache=True, error_model="numpy", inline="always")
def _upper(bounds, s, eta):
    """Derivatives in the upper threshold hi: (d log P, dr, dw); zero when hi = +inf."""
    lo = bounds[s, 0]
    hi = bounds[s, 1]
    if hi == np.inf:
        return 0.0, 0.0, 0.0
    F1 = _cdf(hi - eta)
    f1 = F1 * (1.0 - F1)
    if lo == -np.inf:
        a = 1.0 - F1
    else:  # f1 / P with P = F1 (1 - F0) (1 - exp(lo - hi)), which cannot underflow to 0/0
        a = (1.0 - F1) / (_cdf(eta - lo) * bounds[s, 3])
    return a, f1, f1 * (1.0 - 2.0 * F1)


@nb.njit(cache=True, error_model="numpy", inline="always")
def _node(bounds, s, eta):
    """At a quadrature node: (log P, r, d log P / d hi), sharing one evaluation of F."""
    lo = bounds[s, 0]
    hi = bounds[s, 1]
    if lo == -np.inf:
        F1, ll = _cdf_log(hi - eta)
        return ll, F1 - 1.0, 1.0 - F1
    if hi == np.inf:
        G0, ll = _cdf_log(eta - lo)
        return ll, 1.0 - G0, 0.0
    F1, l1 = _cdf_log(hi - eta)
    G0, l0 = _cdf_log(eta - lo)
    return l1 + l0 + bounds[s, 2], F1 - G0, (1.0 - F1) / (G0 * bounds[s, 3])


@nb.njit(cache=True, error_model="numpy")
def _joint_terms(offset, bounds, cs, c0, c1, sdt, sdc, mu, v, Fc, Auc, Jc):
    """Log joint density of (u, v) and its Newton system, clients c0..c1-1 of one therapist.

    Fills Fc (gradient in v), Auc and Jc (negative Hessian entries); returns (H, Fu, Auu).
    """
    H = -0.5 * mu * mu
    Fu = -mu
    Auu = 1.0
    for k in range(c1 - c0):
        c = c0 + k
        R = 0.0
        W = 0.0
        for s in range(cs[c], cs[c + 1]):
            ll, r, w, _ = _session(bounds, s, offset[s] + sdt * mu + sdc * v[k])
            H += ll
            R += r
            W += w
        H -= 0.5 * v[k] * v[k]
        Fu += sdt * R
        Fc[k] = -v[k] + sdc * R
        Auu += sdt * sdt * W
        Auc[k] = sdt * sdc * W
        Jc[k] = 1.0 + sdc * sdc * W
    return H, Fu, Auu


@nb.njit(cache=True, error_model="numpy")
def _joint_mode(offset, bounds, cs, c0, c1, sdt, sdc, mu, v):
    """Newton's method with step halving for the joint mode; v is updated in place.

    The log joint density is strictly concave, so the halving only guards against overshoot.
    Returns (mu, iterations); iterations == MODE_MAX_ITER means no convergence.
    """
    nc = c1 - c0
    Fc = np.empty(nc)
    Auc = np.empty(nc)
    Jc = np.empty(nc)
    dv = np.empty(nc)
    trial = np.empty(nc)
    Fc2 = np.empty(nc)
    Auc2 = np.empty(nc)
    Jc2 = np.empty(nc)
    H, Fu, Auu = _joint_terms(offset, bounds, cs, c0, c1, sdt, sdc, mu, v, Fc, Auc, Jc)
    for it in range(MODE_MAX_ITER):
        S = Auu
        rhs = Fu
        for k in range(nc):
            S -= Auc[k] * Auc[k] / Jc[k]
            rhs -= Auc[k] * Fc[k] / Jc[k]
        du = rhs / S
        size = abs(du)
        for k in range(nc):
            dv[k] = (Fc[k] - Auc[k] * du) / Jc[k]
            size = max(size, abs(dv[k]))
        if size < MODE_TOL:
            return mu, it
        step = 1.0
        for _ in range(60):
            for k in range(nc):
                trial[k] = v[k] + step * dv[k]
            H2, Fu2, Auu2 = _joint_terms(
                offset, bounds, cs, c0, c1, sdt, sdc, mu + step * du, trial, Fc2, Auc2, Jc2
            )
            if H2 >= H - 1e-12 * abs(H):
                break
            step *= 0.5
        mu = mu + step * du
        for k in range(nc):
            v[k] = trial[k]
            Fc[k] = Fc2[k]
            Auc[k] = Auc2[k]
            Jc[k] = Jc2[k]
        H, Fu, Auu = H2, Fu2, Auu2
    return mu, MODE_MAX_ITER


@nb.njit(cache=True, error_model="numpy")
def _client_mode(offset, bounds, s0, s1, shift, sdc, m, w_buf, cuts):
    """Conditional mode of one client's intercept given the outer node (offset + shift).

    Returns (mode, sum of r, sum of w, sum of w', iterations), the sums at the mode, and
    leaves each session's w and w' at the mode in w_buf[0], w_buf[1]; with cuts, also the
    derivatives of r and w in the session's upper threshold in w_buf[2], w_buf[3].
    """
    # F(m) = -m + sdc * sum(r) falls strictly in m, and |sum(r)| < n, so the mode lies within
    # +-(|sdc| n + 1): Newton steps that leave the current bracket become bisections.
    low = -abs(sdc) * (s1 - s0) - 1.0
    high = -low
    for it in range(MODE_MAX_ITER):
        R = 0.0
        W = 0.0
        Wp = 0.0
        for s in range(s0, s1):
            r, w, wp = _slopes(bounds, s, offset[s] + shift + sdc * m)
            w_buf[0, s - s0] = w
            w_buf[1, s - s0] = wp
            R += r
            W += w
            Wp += wp
        F = -m + sdc * R
        step = F / (1.0 + sdc * sdc * W)
        if abs(step) < MODE_TOL:
            if cuts:
                for s in range(s0, s1):
                    _, dr, dw = _upper(bounds, s, offset[s] + shift + sdc * m)
                    w_buf[2, s - s0] = dr
                    w_buf[3, s - s0] = dw
            return m, R, W, Wp, it
        if F > 0.0:
            low = m
        else:
            high = m
        m += step
        if not low < m < high:
            m = 0.5 * (low + high)
    return m, R, W, Wp, MODE_MAX_ITER
