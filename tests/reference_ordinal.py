"""Brute-force marginal log-likelihood of the three-level random-intercept cumulative logit.

A test oracle for the quadrature kernel that shares no method with it: nested adaptive
Gauss-Kronrod integrals (scipy.integrate.quad) over windows of +-12 prior SDs around each
integrand's peak, in the original coordinates. The window argument of reference_integrals.py
holds here too: log P(y | eta) = log(F(hi - eta) - F(lo - eta)) is concave in eta (the
logistic density is log-concave), so each log integrand is 1-strongly concave and the mass
outside the window is negligible. The peak is found only to centre the window and scale the
integrand (exp(g - peak)), which the value does not depend on. Relative tolerance 1e-10: an
error of 1e-10 in the log-likelihood, far below the 1e-6 the tests ask for.

    loglik = sum_t log int phi(u) prod_c [ int phi(v) prod_s P(y_s | eta_s) dv ] du,
    eta_s = offset_s + sd_t u + sd_c v,  logit P(y <= k) = theta_k - eta.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import integrate, optimize
from scipy.special import log_expit

WINDOW = 12.0
HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def session_log_probability(y: np.ndarray, eta: np.ndarray, thresholds) -> np.ndarray:
    """log P(y | eta) for categories y (0..K-1), computed from the bounds as written."""
    bounds = np.r_[-np.inf, np.asarray(thresholds, float), np.inf]
    hi, lo = bounds[y + 1] - eta, bounds[y] - eta
    top = np.isinf(hi)
    bottom = np.isinf(lo)
    out = np.empty(len(y))
    out[top] = log_expit(-lo[top])
    out[bottom] = log_expit(hi[bottom])
    mid = ~(top | bottom)
    # F(hi) - F(lo) = F(hi) (1 - F(lo)) (1 - exp(lo - hi)): no cancellation near 0 or 1.
    out[mid] = log_expit(hi[mid]) + log_expit(-lo[mid]) + np.log(-np.expm1(lo[mid] - hi[mid]))
    return out


def _log_integral(g) -> float:
    """log int exp(g(x)) dx for a concave g, by quad on a window around its peak."""
    peak_at = optimize.minimize_scalar(lambda x: -g(x), bounds=(-40, 40), method="bounded",
                                       options={"xatol": 1e-10}).x  # fmt: skip
    peak = g(peak_at)
    value, _ = integrate.quad(lambda x: math.exp(g(x) - peak), peak_at - WINDOW,
                              peak_at + WINDOW, epsabs=0.0, epsrel=1e-10, limit=500,
                              points=[peak_at - 1, peak_at, peak_at + 1])  # fmt: skip
    return peak + math.log(value)


def _log_p(lo: float, hi: float) -> float:
    """log(F(hi) - F(lo)) for one session, in plain floats (the integrals' inner loop)."""
    if lo == -math.inf:
        return -math.log1p(math.exp(-hi)) if hi >= 0 else hi - math.log1p(math.exp(hi))
    if hi == math.inf:
        return -math.log1p(math.exp(lo)) if lo <= 0 else -lo - math.log1p(math.exp(-lo))
    return _log_p(-math.inf, hi) + _log_p(lo, math.inf) + math.log(-math.expm1(lo - hi))


def three_level_loglik(y, offset, outer, inner, thresholds, sd_t: float, sd_c: float) -> float:
    """The marginal log-likelihood; client labels must be unique across therapists."""
    y = np.asarray(y, dtype=np.int64)
    bounds = [-math.inf, *map(float, thresholds), math.inf]
    total = []
    for t in np.unique(outer):
        clients = [
            [(bounds[k], bounds[k + 1], float(o)) for k, o in
             zip(y[(outer == t) & (inner == c)], offset[(outer == t) & (inner == c)],
                 strict=True)]
            for c in np.unique(inner[outer == t])
        ]  # fmt: skip

        def log_clients(u: float, clients=clients) -> float:
            parts = []
            for sessions in clients:

                def g(v, sessions=sessions):
                    shift = sd_t * u + sd_c * v
                    return (
                        -0.5 * v * v
                        - HALF_LOG_2PI
                        + math.fsum(
                            _log_p(lo - o - shift, hi - o - shift) for lo, hi, o in sessions
                        )
                    )

                parts.append(_log_integral(g))
            return math.fsum(parts)

        total.append(_log_integral(lambda u: -0.5 * u * u - HALF_LOG_2PI + log_clients(u)))
    return math.fsum(total)
