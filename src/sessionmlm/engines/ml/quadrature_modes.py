"""Numba kernels of the quadrature: Bernoulli terms and the conditional modes.

engines/ml/quadrature.py describes the model and the adaptation these serve.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

MODE_TOL = 1e-11  # Newton step size at which a mode counts as found
MODE_MAX_ITER = 100


@nb.njit(cache=True, error_model="numpy")
def _bernoulli(y, eta):
    """Log-probability of y and P(y = 1), given eta, without overflow."""
    if eta >= 0.0:
        e = math.exp(-eta)
        log1pe = math.log1p(e)
        p = 1.0 / (1.0 + e)
        ll = -log1pe if y > 0.5 else -eta - log1pe
    else:
        e = math.exp(eta)
        log1pe = math.log1p(e)
        p = e / (1.0 + e)
        ll = eta - log1pe if y > 0.5 else -log1pe
    return ll, p


@nb.njit(cache=True, error_model="numpy")
def _probability(eta):
    """P(y = 1 | eta) without overflow."""
    if eta >= 0.0:
        return 1.0 / (1.0 + math.exp(-eta))
    e = math.exp(eta)
    return e / (1.0 + e)


@nb.njit(cache=True, error_model="numpy")
def _joint_terms(offset, y, cs, c0, c1, sdt, sdc, mu, v, Fc, Auc, Jc):
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
            ll, p = _bernoulli(y[s], offset[s] + sdt * mu + sdc * v[k])
            H += ll
            R += y[s] - p
            W += p * (1.0 - p)
        H -= 0.5 * v[k] * v[k]
        Fu += sdt * R
        Fc[k] = -v[k] + sdc * R
        Auu += sdt * sdt * W
        Auc[k] = sdt * sdc * W
        Jc[k] = 1.0 + sdc * sdc * W
    return H, Fu, Auu


@nb.njit(cache=True, error_model="numpy")
def _joint_mode(offset, y, cs, c0, c1, sdt, sdc, mu, v):
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
    H, Fu, Auu = _joint_terms(offset, y, cs, c0, c1, sdt, sdc, mu, v, Fc, Auc, Jc)
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
                offset, y, cs, c0, c1, sdt, sdc, mu + step * du, trial, Fc2, Auc2, Jc2
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
def _client_mode(offset, y, s0, s1, shift, sdc, m, w_buf):
    """Conditional mode of one client's intercept given the outer node (offset + shift).

    Returns (mode, sum of y - p, sum of w, sum of w', iterations), the sums at the mode, and
    leaves each session's w = p(1 - p) and w' = w(1 - 2p) at the mode in w_buf[0], w_buf[1].
    """
    # F(m) = -m + sdc * sum(y - p) falls strictly in m, and |sum(y - p)| < n, so the mode lies
    # within +-(|sdc| n + 1): Newton steps that leave the current bracket become bisections.
    lo = -abs(sdc) * (s1 - s0) - 1.0
    hi = -lo
    for it in range(MODE_MAX_ITER):
        R = 0.0
        W = 0.0
        Wp = 0.0
        for s in range(s0, s1):
            p = _probability(offset[s] + shift + sdc * m)
            w = p * (1.0 - p)
            w_buf[0, s - s0] = w
            w_buf[1, s - s0] = w * (1.0 - 2.0 * p)
            R += y[s] - p
            W += w
            Wp += w * (1.0 - 2.0 * p)
        F = -m + sdc * R
        step = F / (1.0 + sdc * sdc * W)
        if abs(step) < MODE_TOL:
            return m, R, W, Wp, it
        if F > 0.0:
            lo = m
        else:
            hi = m
        m += step
        if not lo < m < hi:
            m = 0.5 * (lo + hi)
    return m, R, W, Wp, MODE_MAX_ITER
