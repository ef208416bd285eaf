"""The maximum-likelihood engine: nested adaptive Gauss-Hermite quadrature on statsmodels.

The marginal likelihood integrates each client's intercept inside each therapist's by adaptive
quadrature (engines/quadrature.py); `points` = 1 gives the Laplace approximation of lme4 and
glmmTMB. The model is a statsmodels GenericLikelihoodModel, so a fit has the familiar summary,
AIC and BIC. Standard errors come from the Hessian (central differences of the exact gradient),
fixed effects get Wald intervals, and the SDs get profile-likelihood intervals, because their
sampling distribution is skewed and bounded at zero where Wald intervals are wrong.

The fit reports on itself: the Newton step left at the optimum (gradient), whether the Hessian
is positive definite, SDs estimated at zero (singular fit), and separation, which is detected
before any fitting and named by predictor instead of being reported as a huge odds ratio.
"""

from __future__ import annotations

import logging
import platform
import time
from dataclasses import asdict, dataclass
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from scipy import optimize, stats
from statsmodels.base.model import (
    GenericLikelihoodModel,
    GenericLikelihoodModelResults,
    LikelihoodModelResults,
)

from sessionmlm.engines import FitResult
from sessionmlm.engines.quadrature import (
    ModeNotFoundError,
    NestedQuadrature,
    Nesting,
    nesting_from_codes,
)
from sessionmlm.intervals import Z95
from sessionmlm.model_data import ModelData
from sessionmlm.variance import icc_by_level, median_odds_ratio

log = logging.getLogger(__name__)

CHI2_95 = stats.chi2.ppf(0.95, 1)
BOUNDARY_SD = 1e-4  # an SD at or below this is at the boundary (lme4's isSingular tolerance)
MAX_SD = 50.0  # no random-intercept SD on the log-odds scale is near this; a step there is wild
CHECK_EXTRA_POINTS = 8  # the fit's log-likelihood is recomputed with this many more points
QUADRATURE_TOLERANCE = 1e-3  # a larger change in log-likelihood means too few points


@dataclass(frozen=True)
class MlSettings:
    """Quadrature and convergence settings; defaults are documented in config/README.md."""

    points: int = 12  # quadrature points per level; 1 is the Laplace approximation
    max_iter: int = 500  # optimiser iterations per stage
    max_newton_step: float = 1e-4  # largest parameter change another Newton step may propose
    profile: bool = True  # profile-likelihood intervals for the SDs

    @classmethod
    def from_config(cls, settings: dict[str, Any]) -> MlSettings:
        """Build from the config's `ml` mapping, naming unknown keys."""
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(settings) - known)
        if unknown:
            raise ValueError(f"unknown ml setting(s) {unknown}; valid: {sorted(known)}")
        s = cls(**settings)
        if s.points < 1:
            raise ValueError(f"ml points must be at least 1, not {s.points}")
        return s


# --- Separation -------------------------------------------------------------------------------


def find_separation(X: np.ndarray, y: np.ndarray, names: list[str]) -> dict[str, Any] | None:
    """Detect complete or quasi-complete separation by linear programming (Konis 2007).

    Looks for a direction b != 0 with (2y - 1) x'b >= 0 for every session: one exists exactly
    when the maximum-likelihood estimate of some combination of coefficients is infinite.
    X includes the intercept column. Returns None, or which terms separate and how.
    """
    sign = 2.0 * y - 1.0
    scale = np.abs(X).max(axis=0)
    scale[scale == 0] = 1.0
    A = np.unique(np.column_stack([X / scale, sign]), axis=0)
    signed = A[:, :-1] * A[:, -1:]
    result = optimize.linprog(
        -signed.sum(axis=0),
        A_ub=-signed,
        b_ub=np.zeros(len(signed)),
        bounds=[(-1.0, 1.0)] * X.shape[1],
        method="highs",
    )
    tol = 1e-7 * len(signed)
    if result.status != 0 or -result.fun <= tol:
        return None
    direction = result.x / scale
    margin = signed @ result.x
    involved = [n for n, b, s in zip(names, result.x, scale, strict=True) if abs(b) > 1e-6]
    predictors = [n for n in involved if n != "Intercept"] or involved
    perfect = np.abs(margin) > 1e-9
    return {
        "kind": "complete" if perfect.all() else "quasi-complete",
        "terms": predictors,
        "direction": dict(zip(names, direction.tolist(), strict=True)),
        "sessions_perfectly_predicted": int(perfect.sum()),
        "sessions": int(len(y)),
    }


def separation_message(found: dict[str, Any], rows_by_term: dict[str, str]) -> str:
    """Plain words for a separation finding: which predictor, what it means, what to do."""
    detail = "; ".join(rows_by_term.get(t, t) for t in found["terms"])
    return (
        f"{found['kind']} separation by {', '.join(found['terms'])}: {detail}. The maximum-"
        "likelihood odds ratio is infinite, so no finite estimate is reported. Merge rare "
        "categories, drop the term, or use the bayes engine, whose prior keeps it finite."
    )


def _describe_separating_rows(data: ModelData, found: dict[str, Any]) -> dict[str, str]:
    out = {}
    for term in found["terms"]:
        if term not in data.terms:
            continue
        column = data.X[:, data.terms.index(term)]
        if set(np.unique(column)) <= {0.0, 1.0}:
            rows = column == 1
            positives = int(data.y[rows].sum())
            out[term] = f"{positives} of the {int(rows.sum())} sessions with {term} had the outcome"
    return out


# --- The likelihood model ---------------------------------------------------------------------


def _nesting(data: ModelData) -> tuple[np.ndarray, Nesting]:
    """Sort order and nesting for one or two grouping levels (two-level: one client per group)."""
    if len(data.groups) == 1:
        outer = data.unit_of_session[0]
        return nesting_from_codes(outer, outer)
    if len(data.groups) == 2:
        return nesting_from_codes(data.unit_of_session[0], data.unit_of_session[1])
    raise ValueError(
        f"the ml engine fits one or two nested grouping levels, not {len(data.groups)}"
    )


class NestedLogit(GenericLikelihoodModel):
    """Random-intercept logistic model with one or two nested levels, fitted by AGQ.

    Parameters: the fixed effects (Intercept first), then the SD of each level.
    """

    def __init__(self, y, exog, names, nesting, n_levels, points):
        super().__init__(y, exog, extra_params_names=[f"sd {g}" for g in names[1]])
        self.exog_names[: exog.shape[1]] = names[0]
        self.n_levels = n_levels
        inner = points if n_levels == 2 else 1
        self.quadrature = NestedQuadrature(y.astype(np.float64), nesting, points, inner)
        self.k_fixed = exog.shape[1]
        self.evaluations = 0
        self._cached = (None, None)

    def evaluate(self, params):
        """Log-likelihood and its gradient, computed once per parameter vector."""
        key = np.asarray(params, dtype=np.float64).tobytes()
        if self._cached[0] != key:
            p = np.asarray(params, dtype=np.float64)
            beta, sds = p[: self.k_fixed], p[self.k_fixed :]
            sd_inner = sds[1] if self.n_levels == 2 else 0.0
            ll, g_off, d_outer, d_inner = self.quadrature.evaluate(
                self.exog @ beta, sds[0], sd_inner
            )
            grad = np.r_[self.exog.T @ g_off, d_outer, d_inner][: len(p)]
            self.evaluations += 1
            self._cached = (key, (ll, grad))
        return self._cached[1]

    def loglike(self, params):
        """Marginal log-likelihood at params."""
        return self.evaluate(params)[0]

    def score(self, params):
        """Exact gradient of the log-likelihood at params."""
        return self.evaluate(params)[1].copy()

    def hessian(self, params):
        """Forward differences of the exact gradient, symmetrised.

        The gradient is exact, so forward differences with steps of 1e-5 give the
        Hessian to about 1e-5 relative, ample for standard errors, at half the cost of
        central differences.
        """
        p = np.asarray(params, dtype=np.float64)
        g0 = self.score(p)
        steps = 1e-5 * np.maximum(1.0, np.abs(p))
        columns = []
        for i, h in enumerate(steps):
            e = np.zeros_like(p)
            e[i] = h
            columns.append((self.score(p + e) - g0) / h)
        H = np.column_stack(columns)
        return (H + H.T) / 2


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


def _free(params: np.ndarray, k_fixed: int) -> np.ndarray:
    """Mask of parameters not at the boundary (SDs at zero are held there)."""
    free = np.ones(len(params), dtype=bool)
    free[k_fixed:] = np.abs(params[k_fixed:]) > BOUNDARY_SD
    return free


def _at_boundary_to_zero(params: np.ndarray, k_fixed: int) -> np.ndarray:
    p = params.copy()
    p[k_fixed:] = np.abs(p[k_fixed:])
    p[k_fixed:][p[k_fixed:] <= BOUNDARY_SD] = 0.0
    return p


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
        params = _at_boundary_to_zero(params, model.k_fixed)
        free = _free(params, model.k_fixed)
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


# --- Profile likelihood -----------------------------------------------------------------------


def _solve_end(signed_root, sd, guess, target, floor, tol=1e-4):
    """Solve signed_root(x) = target by the secant method from (sd, 0) and guess.

    The signed root is close to linear in the SD, so two or three profile points usually
    suffice. Steps stay beyond floor (the estimate for the upper end, zero for the lower):
    a lower end at or below zero is zero.
    """
    x0, r0 = sd, 0.0
    x1 = guess
    for _ in range(30):
        r1 = signed_root(x1)
        if abs(r1 - target) < tol:
            return x1
        if floor == 0.0 and x1 == 0.0 and r1 >= target:
            return 0.0  # the SD can be zero within the interval
        x2 = x1 + (target - r1) * (x1 - x0) / (r1 - r0) if r1 != r0 else 2 * x1
        if target > 0 and x2 <= floor:
            x2 = (x1 + floor) / 2
        elif target < 0 and x2 >= sd:
            x2 = x1 / 2
        elif target < 0 and x2 < 0:
            x2 = 0.0
        x0, r0, x1 = x1, r1, x2
    return np.nan  # not found: reported as such, never as an end


def profile_interval(model, params, loglik, index, H) -> tuple[float, float, int]:
    """95% profile-likelihood interval for the SD at params[index].

    The ends are where the signed root of twice the drop in log-likelihood reaches -1.96 and
    1.96; the lower end is 0 when the SD can be zero within that. Each profile point
    maximises over the other parameters, started from their linear prediction off the
    Hessian. Returns (low, high, evaluations).
    """
    before = model.evaluations
    k = len(params)
    others = np.array([i for i in range(k) if i != index])
    sd = params[index]
    if np.all(np.isfinite(H)):
        H_oo = H[np.ix_(others, others)]
        hess_inv = inverse_metric(H_oo)
        slope = hess_inv @ H[others, index]
        curvature = -(H[index, index] + H[index, others] @ slope)
    else:
        slope, hess_inv, curvature = np.zeros(k - 1), None, 0.0
    se = 1 / np.sqrt(curvature) if curvature > 0 and sd > BOUNDARY_SD else max(sd, 0.5)

    solved = {sd: params}  # profile points so far: SD value -> maximising parameters

    def signed_root(value: float) -> float:
        nearest = min(solved, key=lambda x: abs(x - value))
        start = solved[nearest].copy()
        start[others] += slope * (value - nearest)
        start[index] = value
        # A gradient of 1e-4 leaves the profile log-likelihood within about 1e-8 / (the
        # smallest curvature) of its maximum: far below what moves an interval end.
        p = _maximise(model, start, hess_inv, fixed=index, gtol=1e-4)
        solved[value] = p
        drop = max(loglik - model.loglike(p), 0.0)
        return np.sign(value - sd) * np.sqrt(2 * drop)

    upper = _solve_end(signed_root, sd, sd + Z95 * se, Z95, floor=sd)
    if sd <= BOUNDARY_SD:
        lower = 0.0
    else:
        lower = _solve_end(signed_root, sd, max(sd - Z95 * se, sd / 4), -Z95, floor=0.0)
    return lower, upper, model.evaluations - before


# --- The engine -------------------------------------------------------------------------------


def _start_values(exog: np.ndarray, y: np.ndarray, n_levels: int):
    """Ordinary logistic regression for the coefficients, 0.5 for each SD.

    Also returns an inverse-Hessian guess for BFGS: the logistic regression's covariance,
    and 0.05 for each SD, so that the first steps are on the right scale.
    """
    beta = np.zeros(exog.shape[1])
    for _ in range(50):
        p = 1 / (1 + np.exp(-(exog @ beta)))
        information = exog.T @ (exog * (p * (1 - p))[:, None])
        step = np.linalg.solve(information, exog.T @ (y - p))
        beta += step
        if np.max(np.abs(step)) < 1e-10:
            break
    k = exog.shape[1]
    hess_inv = np.zeros((k + n_levels, k + n_levels))
    hess_inv[:k, :k] = np.linalg.inv(information)
    hess_inv[k:, k:] = 0.05 * np.eye(n_levels)
    return np.r_[beta, np.full(n_levels, 0.5)], hess_inv


def versions() -> dict[str, str]:
    """Versions of the packages that produced a fit."""
    from importlib.metadata import version

    names = ["statsmodels", "scipy", "numpy", "numba", "pandas"]
    return {"python": platform.python_version(), **{n: version(n) for n in names}}


def _set_threads(threads: int) -> None:
    import numba

    numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))


def fit_model(data: ModelData, settings: MlSettings):
    """Fit and return (statsmodels results, diagnostics dict, timings dict).

    The optimiser runs the Laplace approximation first (cheap) and starts the quadrature fit
    from its optimum.
    """
    order, nesting = _nesting(data)
    y = data.y[order]
    exog = np.column_stack([np.ones(len(y)), data.X[order]])
    names = (["Intercept", *data.terms], list(data.groups))
    n_levels = len(data.groups)
    timings = {}

    start = time.perf_counter()
    params, hess_inv = _start_values(exog, y, n_levels)
    laplace = NestedLogit(y, exog, names, nesting, n_levels, 1)
    params = _maximise(laplace, params, hess_inv, max_iter=settings.max_iter)
    model = laplace
    if settings.points > 1:
        # The Laplace optimum and curvature start the quadrature fit close to its end.
        params = _at_boundary_to_zero(params, laplace.k_fixed)
        hess_inv = inverse_metric(laplace.hessian(params))
        model = NestedLogit(y, exog, names, nesting, n_levels, settings.points)
        params = _maximise(model, params, hess_inv, max_iter=settings.max_iter)
    timings["optimise"] = time.perf_counter() - start

    start = time.perf_counter()
    # Where BFGS stopped short of the maximum (at a saddle, say), the polish's modified
    # Newton steps carry on uphill.
    params, H, g, step, free, eigenvalues = _newton_polish(model, params)
    timings["hessian"] = time.perf_counter() - start
    Hf = H[np.ix_(free, free)]
    positive_definite = bool(np.all(eigenvalues > 0))
    cov = np.full(H.shape, np.nan)
    if positive_definite:
        cov[np.ix_(free, free)] = np.linalg.inv(-Hf)
    fitted = LikelihoodModelResults(model, params, cov, scale=1.0)
    result = GenericLikelihoodModelResults(model, fitted)
    loglik = model.loglike(params)

    # How far the answer is from a finer rule: the quadrature's own error, at the optimum.
    finer = NestedLogit(y, exog, names, nesting, n_levels, settings.points + CHECK_EXTRA_POINTS)
    quadrature_gap = finer.loglike(params) - loglik

    boundary = [g for g, sd in zip(data.groups, params[model.k_fixed :], strict=True)
                if sd <= BOUNDARY_SD]  # fmt: skip
    diagnostics = {
        "points": settings.points,
        "method": "Laplace" if settings.points == 1 else "adaptive Gauss-Hermite quadrature",
        "gradient_max_abs": float(np.max(np.abs(g[free]))),
        "newton_step_max": float(np.max(np.abs(step))),
        "hessian_positive_definite": positive_definite,
        "hessian_min_eigenvalue": float(eigenvalues.min()),
        "boundary": boundary,
        "quadrature_check": {
            "points": settings.points + CHECK_EXTRA_POINTS,
            "loglik_difference": float(quadrature_gap),
        },
        "function_evaluations": sum({id(m): m.evaluations for m in (laplace, model)}.values()),
    }

    intervals = {}
    start = time.perf_counter()
    if settings.profile:
        for k, group in enumerate(data.groups):
            index = model.k_fixed + k
            low, high, evaluations = profile_interval(model, params, loglik, index, H)
            intervals[group] = (low, high)
            if not np.isfinite(low) or not np.isfinite(high):
                diagnostics.setdefault("profile_not_found", []).append(group)
            log.info("profile interval for sd %s: %.3f to %.3f (%d evaluations)",
                     group, low, high, evaluations)  # fmt: skip
    timings["profile"] = time.perf_counter() - start
    return result, loglik, diagnostics, intervals, timings


def _problems(diagnostics: dict[str, Any], s: MlSettings) -> tuple[list[str], list[str]]:
    """Failures (the fit cannot be trusted) and warnings (it can, with a caveat)."""
    problems, notes = [], []
    if not diagnostics["hessian_positive_definite"]:
        problems.append(
            "the Hessian is not positive definite (smallest eigenvalue "
            f"{diagnostics['hessian_min_eigenvalue']:.3g}): the optimum is not a proper "
            "maximum, so standard errors are not available"
        )
    if not diagnostics["newton_step_max"] <= s.max_newton_step:
        problems.append(
            f"not converged: another Newton step would move the estimates by up to "
            f"{diagnostics['newton_step_max']:.3g} (> {s.max_newton_step:g}); gradient "
            f"{diagnostics['gradient_max_abs']:.3g}"
        )
    check = diagnostics["quadrature_check"]
    if abs(check["loglik_difference"]) > QUADRATURE_TOLERANCE:
        if s.points == 1:
            method, advice = "the Laplace approximation", "use quadrature (ml.points: 12)"
        else:
            method = f"{s.points}-point quadrature"
            advice = "set ml.points higher (40 or more for SDs around 3)"
        notes.append(
            f"{method} is not accurate here: {check['points']} points change the "
            f"log-likelihood by {check['loglik_difference']:.2g} at the estimates. Large "
            f"variances with few sessions per client need more points; {advice}."
        )
    for group in diagnostics.get("profile_not_found", []):
        notes.append(
            f"the profile-likelihood interval for the SD of {group} was not found (the search "
            "for its ends did not settle), so it is left empty; the SD itself is valid."
        )
    for group in diagnostics["boundary"]:
        notes.append(
            f"singular fit: the SD of {group} is estimated at 0, so these data show no "
            f"variation between {group}s beyond what the other levels explain. The estimates "
            f"are valid and equal those of the model without the {group} level; the profile "
            "interval shows how much variation the data still allow."
        )
    return problems, notes


def fit(data: ModelData, settings: dict[str, Any] | MlSettings, threads: int = 2) -> FitResult:
    """Fit data with the ml engine and return the output contract."""
    s = settings if isinstance(settings, MlSettings) else MlSettings.from_config(settings)
    _set_threads(threads)
    start = time.perf_counter()
    names = ["Intercept", *data.terms]
    exog = np.column_stack([np.ones(len(data.y)), data.X])
    separation = find_separation(exog, data.y, names)
    info = {
        "engine": "ml",
        **data.record(),
        "settings": asdict(s),
        "terms": names,
        "seed": None,
        "versions": versions(),
    }
    if separation is not None:
        message = separation_message(separation, _describe_separating_rows(data, separation))
        log.warning("%s", message)
        diagnostics = {"separation": separation}
        return _failed_result(data, info | diagnostics, message, diagnostics, start)
    try:
        result, loglik, diagnostics, intervals, timings = fit_model(data, s)
    except ModeNotFoundError as error:
        message = (
            f"the likelihood could not be evaluated near the estimates ({error}); the model "
            "asks more of these data than they hold: drop predictors, or use the bayes engine"
        )
        log.warning("%s", message)
        return _failed_result(data, info, message, {"separation": None}, start)
    diagnostics["separation"] = None
    problems, notes = _problems(diagnostics, s)
    k = len(result.params)
    n = len(data.y)
    estimates = _estimates(names, result)
    variance = _variance(data, result.params[len(names) :], intervals)
    info |= {
        "converged": not problems,
        "status": "ok" if not problems else "failed",
        "problems": problems,
        "warnings": notes,
        "loglik": float(loglik),
        "n_params": k,
        "aic": float(-2 * loglik + 2 * k),
        "bic": float(-2 * loglik + np.log(n) * k),
        "diagnostics": diagnostics,
        "wall_seconds": {"total": round(time.perf_counter() - start, 3)}
        | {key: round(v, 3) for key, v in timings.items()},
        # The fixed effects' covariance (inverse negative Hessian), for meta-analyses and tests.
        "vcov": {
            "terms": names,
            "matrix": result.cov_params()[: len(names), : len(names)].tolist(),
        },
        "summary": str(result.summary()).splitlines(),
    }
    log.info("statsmodels summary:\n%s", "\n".join(info["summary"]))
    return FitResult(estimates=estimates, variance=variance, info=info)


def _estimates(names: list[str], result) -> pd.DataFrame:
    k = len(names)
    est = np.asarray(result.params[:k])
    se = np.sqrt(np.diag(result.cov_params())[:k])
    z = est / se
    return pd.DataFrame(
        {
            "term": names,
            "estimate": est,
            "std_error": se,
            "ci_low": est - Z95 * se,
            "ci_high": est + Z95 * se,
            "odds_ratio": np.exp(est),
            "or_low": np.exp(est - Z95 * se),
            "or_high": np.exp(est + Z95 * se),
            "p_value": 2 * stats.norm.sf(np.abs(z)),
            "z": z,
        }
    )


def _variance(data: ModelData, sds: np.ndarray, intervals: dict) -> pd.DataFrame:
    groups = list(data.groups)
    low = np.array([intervals.get(g, (np.nan, np.nan))[0] for g in groups])
    high = np.array([intervals.get(g, (np.nan, np.nan))[1] for g in groups])
    return pd.DataFrame(
        {
            "level": groups,
            "sd": sds,
            "sd_low": low,
            "sd_high": high,
            "icc": icc_by_level(sds),
            "mor": median_odds_ratio(sds),
            "mor_low": median_odds_ratio(low),
            "mor_high": median_odds_ratio(high),
            "interval": "profile likelihood",
            "at_boundary": sds <= BOUNDARY_SD,
            "units": list(data.n_units),
        }
    )


def _failed_result(
    data: ModelData, info: dict, message: str, diagnostics: dict, start: float
) -> FitResult:
    """The output contract for a fit that produced no estimates: NaN everywhere, the reason."""
    names = info["terms"]
    nan = np.full(len(names), np.nan)
    estimates = pd.DataFrame(
        {"term": names, "estimate": nan, "std_error": nan, "ci_low": nan, "ci_high": nan,
         "odds_ratio": nan, "or_low": nan, "or_high": nan, "p_value": nan}
    )  # fmt: skip
    groups = list(data.groups)
    nan_g = np.full(len(groups), np.nan)
    variance = pd.DataFrame(
        {"level": groups, "sd": nan_g, "sd_low": nan_g, "sd_high": nan_g, "icc": nan_g,
         "mor": nan_g}
    )  # fmt: skip
    info |= {
        "converged": False,
        "status": "failed",
        "problems": [message],
        "warnings": [],
        "diagnostics": diagnostics,
        "wall_seconds": {"total": round(time.perf_counter() - start, 3)},
    }
    return FitResult(estimates=estimates, variance=variance, info=info)
