"""Slow but accurate reference values for random-intercept logistic marginal likelihoods.

This module is a test oracle for the fast adaptive Gauss-Hermite code. It deliberately shares
no numerical method with it: the integrals are done by nested adaptive Gauss-Kronrod
quadrature (``scipy.integrate.quad``) on a finite window in the original coordinates, with no
change of variables, no Hermite rule and no Laplace/mode scaling of the abscissae. Mode
finding is used only to choose *where the integrand is peaked* (the shift that prevents
underflow, the window centre and the breakpoints handed to ``quad``); the value returned does
not depend on those choices beyond the integration tolerance.

Model. Session ``s`` belongs to client ``c(s)``, client ``c`` to therapist ``t(c)``, and

    eta_s = offset_s + sd_t * u_t + sd_c * v_c,   u_t, v_c ~ N(0, 1) independent,
    P(y_s = 1) = 1 / (1 + exp(-eta_s)),

    loglik = sum_t log  int phi(u) prod_{c in t} [ int phi(v) prod_{s in c} p(y_s | eta_s) dv ] du.

Why the finite window is enough. Write g(v) = log phi(v) + sum_s log p(y_s | eta_s(v)) for the
log integrand of an inner integral. Each Bernoulli log-likelihood is concave in eta, and
log phi has second derivative exactly -1, so g'' <= -1 everywhere (g is 1-strongly concave).
Hence, with v* the mode, ``exp(g(v) - g(v*)) <= exp(-(v - v*)**2 / 2)`` and the mass outside
``[v* - W, v* + W]`` is at most ``sqrt(2 pi) * 2 Phi(-W)`` in units of the peak. On the other
hand every Bernoulli factor has |d^2 log p / d eta^2| <= 1/4, so g'' >= -K with
``K = 1 + sd_c**2 * n / 4`` and the integral is at least ``sqrt(2 pi / K)`` peak units. The
relative error from truncation is therefore below ``2 Phi(-W) sqrt(K)``; with W = 12 that is
``3.6e-33 * sqrt(K)``, i.e. nothing, for any data set of sane size. (This is the "likelihood
factor is bounded by 1" argument, made relative: centring the window on the mode rather than
on 0 keeps it valid even when the data push the mode far into the prior's tail.)

The outer integrand F(u) = log phi(u) + sum_c log I_c(u) has the same two properties: by
Prekopa's theorem the marginal of a log-concave function is log-concave, so each log I_c is
concave and F'' <= -1; and d^2 log I_c / du^2 = E[l''] + Var[l'] >= -sd_t**2 n_c / 4, so
F'' >= -(1 + sd_t**2 N_t / 4). The same window argument applies with W = 12.

Underflow. Integrands are evaluated as ``exp(g(v) - g(v*))`` (peak value 1) and the shift is
added back on the log scale, so a client with hundreds of sessions, or a therapist with a
likelihood of 1e-400, is no problem.

Peaked integrands (large sd). The curvature at the mode gives a width w <= 1 and ``quad`` is
given breakpoints at ``v* + w * {0, +-1, +-2, +-4, +-8}``, so its first subdivision already
resolves the peak however narrow it is; it then adapts to the requested tolerance.

Tolerances. Each ``quad`` is asked for relative accuracy ``EPSREL`` (1e-12) with
``epsabs = 0``: the scaled integrals are at least ``sqrt(2 pi / K)`` (above), so a pure
relative criterion is meaningful and never asks for less than about 1e-12 absolute accuracy
either. The inner results are in practice far more accurate than requested (Gauss-Kronrod
on smooth integrands), so the outer integrand is smooth to ~1e-14.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import integrate, optimize

HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)
WINDOW = 12.0  # half-width of the integration window around the mode, in prior sds
EPSREL = 1e-12
QUAD_LIMIT = 500
BREAK_MULTIPLES = (-8.0, -4.0, -2.0, -1.0, 0.0, 1.0, 2.0, 4.0, 8.0)

__all__ = [
    "bernoulli_loglik",
    "laplace_loglik",
    "three_level_loglik",
    "two_level_loglik",
]


# --------------------------------------------------------------------------- scalar helpers


def _log_sigmoid(t: float) -> float:
    """log(1 / (1 + exp(-t))) without overflow or cancellation."""
    if t >= 0.0:
        return -math.log1p(math.exp(-t))
    return t - math.log1p(math.exp(t))


def _sigmoid_neg(t: float) -> float:
    """1 / (1 + exp(t)), i.e. 1 - sigmoid(t), computed stably."""
    if t >= 0.0:
        e = math.exp(-t)
        return e / (1.0 + e)
    return 1.0 / (1.0 + math.exp(t))


def _quad(fun, lo: float, hi: float, points: Sequence[float]) -> float:
    """Adaptive Gauss-Kronrod on [lo, hi] with interior breakpoints; pure relative tolerance."""
    inner = sorted({p for p in points if lo < p < hi})
    value, _abserr = integrate.quad(
        fun,
        lo,
        hi,
        points=inner or None,
        epsabs=0.0,
        epsrel=EPSREL,
        limit=QUAD_LIMIT,
    )
    return value


def _breakpoints(centre: float, width: float) -> list[float]:
    return [centre + k * width for k in BREAK_MULTIPLES]


# ------------------------------------------------------------------ one-dimensional integral


def _log_normal_integral(z: Sequence[float], b: Sequence[float]) -> float:
    """log of  int phi(v) prod_s sigmoid(z_s + b_s v) dv  over the real line.

    With ``sgn_s = 2 y_s - 1``, ``z_s = sgn_s * (fixed part of eta_s)`` and
    ``b_s = sgn_s * sd`` this is the log marginal likelihood of one cluster, because
    ``p(y | eta) = sigmoid(sgn * eta)``.
    """
    pairs = [(zi, bi) for zi, bi in zip(z, b, strict=True) if bi != 0.0]
    const = math.fsum(_log_sigmoid(zi) for zi, bi in zip(z, b, strict=True) if bi == 0.0)
    if not pairs:  # sd == 0: phi integrates to one and the integrand is constant.
        return const

    exp, log1p = math.exp, math.log1p

    def g(v: float) -> float:
        # _log_sigmoid inlined: this is the innermost loop of the whole computation.
        s = -0.5 * v * v - HALF_LOG_2PI
        for zi, bi in pairs:
            t = zi + bi * v
            s -= log1p(exp(-t)) if t >= 0.0 else log1p(exp(t)) - t
        return s

    def slope_and_curvature(v: float) -> tuple[float, float]:
        d, c = -v, 1.0
        for zi, bi in pairs:
            q = _sigmoid_neg(zi + bi * v)  # 1 - sigmoid(t); d/dv log sigmoid(t) = b * q
            d += bi * q
            c += bi * bi * q * (1.0 - q)
        return d, c  # g'(v), -g''(v)

    # g' is strictly decreasing, positive at -B-1 and negative at B+1 (|b q| <= |b|), so a
    # bracketed Newton iteration (bisection fallback) finds the unique mode.
    bound = math.fsum(abs(bi) for _zi, bi in pairs) + 1.0
    lo, hi, v = -bound, bound, 0.0
    for _ in range(200):
        d, c = slope_and_curvature(v)
        if d > 0.0:
            lo = v
        else:
            hi = v
        step = d / c
        new = v + step
        if not lo < new < hi:
            new = 0.5 * (lo + hi)
        if abs(new - v) <= 1e-13 * max(1.0, abs(v)):
            v = new
            break
        v = new
    _d, c = slope_and_curvature(v)
    width = 1.0 / math.sqrt(c)
    peak = g(v)

    value = _quad(lambda x: math.exp(g(x) - peak), v - WINDOW, v + WINDOW, _breakpoints(v, width))
    return const + peak + math.log(value)


# ------------------------------------------------------------------------ input handling


def _validate(y, offset, *labels) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y)
    offset = np.asarray(offset, dtype=float)
    if y.ndim != 1 or offset.shape != y.shape:
        raise ValueError("y and offset must be one-dimensional arrays of the same length")
    if not np.all((y == 0) | (y == 1)):
        raise ValueError("y must be 0/1")
    if not np.all(np.isfinite(offset)):
        raise ValueError("offset must be finite")
    for lab in labels:
        if np.shape(lab) != y.shape:
            raise ValueError("grouping arrays must have the same length as y")
    return y.astype(float), offset


def _check_sd(*sds: float) -> None:
    for sd in sds:
        if not (math.isfinite(sd) and sd >= 0.0):
            raise ValueError(f"standard deviations must be finite and >= 0, got {sd!r}")


def _nested_groups(therapist_of_session, client_of_session) -> list[list[np.ndarray]]:
    """Session indices grouped as [therapist][client] -> array of session positions."""
    _t_labels, t_idx = np.unique(np.asarray(therapist_of_session), return_inverse=True)
    _c_labels, c_idx = np.unique(np.asarray(client_of_session), return_inverse=True)
    therapist_of_client = {}
    for t, c in zip(t_idx.tolist(), c_idx.tolist(), strict=True):
        if therapist_of_client.setdefault(c, t) != t:
            raise ValueError("each client must belong to exactly one therapist")
    groups: list[list[np.ndarray]] = [[] for _ in range(int(t_idx.max()) + 1)] if len(t_idx) else []
    for c in range(int(c_idx.max()) + 1 if len(c_idx) else 0):
        groups[therapist_of_client[c]].append(np.flatnonzero(c_idx == c))
    return groups


# ------------------------------------------------------------------------------ public API


def bernoulli_loglik(y, offset) -> float:
    """Plain logistic log-likelihood sum_s log p(y_s | offset_s) (all sds zero)."""
    y, offset = _validate(y, offset)
    return float(-np.sum(np.logaddexp(0.0, -(2.0 * y - 1.0) * offset)))


def two_level_loglik(y, offset, group_of_session, sd: float) -> float:
    """Marginal log-likelihood of a two-level random-intercept logistic model.

    ``sum_g log int phi(v) prod_{s in g} p(y_s | offset_s + sd * v) dv``, one adaptive
    Gauss-Kronrod integral per group.
    """
    y, offset = _validate(y, offset, group_of_session)
    _check_sd(sd)
    _labels, g_idx = np.unique(np.asarray(group_of_session), return_inverse=True)
    sgn = 2.0 * y - 1.0
    total = []
    for g in range(int(g_idx.max()) + 1 if len(g_idx) else 0):
        rows = g_idx == g
        z = (sgn[rows] * offset[rows]).tolist()
        b = (sgn[rows] * sd).tolist()
        total.append(_log_normal_integral(z, b))
    return math.fsum(total)


def _therapist_log_integral(
    clients: list[tuple[np.ndarray, np.ndarray]], sd_t: float, sd_c: float
) -> float:
    """log int phi(u) prod_c I_c(u) du for one therapist (clients as (sgn, offset) pairs)."""
    prepared = [(sgn.tolist(), off.tolist(), (sgn * sd_c).tolist()) for sgn, off in clients]

    def log_clients(u: float) -> float:
        parts = []
        for sgn, off, b in prepared:
            z = [si * (oi + sd_t * u) for si, oi in zip(sgn, off, strict=True)]
            parts.append(_log_normal_integral(z, b))
        return math.fsum(parts)

    if sd_t == 0.0:
        return log_clients(0.0)

    def big_f(u: float) -> float:
        return -0.5 * u * u - HALF_LOG_2PI + log_clients(u)

    # F is concave with F'(u) = -u + sd_t * sum_s E[residual_s], |residual| <= 1, so the mode
    # lies in [-sd_t N - 1, sd_t N + 1]; golden-section/Brent on a unimodal function converges.
    n_sessions = sum(len(sgn) for sgn, _off in clients)
    bound = sd_t * n_sessions + 1.0
    res = optimize.minimize_scalar(
        lambda u: -big_f(u), bounds=(-bound, bound), method="bounded", options={"xatol": 1e-8}
    )
    mode = float(res.x)
    peak = big_f(mode)

    # Width from a finite-difference curvature, with a step well inside the narrowest possible
    # peak (curvature <= K = 1 + sd_t^2 N / 4). It only places breakpoints.
    k_max = 1.0 + sd_t * sd_t * n_sessions / 4.0
    h = 0.01 / math.sqrt(k_max)
    curv = -(big_f(mode + h) - 2.0 * peak + big_f(mode - h)) / (h * h)
    curv = min(max(curv, 1.0), k_max)  # theoretical range [1, K]; guards against FD noise
    width = 1.0 / math.sqrt(curv)

    value = _quad(
        lambda u: math.exp(big_f(u) - peak),
        mode - WINDOW,
        mode + WINDOW,
        _breakpoints(mode, width),
    )
    return peak + math.log(value)


def three_level_loglik(
    y, offset, therapist_of_session, client_of_session, sd_t: float, sd_c: float
) -> float:
    """Marginal log-likelihood of the three-level (therapist/client/session) logistic model.

    Nested adaptive Gauss-Kronrod quadrature (``scipy.integrate.quad`` inside ``quad``) on
    mode-centred windows of +-12 prior sds; see the module docstring for the error argument.
    Either sd may be 0, in which case that level's integral is the integrand at 0. Client
    labels must be unique across therapists.
    """
    y, offset = _validate(y, offset, therapist_of_session, client_of_session)
    _check_sd(sd_t, sd_c)
    sgn = 2.0 * y - 1.0
    parts = []
    for clients in _nested_groups(therapist_of_session, client_of_session):
        prepared = [(sgn[rows], offset[rows]) for rows in clients]
        parts.append(_therapist_log_integral(prepared, float(sd_t), float(sd_c)))
    return math.fsum(parts)


# ------------------------------------------------------------------------------- Laplace


def _laplace_therapist(
    sgn: np.ndarray,
    offset: np.ndarray,
    client: np.ndarray,
    n_clients: int,
    sd_t: float,
    sd_c: float,
) -> float:
    """Laplace approximation of one therapist's log integral over theta = (u, v_1..v_C)."""
    dim = 1 + n_clients
    # Design: eta_s = offset_s + Z_s . theta with Z_s = (sd_t, sd_c * e_{c(s)}).
    design = np.zeros((len(sgn), dim))
    design[:, 0] = sd_t
    design[np.arange(len(sgn)), 1 + client] = sd_c

    def h(theta: np.ndarray) -> float:
        eta = offset + design @ theta
        return float(
            -0.5 * theta @ theta - dim * HALF_LOG_2PI - np.sum(np.logaddexp(0.0, -sgn * eta))
        )

    def grad(theta: np.ndarray) -> np.ndarray:
        eta = offset + design @ theta
        resid = sgn * _expit(-sgn * eta)  # y - p
        return -theta + design.T @ resid

    def hess(theta: np.ndarray) -> np.ndarray:
        eta = offset + design @ theta
        p = _expit(eta)
        weight = p * (1.0 - p)
        return -np.eye(dim) - design.T @ (weight[:, None] * design)

    theta0 = np.zeros(dim)
    res = optimize.minimize(
        lambda th: -h(th),
        theta0,
        jac=lambda th: -grad(th),
        hess=lambda th: -hess(th),
        method="trust-exact",
        options={"gtol": 1e-10, "maxiter": 1000},
    )
    theta = np.asarray(res.x, dtype=float)
    # Polish with plain Newton steps: -h is 1-strongly convex, so near the mode this converges
    # quadratically to machine precision.
    for _ in range(20):
        step = np.linalg.solve(hess(theta), grad(theta))
        theta = theta - step
        if np.max(np.abs(step)) <= 1e-14 * max(1.0, float(np.max(np.abs(theta)))):
            break
    sign, logdet = np.linalg.slogdet(-hess(theta))
    if sign <= 0:
        raise FloatingPointError("negative Hessian is not positive definite at the mode")
    return h(theta) + dim * HALF_LOG_2PI - 0.5 * logdet


def _expit(x: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-x)) elementwise without overflow warnings."""
    out = np.empty_like(x, dtype=float)
    pos = x >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    e = np.exp(x[~pos])
    out[~pos] = e / (1.0 + e)
    return out


def laplace_loglik(
    y, offset, therapist_of_session, client_of_session, sd_t: float, sd_c: float
) -> float:
    """Multivariate Laplace approximation of :func:`three_level_loglik`.

    Per therapist, maximise H(u, v_1..v_C) = log phi(u) + sum_c log phi(v_c) + sum_s log p(y_s)
    jointly (``scipy.optimize.minimize`` with analytic gradient and Hessian, then Newton
    polishing) and return ``sum_t [H(mode) + (1 + C)/2 log(2 pi) - 1/2 log det(-Hessian)]``,
    the determinant from ``numpy.linalg.slogdet`` on the dense Hessian.
    """
    y, offset = _validate(y, offset, therapist_of_session, client_of_session)
    _check_sd(sd_t, sd_c)
    sgn = 2.0 * y - 1.0
    parts = []
    for clients in _nested_groups(therapist_of_session, client_of_session):
        rows = np.concatenate(clients)
        local_client = np.concatenate([np.full(len(r), i) for i, r in enumerate(clients)])
        parts.append(
            _laplace_therapist(
                sgn[rows], offset[rows], local_client, len(clients), float(sd_t), float(sd_c)
            )
        )
    return math.fsum(parts)
