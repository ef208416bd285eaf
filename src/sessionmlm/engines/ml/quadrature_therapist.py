"""Numba kernels of the quadrature: one therapist's integral and the loop over therapists.

engines/ml/quadrature.py describes the model and the adaptation these compute.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from sessionmlm import kernel_cache
from sessionmlm.engines.ml.quadrature_modes import (
    _client_mode,
    _joint_mode,
    _node,
    _slopes,
    _upper,
)

kernel_cache.register()  # before the first kernel: cached on every kernel file

LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
SQRT2 = math.sqrt(2.0)


@nb.njit(cache=True, error_model="numpy")
def _outer_shift(dr, dw, sdt, sdc, Jk, S, Phi, Wpk, half_tau3):
    """The shifts of mu and tau when one session of client k moves its r by dr and its w by dw.

    From the joint mode's equations by the implicit function theorem: the client's mode
    moves by (sdc dr - sdt sdc W_k dmu) / J_k, and S = 1 + sdt^2 sum_k W_k / J_k follows.
    """
    dmu = sdt * dr / (Jk * S)
    dS = sdt * sdt * (sdt * dmu * Phi + dw / Jk**2 + sdc * sdc * dr * Wpk / Jk**3)
    return dmu, -half_tau3 * dS


@nb.njit(cache=True, error_model="numpy")
def _therapist(
    offset, bounds, cs, c0, c1, sdt, sdc, zo, lwo, zi, lwi, mode_u, mode_v, grad, grad_hi, cuts
):
    """One therapist's log-likelihood and gradient; writes grad[s] for its sessions.

    With cuts, also grad_hi[s], the derivative in session s's upper threshold hi[s], which
    enters like an offset but through _upper's derivatives instead of _session's.
    Returns (loglik, d/d sd_t, d/d sd_c, worst Newton iteration count).
    """
    nc = c1 - c0
    s_first = cs[c0]
    s_last = cs[c1]
    nt = s_last - s_first
    v = mode_v[c0:c1]
    mu, worst = _joint_mode(offset, bounds, cs, c0, c1, sdt, sdc, mode_u[0], v)

    # Curvature at the joint mode and its derivatives (outer adaptation).
    W = np.empty(nc)
    Wp = np.empty(nc)
    R = np.empty(nc)
    J = np.empty(nc)
    w_s = np.empty(nt)
    wp_s = np.empty(nt)
    dr_hi = np.zeros(nt)  # derivatives of r and w in the upper threshold (cuts only)
    dw_hi = np.zeros(nt)
    for k in range(nc):
        c = c0 + k
        W[k] = 0.0
        Wp[k] = 0.0
        R[k] = 0.0
        for s in range(cs[c], cs[c + 1]):
            eta = offset[s] + sdt * mu + sdc * v[k]
            r, w, wp = _slopes(bounds, s, eta)
            w_s[s - s_first] = w
            wp_s[s - s_first] = wp
            if cuts:
                _, dr_hi[s - s_first], dw_hi[s - s_first] = _upper(bounds, s, eta)
            W[k] += w
            Wp[k] += wp
            R[k] += r
        J[k] = 1.0 + sdc * sdc * W[k]
    S = 1.0
    Phi = 0.0
    for k in range(nc):
        S += sdt * sdt * W[k] / J[k]
        Phi += Wp[k] / J[k] ** 3
    tau = 1.0 / math.sqrt(S)
    half_tau3 = 0.5 * tau**3

    # d mu and d tau in offset_s (which moves r_s by -w_s and w_s by w'_s) and, with cuts,
    # in hi_s (which moves them by dr_hi and dw_hi): one linear formula in (dr, dw).
    dmu_o = np.empty(nt)
    dtau_o = np.empty(nt)
    dmu_h = np.zeros(nt)
    dtau_h = np.zeros(nt)
    for k in range(nc):
        c = c0 + k
        for s in range(cs[c], cs[c + 1]):
            i = s - s_first
            dmu_o[i], dtau_o[i] = _outer_shift(
                -w_s[i], wp_s[i], sdt, sdc, J[k], S, Phi, Wp[k], half_tau3
            )
            if cuts:
                dmu_h[i], dtau_h[i] = _outer_shift(
                    dr_hi[i], dw_hi[i], sdt, sdc, J[k], S, Phi, Wp[k], half_tau3
                )

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
    Gh = np.zeros((Qo, nt)) if cuts else np.zeros((1, 1))  # the same in hi_s
    sumG = np.empty(Qo)
    GB = np.empty(Qo)
    max_n = 0
    for k in range(nc):
        max_n = max(max_n, cs[c0 + k + 1] - cs[c0 + k])
    r_buf = np.empty((Qi, max_n))
    a_buf = np.zeros((Qi, max_n))
    w_buf = np.zeros((4, max_n))
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
            m, Rm, Wm, Wpm, iters = _client_mode(
                offset, bounds, s0, s1, shift, sdc, start, w_buf, cuts
            )
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
                    eta = offset[s] + shift + sdc * vv
                    ll, rs, a_buf[r, s - s0] = _node(bounds, s, eta)
                    acc += ll
                    r_buf[r, s - s0] = rs
                    rsum += rs
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
                if cuts:
                    d_a = 0.0
                    for r in range(Qi):
                        d_a += h[r] * a_buf[r, s - s0]
                    dm_h = sdc * w_buf[2, s - s0] / Jm
                    dJ_h = sdc * sdc * (w_buf[3, s - s0] + sdc * Wpm * dm_h)
                    Gh[q, s - s_first] = d_a + d_m * dm_h - d_kappa * half_k3 * dJ_h
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
        if cuts:
            g = K_mu * dmu_h[i] + K_tau * dtau_h[i]
            for q in range(Qo):
                g += lam[q] * Gh[q, i]
            grad_hi[s_first + i] = g
    d_sdt += K_mu * dmu_sd[0] + K_tau * dtau_sd[0]
    d_sdc += K_mu * dmu_sd[1] + K_tau * dtau_sd[1]
    mode_u[0] = mu
    return loglik, d_sdt, d_sdc, worst


def _all_therapists(offset, bounds, cs, ts, sdt, sdc, zo, lwo, zi, lwi, mode_u, mode_v, cuts):
    T = len(ts) - 1
    loglik = np.empty(T)
    d_sdt = np.empty(T)
    d_sdc = np.empty(T)
    iters = np.empty(T, dtype=np.int64)
    grad = np.empty(len(offset))
    grad_hi = np.zeros(len(offset))
    for t in nb.prange(T):
        ll, a, b, it = _therapist(
            offset, bounds, cs, ts[t], ts[t + 1], sdt, sdc, zo, lwo, zi, lwi,
            mode_u[t : t + 1], mode_v, grad, grad_hi, cuts,
        )  # fmt: skip
        loglik[t] = ll
        d_sdt[t] = a
        d_sdc[t] = b
        iters[t] = it
    return loglik, grad, grad_hi, d_sdt, d_sdc, iters


# Threads pay off only on large data: starting them costs more than a small cohort's work.
_serial = nb.njit(cache=True, error_model="numpy")(_all_therapists)
_parallel = nb.njit(cache=True, error_model="numpy", parallel=True)(_all_therapists)
PARALLEL_WORK = 2_000_000  # sessions x outer points x inner points
