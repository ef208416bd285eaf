"""Nested adaptive Gauss-Hermite quadrature for the random-intercept logistic model.

The model: logit P(y_s = 1) = offset_s + sd_t u_t + sd_c v_c, with u_t (therapist) and v_c
(client within therapist) independent standard normal. Each therapist contributes

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
gradient for the coefficients.

Two-level models use the same kernel with one "client" per group, sd_c = 0 and one inner
point, which makes the inner integral exact.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba as nb
import numpy as np

LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
SQRT2 = math.sqrt(2.0)
MODE_TOL = 1e-11  # Newton step size at which a mode counts as found
MODE_MAX_ITER = 100


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


@nb.njit(cache=True, error_model="numpy")
def _therapist(offset, y, cs, c0, c1, sdt, sdc, zo, lwo, zi, lwi, mode_u, mode_v, grad):
    """One therapist's log-likelihood and gradient; writes grad[s] for its sessions.

    Returns (loglik, d/d sd_t, d/d sd_c, worst Newton iteration count).
    """
    nc = c1 - c0
    s_first = cs[c0]
    s_last = cs[c1]
    nt = s_last - s_first
    v = mode_v[c0:c1]
    mu, worst = _joint_mode(offset, y, cs, c0, c1, sdt, sdc, mode_u[0], v)

    # Curvature at the joint mode and its derivatives (outer adaptation).
    W = np.empty(nc)
    Wp = np.empty(nc)
    R = np.empty(nc)
    J = np.empty(nc)
    w_s = np.empty(nt)
    wp_s = np.empty(nt)
    for k in range(nc):
        c = c0 + k
        W[k] = 0.0
        Wp[k] = 0.0
        R[k] = 0.0
        for s in range(cs[c], cs[c + 1]):
            p = _probability(offset[s] + sdt * mu + sdc * v[k])
            w = p * (1.0 - p)
            w_s[s - s_first] = w
            wp_s[s - s_first] = w * (1.0 - 2.0 * p)
            W[k] += w
            Wp[k] += w * (1.0 - 2.0 * p)
            R[k] += y[s] - p
        J[k] = 1.0 + sdc * sdc * W[k]
    S = 1.0
    Phi = 0.0
    for k in range(nc):
        S += sdt * sdt * W[k] / J[k]
        Phi += Wp[k] / J[k] ** 3
    tau = 1.0 / math.sqrt(S)
    half_tau3 = 0.5 * tau**3

    # d mu / d offset_s and d tau / d offset_s.
    dmu_o = np.empty(nt)
    dtau_o = np.empty(nt)
    for k in range(nc):
        c = c0 + k
        for s in range(cs[c], cs[c + 1]):
            i = s - s_first
            dmu = -sdt * w_s[i] / (J[k] * S)
            dS = (
                sdt
                * sdt
                * (sdt * dmu * Phi + wp_s[i] / J[k] ** 2 - sdc * sdc * w_s[i] * Wp[k] / J[k] ** 3)
            )
            dmu_o[i] = dmu
            dtau_o[i] = -half_tau3 * dS

    # d mu and d tau for the two SDs: solve the arrow system with right-hand sides b.
    Wsum = 0.0
    Rsum = 0.0
    WV = 0.0
    for k in range(nc):
        Wsum += W[k]
        Rsum += R[k]
        WV += W[k] * v[k]
    dmu_sd = np.zeros(2)
    dtau_sd = np.zeros(2)
    for which in range(2):
        if which == 0:
            bu = Rsum - sdt * Wsum * mu
        else:
            bu = -sdt * WV
        num = bu
        for k in range(nc):
            bc = -sdc * W[k] * mu if which == 0 else R[k] - sdc * W[k] * v[k]
            num -= sdt * sdc * W[k] * bc / J[k]
        dmu = num / S
        dS = 0.0
        for k in range(nc):
            bc = -sdc * W[k] * mu if which == 0 else R[k] - sdc * W[k] * v[k]
            dvk = (bc - sdt * sdc * W[k] * dmu) / J[k]
            deta = (mu if which == 0 else v[k]) + sdt * dmu + sdc * dvk
            dW = Wp[k] * deta
            if which == 0:
                dS += 2.0 * sdt * W[k] / J[k] + sdt * sdt * dW / J[k] ** 2
            else:
                dS += sdt * sdt * (dW - 2.0 * sdc * W[k] * W[k]) / J[k] ** 2
        dmu_sd[which] = dmu
        dtau_sd[which] = -half_tau3 * dS

    # Outer nodes; for each, every client's integral adapted at its conditional mode.
    Qo = len(zo)
    Qi = len(zi)
    lam = np.empty(Qo)
    u_q = np.empty(Qo)
    gprime = np.empty(Qo)
    G = np.empty((Qo, nt))  # total d log I_c(u_q) / d offset_s
    sumG = np.empty(Qo)
    GB = np.empty(Qo)
    max_n = 0
    for k in range(nc):
        max_n = max(max_n, cs[c0 + k + 1] - cs[c0 + k])
    r_buf = np.empty((Qi, max_n))
    w_buf = np.empty((2, max_n))
    h = np.empty(Qi)
    hp = np.empty(Qi)
    vr = np.empty(Qi)
    Rr = np.empty(Qi)
    for q in range(Qo):
        u = mu + SQRT2 * tau * zo[q]
        u_q[q] = u
        shift = sdt * u
        total = lwo[q] - 0.5 * u * u - LOG_SQRT_2PI
        sG = 0.0
        sGB = 0.0
        for k in range(nc):
            c = c0 + k
            s0 = cs[c]
            s1 = cs[c + 1]
            start = v[k] - sdt * sdc * W[k] / J[k] * (u - mu)
            m, Rm, Wm, Wpm, iters = _client_mode(offset, y, s0, s1, shift, sdc, start, w_buf)
            worst = max(worst, iters)
            Jm = 1.0 + sdc * sdc * Wm
            kappa = 1.0 / math.sqrt(Jm)
            hmax = -np.inf
            for r in range(Qi):
                vv = m + SQRT2 * kappa * zi[r]
                vr[r] = vv
                acc = lwi[r] - 0.5 * vv * vv - LOG_SQRT_2PI
                rsum = 0.0
                for s in range(s0, s1):
                    ll, p = _bernoulli(y[s], offset[s] + shift + sdc * vv)
                    acc += ll
                    r_buf[r, s - s0] = y[s] - p
                    rsum += y[s] - p
                h[r] = acc
                Rr[r] = rsum
                hp[r] = -vv + sdc * rsum
                hmax = max(hmax, acc)
            norm = 0.0
            for r in range(Qi):
                h[r] = math.exp(h[r] - hmax)
                norm += h[r]
            logI = math.log(SQRT2 * kappa) + hmax + math.log(norm)
            total += logI
            # Node weights, then partial derivatives with the adaptation held fixed.
            d_m = 0.0
            d_kappa = 1.0 / kappa
            d_sdc = 0.0
            for r in range(Qi):
                h[r] /= norm
                d_m += h[r] * hp[r]
                d_kappa += h[r] * hp[r] * SQRT2 * zi[r]
                d_sdc += h[r] * vr[r] * Rr[r]
            half_k3 = 0.5 * kappa**3
            # ... plus the adaptation's own derivatives (conditional mode and curvature).
            dm_sdc = (Rm - sdc * m * Wm) / Jm
            dJ_sdc = 2.0 * sdc * Wm + sdc * sdc * Wpm * (m + sdc * dm_sdc)
            GB_c = d_sdc + d_m * dm_sdc - d_kappa * half_k3 * dJ_sdc
            sGB += GB_c
            for s in range(s0, s1):
                w = w_buf[0, s - s0]
                wp = w_buf[1, s - s0]
                d_o = 0.0
                for r in range(Qi):
                    d_o += h[r] * r_buf[r, s - s0]
                dm_o = -sdc * w / Jm
                dJ_o = sdc * sdc * (wp + sdc * Wpm * dm_o)
                g = d_o + d_m * dm_o - d_kappa * half_k3 * dJ_o
                G[q, s - s_first] = g
                sG += g
        lam[q] = total
        sumG[q] = sG
        GB[q] = sGB
        gprime[q] = -u + sdt * sG

    lmax = lam.max()
    norm = 0.0
    for q in range(Qo):
        lam[q] = math.exp(lam[q] - lmax)
        norm += lam[q]
    loglik = math.log(SQRT2 * tau) + lmax + math.log(norm)
    K_mu = 0.0
    K_tau = 1.0 / tau
    d_sdt = 0.0
    d_sdc = 0.0
    for q in range(Qo):
        om = lam[q] / norm
        lam[q] = om
        K_mu += om * gprime[q]
        K_tau += om * gprime[q] * SQRT2 * zo[q]
        d_sdt += om * u_q[q] * sumG[q]
        d_sdc += om * GB[q]
    for i in range(nt):
        g = K_mu * dmu_o[i] + K_tau * dtau_o[i]
        for q in range(Qo):
            g += lam[q] * G[q, i]
        grad[s_first + i] = g
    d_sdt += K_mu * dmu_sd[0] + K_tau * dtau_sd[0]
    d_sdc += K_mu * dmu_sd[1] + K_tau * dtau_sd[1]
    mode_u[0] = mu
    return loglik, d_sdt, d_sdc, worst


def _all_therapists(offset, y, cs, ts, sdt, sdc, zo, lwo, zi, lwi, mode_u, mode_v):
    T = len(ts) - 1
    loglik = np.empty(T)
    d_sdt = np.empty(T)
    d_sdc = np.empty(T)
    iters = np.empty(T, dtype=np.int64)
    grad = np.empty(len(offset))
    for t in nb.prange(T):
        ll, a, b, it = _therapist(
            offset, y, cs, ts[t], ts[t + 1], sdt, sdc, zo, lwo, zi, lwi,
            mode_u[t : t + 1], mode_v, grad,
        )  # fmt: skip
        loglik[t] = ll
        d_sdt[t] = a
        d_sdc[t] = b
        iters[t] = it
    return loglik, grad, d_sdt, d_sdc, iters


# Threads pay off only on large data: starting them costs more than a small cohort's work.
_serial = nb.njit(cache=True, error_model="numpy")(_all_therapists)
_parallel = nb.njit(cache=True, error_model="numpy", parallel=True)(_all_therapists)
PARALLEL_WORK = 2_000_000  # sessions x outer points x inner points


class ModeNotFoundError(RuntimeError):
    """Newton's method did not find a conditional mode; the likelihood value is unreliable."""


@dataclass
class NestedQuadrature:
    """The marginal log-likelihood of one data set, with warm-started modes between calls.

    y and the offsets passed to evaluate must be in the sorted session order of nesting.
    """

    y: np.ndarray
    nesting: Nesting
    outer_points: int
    inner_points: int

    def __post_init__(self) -> None:
        self.zo, self.lwo = gauss_hermite(self.outer_points)
        self.zi, self.lwi = gauss_hermite(self.inner_points)
        self.mode_u = np.zeros(self.nesting.n_therapists)
        self.mode_v = np.zeros(self.nesting.n_clients)

    def evaluate(
        self, offset: np.ndarray, sd_outer: float, sd_inner: float
    ) -> tuple[float, np.ndarray, float, float]:
        """Log-likelihood, its gradient in the offsets (n,), and in the two SDs."""
        work = len(self.y) * self.outer_points * self.inner_points
        kernel = _parallel if work >= PARALLEL_WORK else _serial
        loglik, grad, d_sdt, d_sdc, iters = kernel(
            np.ascontiguousarray(offset, dtype=np.float64),
            self.y,
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
        )
        if iters.max() >= MODE_MAX_ITER:
            raise ModeNotFoundError(
                f"no conditional mode found for {int((iters >= MODE_MAX_ITER).sum())} "
                f"therapist(s) at SDs ({sd_outer:.4g}, {sd_inner:.4g})"
            )
        return float(loglik.sum()), grad, float(d_sdt.sum()), float(d_sdc.sum())
