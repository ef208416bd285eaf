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
from dataclasses import asdict
from typing import Any

import numpy as np
from statsmodels.base.model import GenericLikelihoodModelResults, LikelihoodModelResults

from sessionmlm.engines import FitResult
from sessionmlm.engines.ml import cannot_fit_data
from sessionmlm.engines.ml.optimise import (
    _maximise,
    _newton_polish,
    _safe_loglike,
    climb,
    inverse_metric,
)
from sessionmlm.engines.ml.profile import profile_correlation, profile_interval
from sessionmlm.engines.ml.progress import FitProgress
from sessionmlm.engines.ml.quadrature import ModeNotFoundError
from sessionmlm.engines.ml.separation import (
    _describe_separating_rows,
    find_separation,
    separation_message,
)
from sessionmlm.engines.ml.settings import BOUNDARY_SD, MlSettings
from sessionmlm.engines.ml.structure import structure
from sessionmlm.engines.ml.tables import (
    _correlations,
    _estimates,
    _failed_result,
    _thresholds,
    _variance,
)
from sessionmlm.model_data import ModelData

log = logging.getLogger(__name__)

CHECK_EXTRA_POINTS = 8  # the fit's log-likelihood is recomputed with this many more points
QUADRATURE_TOLERANCE = 1e-3  # a larger change in log-likelihood means too few points


def _start_values(exog: np.ndarray, y: np.ndarray, variance: np.ndarray):
    """Ordinary logistic regression for the coefficients, then the variance parameters' starts.

    Also returns an inverse-Hessian guess for BFGS: the logistic regression's covariance,
    and 0.05 for each variance parameter, so that the first steps are on the right scale.
    """
    beta = np.zeros(exog.shape[1])
    for _ in range(50):
        p = 1 / (1 + np.exp(-(exog @ beta)))
        information = exog.T @ (exog * (p * (1 - p))[:, None])
        step = np.linalg.solve(information, exog.T @ (y - p))
        beta += step
        if np.max(np.abs(step)) < 1e-10:
            break
    k, m = exog.shape[1], len(variance)
    hess_inv = np.zeros((k + m, k + m))
    hess_inv[:k, :k] = np.linalg.inv(information)
    hess_inv[k:, k:] = 0.05 * np.eye(m)
    return np.r_[beta, variance], hess_inv


def _ordinal_start(y: np.ndarray, k_exog: int, n_categories: int, variance) -> np.ndarray:
    """No effects, thresholds at the logits of the cumulative shares, then variance starts."""
    shares = np.bincount(y.astype(np.int64), minlength=n_categories) / len(y)
    cumulative = np.cumsum(shares)[:-1]
    return np.r_[np.zeros(k_exog), np.log(cumulative / (1 - cumulative)), variance]


def _design(data: ModelData, order: np.ndarray):
    """The design matrix, parameter names and number of thresholds, in the sorted order.

    A binary outcome's exog has an Intercept column; an ordinal one's thresholds replace it.
    """
    if data.ordinal:
        return data.X[order], [*data.terms, *data.threshold_names], len(data.categories) - 1
    return np.column_stack([np.ones(len(order)), data.X[order]]), ["Intercept", *data.terms], 0


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
    st = structure(data)
    # An outer integral multiplies the nested one's work by its points: fewer points inside.
    points = settings.points if st.unit_start is None else settings.points_inside_outer
    y = data.y[st.order]
    exog, fixed_names, n_cuts = _design(data, st.order)
    timings = {}
    progress = FitProgress()

    def model_with(points: int, outer_points: int = settings.outer_points):
        model = st.model(y, exog, fixed_names, n_cuts, points, outer_points, data.groups)
        model.progress = progress
        return model

    start = time.perf_counter()
    progress.enter("Laplace")
    laplace = model_with(1)
    if data.ordinal:
        params = _ordinal_start(y, exog.shape[1], len(data.categories), st.start)
        hess_inv = inverse_metric(laplace.hessian(params))
    else:
        params, hess_inv = _start_values(exog, y, st.start)
    params = _maximise(laplace, params, hess_inv, max_iter=settings.max_iter)
    model = laplace
    if points > 1:
        # The Laplace optimum and curvature start the quadrature fit close to its end.
        params = laplace.canonical(params)
        hess_inv = inverse_metric(laplace.hessian(params))
        model = model_with(points)
        progress.enter(f"quadrature ({points} points)")
        params = _maximise(model, params, hess_inv, max_iter=settings.max_iter)
    if st.slope is not None:
        progress.enter("correlation checked from inside +-1")
        params = _off_the_boundary(model, params, hess_inv, settings.max_iter)
    timings["optimise"] = time.perf_counter() - start

    start = time.perf_counter()
    progress.enter("Newton polish and Hessian")
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
    model.keep(params)  # statsmodels' summary evaluates the estimates after the profiles
    loglik = model.loglike(params)

    # How far the answer is from a finer rule: the quadrature's own error, at the optimum.
    progress.enter(f"quadrature check ({points + CHECK_EXTRA_POINTS} points)")
    finer = model_with(points + CHECK_EXTRA_POINTS, settings.outer_points + CHECK_EXTRA_POINTS)
    quadrature_gap = finer.loglike(params) - loglik

    sds = params[model.k_fixed : model.k_fixed + model.n_sd]
    boundary = [g for g, sd in zip(st.labels, sds, strict=True) if sd <= BOUNDARY_SD]
    if st.slope is not None and not free[model.k_fixed + model.n_sd] and all(sds > BOUNDARY_SD):
        boundary.append(f"correlation {st.slope[0]}")
    diagnostics = {
        "points": points,
        **({"outer_points": settings.outer_points} if st.unit_start is not None else {}),
        "method": "Laplace" if points == 1 else "adaptive Gauss-Hermite quadrature",
        "gradient_max_abs": float(np.max(np.abs(g[free]))),
        "newton_step_max": float(np.max(np.abs(step))),
        "hessian_positive_definite": positive_definite,
        "hessian_min_eigenvalue": float(eigenvalues.min()),
        "boundary": boundary,
        "quadrature_check": {
            "points": points + CHECK_EXTRA_POINTS,
            "loglik_difference": float(quadrature_gap),
        },
        "function_evaluations": sum({id(m): m.evaluations for m in (laplace, model)}.values()),
    }

    intervals = {}
    start = time.perf_counter()
    if settings.profile:
        correlation = st.slope is not None and min(abs(sds[0]), abs(sds[-1])) > BOUNDARY_SD
        profiles = len(st.labels) + correlation
        for k, group in enumerate(st.labels):
            progress.enter(f"profile of sd {group}, {k + 1} of {profiles}")
            index = model.k_fixed + k
            low, high, evaluations = profile_interval(model, params, loglik, index, H)
            intervals[group] = (low, high)
            if not np.isfinite(low) or not np.isfinite(high):
                diagnostics.setdefault("profile_not_found", []).append(group)
            log.info("profile interval for sd %s: %.3f to %.3f (%d evaluations)",
                     group, low, high, evaluations)  # fmt: skip
        if correlation:
            progress.enter(f"profile of the correlation, {profiles} of {profiles}")
            index = model.k_fixed + model.n_sd
            low, high, evaluations = profile_correlation(model, params, loglik, index, H)
            intervals[f"correlation {st.slope[0]}"] = (low, high)
            log.info("profile interval for the correlation: %.3f to %.3f (%d evaluations)",
                     low, high, evaluations)  # fmt: skip
    timings["profile"] = time.perf_counter() - start
    progress.enter("summary")  # statsmodels' summary evaluates the likelihood at the estimates
    return result, loglik, diagnostics, intervals, timings, st


def _off_the_boundary(model, params: np.ndarray, hess_inv, max_iter: int) -> np.ndarray:
    """A slope model's optimum with the correlation at +-1 checked from inside.

    On the atanh scale the optimiser moves, the gradient vanishes as |rho| nears 1, so BFGS
    can drift there on a flat likelihood and stay (measured: 13 of 20 simulated data sets with
    rho 0.5, where a higher likelihood lay near rho 0.85). From rho = +-0.9 it climbs to an
    interior maximum if there is one; the better of the two is kept. The profile at +-0.9
    (quasi-Newton steps from the Laplace curvature, hess_inv) decides first whether to climb
    at all: where it is below the boundary's maximum, the climb from there had come back to
    the boundary (24 simulated slope data sets, 12 of demo size and 12 larger: the same
    log-likelihoods and estimates to 4 decimals, 15-30% fewer evaluations where the
    correlation was at +-1).
    """
    r = model.k_fixed + model.n_sd
    if abs(np.tanh(params[r])) < 0.99:
        return params
    start = params.copy()
    start[r] = np.sign(params[r]) * np.arctanh(0.9)
    free = np.arange(len(params)) != r
    start = climb(model, start, hess_inv[np.ix_(free, free)], fixed=r)
    if _safe_loglike(model, start) <= _safe_loglike(model, params):
        return params  # the profile at +-0.9 is below the boundary's maximum
    inside = model.canonical(_maximise(model, start, hess_inv, max_iter=max_iter))
    return inside if _safe_loglike(model, inside) > _safe_loglike(model, params) else params


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
        used = diagnostics.get("points", s.points)
        key = "points_inside_outer" if "outer_points" in diagnostics else "points"
        if used == 1:
            method, advice = "the Laplace approximation", f"use quadrature (ml.{key}: 12)"
        elif "outer_points" in diagnostics:  # the check adds points to both integrals
            method = f"quadrature with {used} and {diagnostics['outer_points']} points"
            advice = "set ml.points_inside_outer and ml.outer_points higher (12 and 9, say)"
        else:
            method = f"{used}-point quadrature"
            advice = f"set ml.{key} higher (40 or more for SDs around 3)"
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
        if group.startswith("correlation "):
            notes.append(
                f"singular fit: the {group} of the random intercept and slope is estimated at "
                "+1 or -1, so the data do not separate the two; the correlation is held there, "
                "and its profile interval (when profiles are on) reaches that end. A model "
                "without the random slope may fit as well."
            )
            continue
        if ":" in group:
            notes.append(
                f"singular fit: the SD of the random slope {group} is estimated at 0; the "
                "slope does not vary between units as far as these data show."
            )
            continue
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
    names = [*data.terms] if data.ordinal else ["Intercept", *data.terms]
    exog = np.column_stack([np.ones(len(data.y)), data.X])
    # The check is for a binary outcome; an ordinal fit that drifts off to infinity is caught
    # by the convergence and Hessian checks instead.
    if data.ordinal:
        data.check_categories()
    separation = None if data.ordinal else find_separation(exog, data.y, names)
    info = {
        "engine": "ml",
        **data.record(),
        "settings": asdict(s),
        "terms": names,
        "seed": None,
        "versions": versions(),
    }
    refused = cannot_fit_data(data)
    if refused:
        return _failed_result(data, info, refused, {"separation": None}, start)
    if separation is not None:
        message = separation_message(separation, _describe_separating_rows(data, separation))
        log.warning("%s", message)
        diagnostics = {"separation": separation}
        return _failed_result(data, info | diagnostics, message, diagnostics, start)
    try:
        result, loglik, diagnostics, intervals, timings, st = fit_model(data, s)
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
    model = result.model
    estimates = _estimates(names, result)
    thresholds = _thresholds(data, result, len(names)) if data.ordinal else None
    variance = _variance(data, st, result.params[model.k_fixed :], intervals)
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
        # The fixed effects' covariance (inverse negative Hessian), for meta-analyses and tests;
        # an ordinal outcome's thresholds follow its coefficients, for predictions.
        "vcov": {
            "terms": [*names, *data.threshold_names] if data.ordinal else names,
            "matrix": result.cov_params()[: model.k_fixed, : model.k_fixed].tolist(),
        },
        "summary": str(result.summary()).splitlines(),
    } | _correlations(st, result, intervals)
    log.info("statsmodels summary:\n%s", "\n".join(info["summary"]))
    return FitResult(estimates=estimates, variance=variance, info=info, thresholds=thresholds)
