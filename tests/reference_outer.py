"""Brute-force marginal log-likelihoods with a program level or a therapist's random slope.

Test oracles for quadrature_outer.py that share no method with it: tensor-product
Gauss-Legendre rules on fixed windows, no adaptation, no modes, no conditioning. The program
model integrates the standard normal w, u, v of

    eta_s = offset_s + sd_p w_program + sd_t u_therapist + sd_c v_client

over [-WINDOW, WINDOW] each; the slope model integrates (b0, b1) of each therapist in their
own coordinates, against the bivariate normal density with correlation rho, over WINDOW of
their SDs, with the client's v as before:

    eta_s = offset_s + b0 + b1 x_s + sd_c v_client.

Why this is exact to about 1e-10 on tiny data: every likelihood factor is at most 1 and the
normal density beyond WINDOW = 10 SDs holds under 1e-22 of the mass, so the windows lose
nothing measurable; the integrands are smooth (analytic) with posterior SDs no smaller than
about a quarter of the prior's for 1-3 sessions per unit, which NODES Gauss-Legendre points
on the window resolve to machine precision (tests/test_ml_structure.py checks the oracle
against scipy's Gauss-Kronrod oracle and against itself with more nodes).
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from tests.reference_ordinal import session_log_probability

WINDOW = 10.0
NODES = 120  # 80 are 3e-8 off at sd_p = 2 (ordinal test case); 120 agree with 200 to 1e-13


def _rule(scale: float = 1.0, nodes: int = NODES) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes and log weights on [-WINDOW scale, WINDOW scale]."""
    x, w = np.polynomial.legendre.leggauss(nodes)
    half = WINDOW * scale
    return x * half, np.log(w * half)


def _log_phi(x: np.ndarray) -> np.ndarray:
    return -0.5 * x * x - 0.5 * np.log(2 * np.pi)


def _clients_log(y, offset, inner, shift, thresholds, sd_c, nodes) -> np.ndarray:
    """sum over clients of log int phi(v) prod_s P(y_s | offset_s + shift_s + sd_c v) dv.

    shift (n, ...) is each session's shift at each point of the outer grid; the result has the
    outer grid's shape.
    """
    v, lw = _rule(nodes=nodes)
    total = 0.0
    for c in np.unique(inner):
        at = inner == c
        ll = 0.0
        for s in np.flatnonzero(at):
            eta = offset[s] + shift[s][..., None] + sd_c * v
            ll = ll + session_log_probability(
                np.full(eta.size, y[s]), eta.ravel(), thresholds
            ).reshape(eta.shape)
        total = total + logsumexp(ll + lw + _log_phi(v), axis=-1)
    return total


def program_loglik(y, offset, program, therapist, client, thresholds, sd_p, sd_t, sd_c,
                   nodes=NODES) -> float:  # fmt: skip
    """Marginal log-likelihood of program/therapist/client random intercepts."""
    y = np.asarray(y, dtype=np.int64)
    w, lw = _rule(nodes=nodes)
    u, lu = _rule(nodes=nodes)
    total = 0.0
    for p in np.unique(program):
        in_p = program == p
        per_w = lw + _log_phi(w)
        for t in np.unique(therapist[in_p]):
            at = therapist == t
            shift = sd_p * w[:, None] + sd_t * u[None, :]  # (w, u)
            shifts = np.broadcast_to(shift, (at.sum(), *shift.shape))
            inner = _clients_log(y[at], offset[at], client[at], shifts, thresholds, sd_c, nodes)
            per_w = per_w + logsumexp(inner + lu + _log_phi(u), axis=1)
        total += logsumexp(per_w)
    return float(total)


def slope_loglik(y, offset, x, therapist, client, thresholds, s0, s1, rho, sd_c,
                 nodes=NODES) -> float:  # fmt: skip
    """Marginal log-likelihood of a correlated random intercept and slope per therapist."""
    y = np.asarray(y, dtype=np.int64)
    b0, l0 = _rule(s0, nodes)
    b1, l1 = _rule(s1, nodes)
    cov = np.array([[s0 * s0, rho * s0 * s1], [rho * s0 * s1, s1 * s1]])
    B = np.stack(np.meshgrid(b0, b1, indexing="ij"), axis=-1)  # (b0, b1, 2)
    quad = np.einsum("...i,ij,...j->...", B, np.linalg.inv(cov), B)
    log_density = -0.5 * quad - np.log(2 * np.pi) - 0.5 * np.log(np.linalg.det(cov))
    log_density += l0[:, None] + l1[None, :]
    total = 0.0
    for t in np.unique(therapist):
        at = therapist == t
        shifts = b0[None, :, None] + b1[None, None, :] * x[at][:, None, None]
        inner = _clients_log(y[at], offset[at], client[at], shifts, thresholds, sd_c, nodes)
        total += logsumexp(inner + log_density)
    return float(total)
