"""Maximising the likelihood: BFGS, then modified Newton steps with the Hessian."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import optimize

from sessionmlm.engines.ml.quadrature import ModeNotFoundError

MAX_SD = 50.0  # no random-intercept SD on the log-odds scale is near this; a step there is wild


def _maximise(model, start, hess_inv, fixed: int | None = None, gtol=1e-5, max_iter=500):
    """BFGS on minus the log-likelihood, optionally with one parameter held fixed.

    fixed is that parameter's index; it stays at its value in start. gtol is the largest
    gradient component allowed at the end, per 1,000 sessions (the gradient grows with the
    data). Newton steps polish the result afterwards, so it need not be tight; much tighter
    than 1e-5 only makes the line search fail on rounding.

    SDs are not bounded: the likelihood is even in each SD (u and -u have the same normal
    density), so an SD's optimum at zero is reached smoothly from either side and its sign
    is dropped afterwards. Returns the full parameter vector.
    """
    free = np.ones(len(start), dtype=bool)
    if fixed is not None:
        free[fixed] = False

    def full(x):
        p = start.copy()
        p[free] = x
        return p

    def objective(x):
        """Minus the log-likelihood and its gradient; a wild trial step reads as very bad."""
        p = full(x)
        ll = _safe_loglike(model, p)
        if not np.isfinite(ll):
            return 1e100, np.zeros(len(x))
        return -ll, -model.score(p)[free]

    if hess_inv is not None:
        hess_inv = (hess_inv + hess_inv.T) / 2  # scipy insists on exact symmetry
    result = optimize.minimize(
        objective,
        start[free],
        jac=True,
        method="BFGS",
        options={
            "gtol": gtol * max(1.0, len(model.endog) / 1000),
            "norm": np.inf,
            "maxiter": max_iter,
            "hess_inv0": hess_inv,
        },
    )
    return full(result.x)


def climb(model, start, metric, fixed: int, gain_tol=1e-6, max_steps=30):
    """Maximise over every parameter but start[fixed], from a start near the maximum.

    For profile points, which need the maximum's value, not a tight gradient: quasi-Newton
    steps from metric (a positive definite stand-in for minus the inverse Hessian of the free
    parameters, updated by BFGS) until the gain the next step predicts, g'Mg/2, is below
    gain_tol. The log-likelihood is then within about gain_tol of its maximum, 1e-6 of the
    1.92 an interval end is placed at. This takes 2-3 gradients a point where BFGS to a
    gradient tolerance took 6-11. Falls back to that BFGS if the steps do not settle.
    """
    free = np.ones(len(start), dtype=bool)
    free[fixed] = False
    p, ll = start.copy(), _safe_loglike(model, start)
    if metric is None or not np.isfinite(ll):
        return _maximise(model, start, metric, fixed=fixed, gtol=1e-4)
    M, g = metric.copy(), model.score(p)[free]
    for _ in range(max_steps):
        step = M @ g
        if g @ step / 2 < gain_tol:
            return p
        for halving in range(20):  # backtrack until the step gains (Armijo)
            trial = p.copy()
            trial[free] += step / 2**halving
            new = _safe_loglike(model, trial)
            if new >= ll + 1e-4 * (g @ step) / 2**halving:
                break
        else:
            break
        g_new = model.score(trial)[free]
        s, y = trial[free] - p[free], g - g_new
        if s @ y > 1e-12:  # BFGS update of the inverse; skipped where it would lose definiteness
            rho = 1 / (s @ y)
            left = np.eye(len(s)) - rho * np.outer(s, y)
            M = left @ M @ left.T + rho * np.outer(s, s)
        p, ll, g = trial, new, g_new
    return _maximise(model, p, M, fixed=fixed, gtol=1e-4)


def _safe_loglike(model, params: np.ndarray) -> float:
    """The log-likelihood, or -inf where a trial step went somewhere no mode can be found."""
    if np.any(np.abs(params[model.k_fixed :]) > MAX_SD):
        return -np.inf
    try:
        return model.loglike(params)
    except ModeNotFoundError:
        return -np.inf


def inverse_metric(H: np.ndarray) -> np.ndarray:
    """A positive definite stand-in for (-H)^-1, to start BFGS and predict profile paths.

    At a boundary (an SD at zero) or far from the optimum -H need not be positive definite;
    its eigenvalues are then floored at 1e-6 of the largest, as in modified Newton methods.
    """
    values, vectors = np.linalg.eigh(-(H + H.T) / 2)
    # The absolute floor of 1 keeps a flat direction (an SD at zero) from sending BFGS's
    # first step to absurd values; BFGS's updates then learn the true curvature.
    values = np.maximum(values, max(1e-6 * values.max(), 1.0))
    return (vectors / values) @ vectors.T


class Polished(NamedTuple):
    """Where the Newton polish ended, with the Hessian and what was derived from it there."""

    params: np.ndarray
    H: np.ndarray  # the finite-difference Hessian, all parameters
    g: np.ndarray  # the gradient at params
    step: np.ndarray  # the step still proposed at params (free parameters only)
    free: np.ndarray  # mask of the parameters not at the boundary, which H was used over
    curvature: np.ndarray  # eigenvalues of -H over the free parameters


def _newton_step(Hf: np.ndarray, metric: np.ndarray | None, g: np.ndarray) -> np.ndarray:
    """The Newton step -Hf^-1 g, or the modified step metric @ g when metric is given.

    metric (from inverse_metric) stands in for (-Hf)^-1 where -Hf is not positive definite.
    """
    return -np.linalg.solve(Hf, g) if metric is None else metric @ g


def _newton_polish(model, params: np.ndarray, max_steps: int = 10) -> Polished:
    """Newton steps with the finite-difference Hessian until the step is negligible.

    Where -H is not positive definite (not at a maximum yet, e.g. a saddle near an SD of
    zero), the step is a modified Newton step with the curvature's eigenvalues floored
    (inverse_metric), which still goes uphill: this is what escapes a saddle at which BFGS
    stopped. The step still proposed at the end is the convergence criterion.
    """
    for _ in range(max_steps + 1):
        params = model.canonical(params)
        free = model.free(params)
        H = model.hessian(params)
        g = model.score(params)
        Hf = H[np.ix_(free, free)]
        try:
            curvature = np.linalg.eigvalsh(-Hf)
            metric = None if np.all(curvature > 0) else inverse_metric(Hf)
            step = _newton_step(Hf, metric, g[free])
        except np.linalg.LinAlgError:
            unknown = np.full(free.sum(), np.nan)
            return Polished(params, H, g, np.full(free.sum(), np.inf), free, unknown)
        if np.max(np.abs(step)) < 1e-6:
            # One more step from here moves the estimates by under 1e-6: take it without a
            # new Hessian (which changes negligibly over such a step) and report what is left.
            trial = params.copy()
            trial[free] += step
            if _safe_loglike(model, trial) >= model.loglike(params):
                params = trial
                g = model.score(params)
                step = _newton_step(Hf, metric, g[free])
            return Polished(params, H, g, step, free, curvature)
        ll = model.loglike(params)
        for halving in range(20):
            trial = params.copy()
            trial[free] += step / 2**halving
            if _safe_loglike(model, trial) >= ll - 1e-10:
                break
        else:
            # The whole step is still wanted: not converged.
            return Polished(params, H, g, step, free, curvature)
        params = trial
    return Polished(params, H, g, step, free, curvature)
