"""Nested adaptive Gauss-Hermite quadrature for random-intercept cumulative logit models.

The model: eta_s = offset_s + sd_t u_t + sd_c v_c, with u_t (therapist) and v_c (client
within therapist) independent standard normal, and logit P(y_s <= k) = theta_k - eta_s for
an outcome with categories 0..K-1 and thresholds theta_0 < ... < theta_{K-2}. A binary
outcome is the case K = 2 with its threshold fixed at 0: logit P(y_s = 1) = eta_s. Each
therapist contributes

    L_t = int phi(u) prod_c [ int phi(v) prod_{s in c} p(y_s | eta_s) dv ] du.

The outer integral is adapted at the joint mode of (u, v) and the Schur-complement curvature
of u; the client integrals are adapted at their conditional mode and curvature given each outer
node (Rabe-Hesketh, Skrondal & Pickles 2005). With one point per level this is exactly the
multivariate Laplace approximation that lme4 and glmmTMB use. Work grows linearly with
sessions (Pinheiro & Chao 2006): sessions x outer points x inner points evaluations.

The gradient is exact for the approximation as computed: it carries the derivatives of the
modes and curvatures (implicit function theorem), so points = 1 optimises the Laplace
approximation itself, not a nearby function. Every parameter of the linear predictor enters
through the offsets, so the kernel returns d loglik / d offset_s and X'(that) gives the
gradient for the coefficients. A threshold enters the sessions of the categories on either
side of it, as their upper or lower bound: the kernel also returns d loglik / d (upper bound
of session s), and the lower bound's derivative is minus the sum of the two others, since
moving both bounds and eta together changes nothing.

Two-level models use the same kernel with one "client" per group, sd_c = 0 and one inner
point, which makes the inner integral exact.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sessionmlm.engines.ml.quadrature_modes import MODE_MAX_ITER
from sessionmlm.engines.ml.quadrature_therapist import PARALLEL_WORK, _parallel, _serial


@dataclass(frozen=True)
class Nesting:
    """Sessions sorted by therapist then client, as offsets into the sorted arrays.

    Sessions of client c are client_start[c]:client_start[c+1]; clients of therapist t are
    therapist_start[t]:therapist_start[t+1].
    """

    client_start: np.ndarray  # (C + 1,) int64
    therapist_start: np.ndarray  # (T + 1,) int64

    @property
    def n_clients(self) -> int:
        """Number of clients (inner units)."""
        return len(self.client_start) - 1

    @property
    def n_therapists(self) -> int:
        """Number of therapists (outer units)."""
        return len(self.therapist_start) - 1


def nesting_from_codes(outer: np.ndarray, inner: np.ndarray) -> tuple[np.ndarray, Nesting]:
    """Order sessions by (outer, inner) unit and describe the nesting.

    Returns the permutation that sorts the sessions and the Nesting of the sorted sessions.
    inner codes must identify units within the whole data (a client code is never reused
    under another therapist).
    """
    order = np.lexsort((inner, outer))
    outer_sorted, inner_sorted = outer[order], inner[order]
    new_client = np.r_[True, inner_sorted[1:] != inner_sorted[:-1]]
    client_first = np.flatnonzero(new_client)
    client_start = np.r_[client_first, len(order)].astype(np.int64)
    outer_of_client = outer_sorted[client_first]
    new_therapist = np.r_[True, outer_of_client[1:] != outer_of_client[:-1]]
    therapist_start = np.r_[np.flatnonzero(new_therapist), len(client_first)].astype(np.int64)
    return order, Nesting(client_start, therapist_start)


def gauss_hermite(points: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes z and log(w exp(z^2)) of the Gauss-Hermite rule for int f(x) dx."""
    z, w = np.polynomial.hermite.hermgauss(points)
    return z, np.log(w) + z**2


class ModeNotFoundError(RuntimeError):
    """Newton's method did not find a conditional mode; the likelihood value is unreliable."""


@dataclass
class NestedQuadrature:
    """The marginal log-likelihood of one data set, with warm-started modes between calls.

    y and the offsets passed to evaluate must be in the sorted session order of nesting.
    """

    y: np.ndarray  # category index 0..K-1 (0/1 for a binary outcome)
    nesting: Nesting
    outer_points: int
    inner_points: int

    def __post_init__(self) -> None:
        self.zo, self.lwo = gauss_hermite(self.outer_points)
        self.zi, self.lwi = gauss_hermite(self.inner_points)
        self.mode_u = np.zeros(self.nesting.n_therapists)
        self.mode_v = np.zeros(self.nesting.n_clients)
        self.category = self.y.astype(np.int64)
        self._bounds_for: tuple[bytes | None, np.ndarray | None] = (None, None)

    def _bounds(self, theta: np.ndarray) -> np.ndarray:
        """Each session's (lo, hi, log width, width), as _session reads them (n, 4).

        The same for every evaluation at the same thresholds (a binary outcome's are fixed),
        so the last one is kept.
        """
        key = theta.tobytes()
        if self._bounds_for[0] != key:
            cut = np.r_[-np.inf, theta, np.inf]
            lo, hi = cut[self.category], cut[self.category + 1]
            with np.errstate(invalid="ignore"):  # -inf - inf at the ends, where it is unused
                width = np.where(np.isinf(lo) | np.isinf(hi), 1.0, -np.expm1(lo - hi))
            self._bounds_for = (key, np.column_stack([lo, hi, np.log(width), width]))
        return self._bounds_for[1]

    def unit_terms(
        self,
        offset: np.ndarray,
        sd_outer: float,
        sd_inner: float,
        thresholds: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Per-therapist log-likelihoods and SD derivatives (T,), per-session derivatives (n,).

        Returns (loglik, d/d offset, d/d upper bound, d/d sd_outer, d/d sd_inner), unsummed,
        for callers that weight therapists (quadrature_outer.py). thresholds as in evaluate,
        which must be in order here.
        """
        cuts = thresholds is not None
        theta = np.zeros(1) if thresholds is None else np.asarray(thresholds, dtype=np.float64)
        bounds = self._bounds(theta)
        work = len(self.y) * self.outer_points * self.inner_points
        kernel = _parallel if work >= PARALLEL_WORK else _serial
        loglik, grad, grad_hi, d_sdt, d_sdc, iters = kernel(
            np.ascontiguousarray(offset, dtype=np.float64),
            bounds,
            self.nesting.client_start,
            self.nesting.therapist_start,
            float(sd_outer),
            float(sd_inner),
            self.zo,
            self.lwo,
            self.zi,
            self.lwi,
            self.mode_u,
            self.mode_v,
            cuts,
        )
        if iters.max() >= MODE_MAX_ITER:
            raise ModeNotFoundError(
                f"no conditional mode found for {int((iters >= MODE_MAX_ITER).sum())} "
                f"therapist(s) at SDs ({sd_outer:.4g}, {sd_inner:.4g})"
            )
        return loglik, grad, grad_hi, d_sdt, d_sdc

    def threshold_gradient(self, grad: np.ndarray, grad_hi: np.ndarray, k: int) -> np.ndarray:
        """The thresholds' gradient (k,) from the sessions' offset and upper-bound derivatives."""
        # Session s's upper bound is theta[y_s], its lower bound theta[y_s - 1].
        upper = np.bincount(self.category, weights=grad_hi, minlength=k + 1)[:k]
        lower = np.bincount(self.category, weights=-grad - grad_hi, minlength=k + 1)[1:]
        return upper + lower

    def evaluate(
        self,
        offset: np.ndarray,
        sd_outer: float,
        sd_inner: float,
        thresholds: np.ndarray | None = None,
    ) -> tuple[float, np.ndarray, float, float, np.ndarray | None]:
        """Log-likelihood, its gradient in the offsets (n,), in the two SDs and in thresholds.

        thresholds (K - 1,) are an ordinal outcome's; None means the binary case (one
        threshold at 0) and no threshold gradient. Thresholds out of order give -inf.
        """
        if thresholds is not None and not np.all(np.diff(thresholds) > 0):
            return -np.inf, np.zeros(len(self.y)), 0.0, 0.0, np.zeros(len(thresholds))
        loglik, grad, grad_hi, d_sdt, d_sdc = self.unit_terms(
            offset, sd_outer, sd_inner, thresholds
        )
        d_theta = None
        if thresholds is not None:
            d_theta = self.threshold_gradient(grad, grad_hi, len(thresholds))
        return float(loglik.sum()), grad, float(d_sdt.sum()), float(d_sdc.sum()), d_theta
