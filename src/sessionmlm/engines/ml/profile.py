"""Profile-likelihood intervals for the SDs, whose Wald intervals are wrong near zero."""

from __future__ import annotations

import numpy as np

from sessionmlm.engines.ml.optimise import _safe_loglike, climb, inverse_metric
from sessionmlm.engines.ml.settings import BOUNDARY_SD
from sessionmlm.intervals import Z95


def _solve_end(signed_root, sd, guess, target, floor, tol=1e-4, close=5e-3):
    """Solve signed_root(x) = target by the secant method from (sd, 0) and guess.

    The signed root is close to linear in the SD, so two or three profile points usually
    suffice. Once a point is within close of the target, the secant step from it is taken
    without another profile point: its error is of the order of the product of the last two
    points' errors, far below the rounding of a reported end (each point is a full
    maximisation, a third of a second each at 10^5 sessions). Steps stay beyond floor (the
    estimate for the upper end, zero for the lower): a lower end at or below zero is zero.
    """
    x0, r0 = sd, 0.0
    x1 = guess
    for _ in range(30):
        r1 = signed_root(x1)
        if not np.isfinite(r1):
            return np.nan
        if abs(r1 - target) < tol:
            return x1
        if floor == 0.0 and x1 == 0.0 and r1 >= target:
            return 0.0  # the SD can be zero within the interval
        x2 = x1 + (target - r1) * (x1 - x0) / (r1 - r0) if r1 != r0 else 2 * x1
        if abs(r1 - target) < close and r1 != r0 and (x2 > floor if target > 0 else x2 >= 0):
            return x2
        if target > 0 and x2 <= floor:
            x2 = (x1 + floor) / 2
        elif target < 0 and x2 >= sd:
            x2 = x1 / 2
        elif target < 0 and x2 < 0:
            x2 = 0.0
        x0, r0, x1 = x1, r1, x2
    return np.nan  # not found: reported as such, never as an end


def _profile(model, params, loglik, index, H):
    """The signed root of the profile at params[index] = value, and that parameter's Wald SE.

    Each profile point maximises over the other parameters, started from their linear
    prediction off the Hessian (or, where that cannot be computed, from the nearest point).
    """
    k = len(params)
    others = np.array([i for i in range(k) if i != index])
    estimate = params[index]
    if np.all(np.isfinite(H)):
        H_oo = H[np.ix_(others, others)]
        hess_inv = inverse_metric(H_oo)
        slope = hess_inv @ H[others, index]
        curvature = -(H[index, index] + H[index, others] @ slope)
    else:
        slope, hess_inv, curvature = np.zeros(k - 1), None, 0.0
    se = 1 / np.sqrt(curvature) if curvature > 0 else np.nan

    solved = {estimate: params}  # profile points so far: value -> maximising parameters

    def signed_root(value: float) -> float:
        nearest = min(solved, key=lambda x: abs(x - value))
        start = solved[nearest].copy()
        start[index] = value
        predicted = start.copy()
        predicted[others] += slope * (value - nearest)
        # Off an ill-conditioned Hessian (another SD at zero) the linear prediction can land
        # where no likelihood is computable: then start from the nearest point as it is.
        if np.isfinite(_safe_loglike(model, predicted)):
            start = predicted
        p = climb(model, start, hess_inv, fixed=index)
        solved[value] = p
        at = _safe_loglike(model, p)
        if not np.isfinite(at):
            return np.nan  # not computable there: the end is reported as not found
        drop = max(loglik - at, 0.0)
        return np.sign(value - estimate) * np.sqrt(2 * drop)

    return signed_root, se


def profile_interval(model, params, loglik, index, H) -> tuple[float, float, int]:
    """95% profile-likelihood interval for the SD at params[index].

    The ends are where the signed root of twice the drop in log-likelihood reaches -1.96 and
    1.96; the lower end is 0 when the SD can be zero within that. Returns (low, high,
    evaluations).
    """
    before = model.evaluations
    sd = params[index]
    signed_root, se = _profile(model, params, loglik, index, H)
    se = se if np.isfinite(se) and sd > BOUNDARY_SD else max(sd, 0.5)
    upper = _solve_end(signed_root, sd, sd + Z95 * se, Z95, floor=sd)
    if sd <= BOUNDARY_SD:
        lower = 0.0
    else:
        lower = _solve_end(signed_root, sd, max(sd - Z95 * se, sd / 4), -Z95, floor=0.0)
    return lower, upper, model.evaluations - before


CORRELATION_EDGE = 0.999  # an end the profile does not reach by here is +-1
MAX_STEP = 0.5  # on the atanh scale: each profile point starts from the one before


def profile_correlation(model, params, loglik, index, H) -> tuple[float, float, int]:
    """95% profile-likelihood interval for the correlation whose atanh is params[index].

    Walks outward from the estimate on the atanh scale, each profile point started from the
    one before (a far jump can land the other parameters at the opposite correlation, since
    flipping an SD's sign flips the correlation's), by secant steps of at most MAX_STEP; the
    crossing of the signed root through +-1.96 is then refined by regula falsi. Where the
    profile has not dropped far enough by +-0.999, the data allow a perfect correlation and
    the end is +-1. (A Wald interval on the atanh scale covered a true -0.4 in about half of
    demo-shaped data sets: the likelihood is far from quadratic there.)
    """
    before = model.evaluations
    signed_root, se = _profile(model, params, loglik, index, H)
    first = min(Z95 * se, MAX_STEP) if np.isfinite(se) else MAX_STEP
    estimate, edge = params[index], float(np.arctanh(CORRELATION_EDGE))
    ends = []
    for direction in (-1.0, 1.0):
        ends.append(_walk(signed_root, estimate, direction, first, edge))
    return ends[0], ends[1], model.evaluations - before


def _walk(signed_root, estimate: float, direction: float, first: float, edge: float) -> float:
    """One end of the correlation's interval (see profile_correlation), on its own scale."""
    target = direction * Z95
    if direction * estimate >= edge:
        return direction  # the estimate is at this boundary
    a, fa = estimate, -target  # f = signed root - target
    b = min(estimate + direction * first, edge) if direction > 0 else max(estimate - first, -edge)
    for _ in range(25):
        fb = signed_root(b) - target
        if not np.isfinite(fb):
            return np.nan
        if np.sign(fb) != np.sign(fa):
            return float(np.tanh(_refine(signed_root, target, a, fa, b, fb)))
        if abs(b) >= edge:
            return direction
        step = (b - a) * -fb / (fb - fa) if fb != fa else direction * MAX_STEP
        step = direction * min(max(direction * step, 0.05), MAX_STEP)
        a, fa, b = b, fb, float(np.clip(b + step, -edge, edge))
    return np.nan


def _refine(signed_root, target, a, fa, b, fb) -> float:
    """Regula falsi (Illinois) for signed_root = target between a and b, which bracket it."""
    side, c = 0, b
    for _ in range(30):
        c = b - fb * (b - a) / (fb - fa)
        fc = signed_root(c) - target
        if not np.isfinite(fc):
            return np.nan
        if abs(fc) < 5e-3:  # 0.005 in the signed root: well under 0.01 in the end
            return c
        if np.sign(fc) == np.sign(fb):
            b, fb = c, fc
            fa, side = (fa / 2 if side == -1 else fa), -1
        else:
            a, fa = c, fc
            fb, side = (fb / 2 if side == 1 else fb), 1
    return c
