"""One more random effect around the nested kernel: program intercepts, or a random slope.

The model: eta_s = offset_s + a_s w_g + (the kernel's sd_t u_t + sd_c v_c), with w_g standard
normal for each outer unit g, and a_s a per-session loading. For program intercepts g is the
program and a_s = sd_program; for a therapist's random slope g is the therapist itself and
a_s = s1 x_s + s0 rho (likelihood_slope.py). Each outer unit contributes

    L_g = int phi(w) prod_{t in g} L_t(offset + a w) dw,

with L_t the kernel's therapist integral (quadrature.py). The w integral is adaptive
Gauss-Hermite at the posterior mean m_g and SD s_g of w (Rabe-Hesketh, Skrondal & Pickles
2002): the sessions are copied once per node, w_k = m_g + sqrt(2) s_g z_k, and copy k of a
therapist is a therapist of its own in one kernel call, so each copy keeps its warm-started
modes. (m_g, s_g) are recomputed from the posterior weights over the nodes until they settle
(ADAPT_TOL), warm-started from the last evaluation, so that the value is a function of the
parameters alone (to ADAPT_TOL times its sensitivity to the nodes, a quadrature error).

The gradient is that at fixed nodes: the posterior-weighted sum of the copies' exact kernel
gradients, d/d a_s = sum_k pi_k w_k d/d offset_s,k. The exact integral does not depend on the
nodes, so this differs from the derivative of the computed value only by the derivative of
the quadrature error in the nodes (tests/test_ml_structure.py measures it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sessionmlm.engines.ml.quadrature import NestedQuadrature, Nesting, gauss_hermite

ADAPT_TOL = 1e-6  # largest change in any unit's posterior mean or SD of w that counts as settled
ADAPT_MAX_ITER = 50
LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


def copied_nesting(nesting: Nesting, copies: int) -> Nesting:
    """The nesting of `copies` copies of the sessions one after another (copy-major)."""
    n = nesting.client_start[-1]
    C = nesting.n_clients
    cs = [nesting.client_start[:-1] + k * n for k in range(copies)] + [[copies * n]]
    ts = [nesting.therapist_start[:-1] + k * C for k in range(copies)] + [[copies * C]]
    return Nesting(np.concatenate(cs).astype(np.int64), np.concatenate(ts).astype(np.int64))


@dataclass
class OuterQuadrature:
    """The marginal log-likelihood with an outer random effect, by adaptive quadrature.

    y and the arrays passed to evaluate are in the sorted order of nesting; the therapists
    of outer unit g are therapist_of_unit[g]:therapist_of_unit[g + 1] (contiguous).
    """

    y: np.ndarray
    nesting: Nesting
    unit_start: np.ndarray  # (G + 1,) therapists of each outer unit
    points: int  # nodes of the outer (w) integral
    kernel_points: tuple[int, int]  # the kernel's (therapist, client) points
    adapt_tol: float = ADAPT_TOL  # settled when no node moves more than this times its SD

    def __post_init__(self) -> None:
        self.z, self.lw = gauss_hermite(self.points)
        self.kernel = NestedQuadrature(
            np.tile(self.y, self.points), copied_nesting(self.nesting, self.points),
            *self.kernel_points,
        )  # fmt: skip
        self.single = NestedQuadrature(self.y, self.nesting, *self.kernel_points)
        G = len(self.unit_start) - 1
        self.mean = np.zeros(G)
        self.sd = np.ones(G)
        sessions_of = np.diff(self.nesting.client_start[self.nesting.therapist_start])
        therapists_of = np.diff(self.unit_start)
        self.unit_of_therapist = np.repeat(np.arange(G), therapists_of)
        self.unit_of_session = np.repeat(self.unit_of_therapist, sessions_of)

    def _terms(self, offset, loading, sd_outer, sd_inner, thresholds):
        """Node log-weights (Q, G), nodes (Q, G) and the kernel's copy terms at the nodes."""
        w = self.mean + math.sqrt(2) * self.sd * self.z[:, None]
        shifted = offset + w[:, self.unit_of_session] * loading
        terms = self.kernel.unit_terms(shifted.ravel(), sd_outer, sd_inner, thresholds)
        Q, T = self.points, self.nesting.n_therapists
        per_unit = np.add.reduceat(terms[0].reshape(Q, T), self.unit_start[:-1], axis=1)
        log_node = (
            np.log(math.sqrt(2) * self.sd) + self.lw[:, None] - 0.5 * w * w - LOG_SQRT_2PI
            + per_unit
        )  # fmt: skip
        return log_node, w, terms

    def evaluate(self, offset, loading, sd_outer, sd_inner, thresholds=None):
        """Log-likelihood and its gradient at the adapted nodes held fixed.

        Returns (loglik, d/d offset (n,), d/d loading (n,), d/d sd_outer, d/d sd_inner,
        d/d thresholds or None); loading (n,) is each session's a_s. All loadings zero leave w
        out of the model: the kernel alone, exactly.
        """
        n = len(self.y)
        if thresholds is not None and not np.all(np.diff(thresholds) > 0):
            return -np.inf, np.zeros(n), np.zeros(n), 0.0, 0.0, np.zeros(len(thresholds))
        if not np.any(loading):
            ll, grad, d_t, d_c, d_theta = self.single.evaluate(
                offset, sd_outer, sd_inner, thresholds
            )
            return ll, grad, np.zeros(n), d_t, d_c, d_theta
        for attempt in range(2 * ADAPT_MAX_ITER):
            if attempt == ADAPT_MAX_ITER:  # not settled from the last nodes: from the prior
                self.mean, self.sd = np.zeros_like(self.mean), np.ones_like(self.sd)
            log_node, w, terms = self._terms(offset, loading, sd_outer, sd_inner, thresholds)
            top = log_node.max(axis=0)
            weight = np.exp(log_node - top)
            total = weight.sum(axis=0)
            weight /= total
            mean = (weight * w).sum(axis=0)
            sd = np.sqrt(np.maximum((weight * (w - mean) ** 2).sum(axis=0), 1e-300))
            # Most of the weight on an end node: the posterior lies beyond the nodes, whose
            # moments would shrink it towards them. Move to that node and widen instead.
            beyond = np.maximum(weight[0], weight[-1]) > 0.5
            if beyond.any():
                end = np.where(weight[0] > weight[-1], w[0], w[-1])
                mean, sd = np.where(beyond, end, mean), np.where(beyond, 2 * self.sd, sd)
            moved = max(np.max(np.abs(mean - self.mean) / sd), np.max(np.abs(sd / self.sd - 1)))
            if moved < self.adapt_tol and not beyond.any():
                break
            self.mean, self.sd = mean, sd
        loglik = float(np.sum(top + np.log(total)))
        Q, T = self.points, self.nesting.n_therapists
        _, grad, grad_hi, d_sdt, d_sdc = terms
        per_session = weight[:, self.unit_of_session]
        grad = grad.reshape(Q, n) * per_session
        d_offset = grad.sum(axis=0)
        d_loading = (grad * w[:, self.unit_of_session]).sum(axis=0)
        per_therapist = weight[:, self.unit_of_therapist]
        d_t = float(np.sum(d_sdt.reshape(Q, T) * per_therapist))
        d_c = float(np.sum(d_sdc.reshape(Q, T) * per_therapist))
        d_theta = None
        if thresholds is not None:
            hi = grad_hi.reshape(Q, n) * per_session
            d_theta = self.single.threshold_gradient(d_offset, hi.sum(axis=0), len(thresholds))
        return loglik, d_offset, d_loading, d_t, d_c, d_theta
