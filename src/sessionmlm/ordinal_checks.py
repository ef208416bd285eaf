"""Posterior checks of a Bayesian fit to an ordinal outcome (cumulative logit).

The checks of checks.py, by category, with logit P(y <= k) = threshold_k - eta:
- predictive checks replicate every session's category (with its fitted unit effects) and
  compare the share of sessions in each category, overall, per outermost unit (their mean
  ratings, categories scored 1 to K, as a sorted curve, and the spread of their shares) and
  per level of each categorical predictor;
- PSIS-LOO leaves out one innermost unit at a time with the ordinal likelihood;
- calibration, for each threshold, compares the observed share rated above it with the
  leave-one-unit-out probability of that;
- prior sensitivity scales the threshold prior too (sensitivity.py).

fit.json's "checks" then has "outcome_type": "ordinal"; its "predictive" holds "shares" (one
statistic per category) where a binary outcome's holds "overall", and the calibration bins
are under "calibration_by_threshold" (one entry per threshold) instead of "calibration".
Small cells: an observed share is shown only where at least min_cell sessions are in the
category and min_cell are not.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from sessionmlm.checks import (
    QUADRATURE_POINTS,
    Posterior,
    _as_loadings,
    _membership,
    _quantiles,
    _statistic,
    calibration,
    linear_predictor,
    loo_summary,
    new_unit_probability,
    per_category,
    psis_loo,
)
from sessionmlm.model_data import ModelData
from sessionmlm.posterior import innermost_loadings, product_rule
from sessionmlm.sensitivity import prior_sensitivity


def _log_sigmoid(x: np.ndarray) -> np.ndarray:
    return -np.logaddexp(0.0, -x)


def _log1mexp(x: np.ndarray) -> np.ndarray:
    """log(1 - exp(x)) for x < 0, accurate near 0 and far below it (Maechler 2012)."""
    near = x > -np.log(2.0)
    return np.where(near, np.log(-np.expm1(np.where(near, x, -1.0))), np.log1p(-np.exp(x)))


def ordinal_loglik(y: np.ndarray, eta: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """The log-likelihood log P(y | eta), logit P(y <= k) = thresholds_k - eta, stable far out.

    y is (n,) category indices 0..K-1, thresholds (S, K-1) increasing, eta (S, n) or (S, n, Q)
    (quadrature nodes last); returns eta's shape. P(y = k) = sigmoid(c_k - eta) *
    sigmoid(eta - c_{k-1}) * (1 - exp(c_{k-1} - c_k)), the first factor absent in the top
    category and the last two in the bottom one: no log of a difference.
    """
    y = np.asarray(y).astype(np.int64)
    S, cuts = thresholds.shape
    n = len(y)
    extra = (1,) * (eta.ndim - 2)
    # Each category's gap term, 0 for the end categories, which have one threshold.
    gaps = np.zeros((S, cuts + 1))
    gaps[:, 1:cuts] = _log1mexp(thresholds[:, :-1] - thresholds[:, 1:])
    upper = thresholds[:, np.minimum(y, cuts - 1)].reshape(S, n, *extra)
    lower = thresholds[:, np.maximum(y - 1, 0)].reshape(S, n, *extra)
    has_upper = (y < cuts).reshape(n, *extra)
    has_lower = (y > 0).reshape(n, *extra)
    return (
        np.where(has_upper, _log_sigmoid(upper - eta), 0.0)
        + np.where(has_lower, _log_sigmoid(eta - lower), 0.0)
        + gaps[:, y].reshape(S, n, *extra)
    )


def replicate(eta: np.ndarray, thresholds: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(S, n) replicated category indices: a latent eta + logistic noise, cut at the thresholds."""
    latent = eta + rng.logistic(size=eta.shape)
    y_rep = np.zeros(eta.shape, dtype=np.int8)
    for k in range(thresholds.shape[1]):  # one threshold at a time: no (S, n, K) array
        y_rep += latent > thresholds[:, k, None]
    return y_rep


def ordinal_predictive_checks(
    table: pd.DataFrame,
    data: ModelData,
    eta: np.ndarray,
    thresholds: np.ndarray,
    categorical: list[str],
    min_cell: int,
    seed: int,
) -> dict[str, Any]:
    """Observed against replicated category shares: overall, per outermost unit, per category.

    eta is the (S, n) conditional linear predictor, thresholds (S, K-1) at the same draws.
    """
    y = data.y.astype(np.int64)
    labels, outcome = data.categories, data.spec.outcome
    y_rep = replicate(eta, thresholds, np.random.default_rng(seed))
    checks: dict[str, Any] = {
        "shares": [
            _statistic(f"share with {outcome} {label}", np.mean(y == k), np.mean(y_rep == k, 1))
            for k, label in enumerate(labels)
        ]
    }
    if data.groups:
        checks["per_unit"] = _per_unit(data, y, y_rep)
    events = [(label, k) for k, label in enumerate(labels)]  # each category's share
    checks["per_category"] = per_category(table, data, y, y_rep, categorical, events, min_cell)
    return checks


def _per_unit(data: ModelData, y: np.ndarray, y_rep: np.ndarray) -> dict[str, Any]:
    """The outermost level's units: mean ratings (scored 1 to K) and the spread of shares."""
    level, outcome = data.groups[0], data.spec.outcome
    member = _membership(data.unit_of_session[0], data.n_units[0])
    sessions = np.asarray(member.sum(axis=0)).ravel()
    score = y + 1.0
    observed = (score @ member) / sessions  # (T,)
    replicated = np.asarray(member.T @ (y_rep.T + 1.0)).T / sessions  # (S, T)
    u_low, _, u_high = _quantiles(replicated)
    curve_low, curve_mid, curve_high = _quantiles(np.sort(replicated, axis=1))
    K = len(data.categories)
    statistics = [
        _statistic(
            f"SD of the {level} mean ratings (categories scored 1 to {K})",
            observed.std(),
            replicated.std(axis=1),
        )
    ]
    for k, label in enumerate(data.categories):
        shares = ((y == k).astype(float) @ member) / sessions
        rep_shares = np.asarray(member.T @ (y_rep == k).T.astype(np.float32)).T / sessions
        statistics.append(
            _statistic(
                f"SD of the {level} shares with {outcome} {label}",
                shares.std(),
                rep_shares.std(axis=1),
            )
        )
    return {
        "level": level,
        "n_units": int(len(sessions)),
        "covered": float(np.mean((observed >= u_low) & (observed <= u_high))),
        "sorted_observed": np.sort(observed).round(4).tolist(),
        "sorted_low": curve_low.round(4).tolist(),
        "sorted_median": curve_mid.round(4).tolist(),
        "sorted_high": curve_high.round(4).tolist(),
        "statistics": statistics,
    }


def ordinal_unit_loglik(
    data: ModelData, post: Posterior, points: int = QUADRATURE_POINTS
) -> np.ndarray:
    """(S, J) log-likelihood of each innermost unit's sessions, its own effect integrated out.

    As checks.unit_loglik, with the ordinal likelihood; without grouping levels the units are
    the sessions.
    """
    from sessionmlm.checks_quadrature import ordinal_unit_quadrature  # numba: fit jobs only

    K = len(data.groups)
    a = linear_predictor(data, post, levels=max(K - 1, 0))  # (S, n)
    if K == 0:
        return ordinal_loglik(data.y, a, post.thresholds)
    loadings = _as_loadings(innermost_loadings(data, post))
    nodes, weights = product_rule(loadings.shape[-1], points)
    return ordinal_unit_quadrature(
        data.y.astype(np.int64), np.ascontiguousarray(a), loadings,
        np.ascontiguousarray(post.thresholds, dtype=float),
        data.unit_of_session[-1].astype(np.int64), data.n_units[-1], nodes, weights,
    )  # fmt: skip


def threshold_calibration(
    data: ModelData,
    post: Posterior,
    log_weights: np.ndarray,
    min_cell: int,
    points: int = QUADRATURE_POINTS,
) -> list[dict[str, Any]]:
    """For each threshold, calibration of P(y above it) for a new innermost unit.

    log_weights are PSIS-LOO's (J, S) normalised log weights, so each unit's probabilities
    are those with that unit left out (as checks.posterior_checks does for a binary outcome).
    """
    K = len(data.groups)
    a = linear_predictor(data, post, levels=max(K - 1, 0))  # (S, n)
    sd = innermost_loadings(data, post) if K else np.zeros(len(a))
    units = data.unit_of_session[-1] if K else np.arange(len(data.y))
    weights = np.exp(log_weights)[units]  # (n, S)
    out = []
    for k, name in enumerate(data.threshold_names):
        # P(y > k) = sigmoid(eta - c_k), averaged over the new unit's effect.
        above = new_unit_probability(a - post.thresholds[:, k, None], sd, points)
        predicted = np.einsum("is,si->i", weights, above)
        out.append({
            "threshold": name, "event": f"{data.spec.outcome} above {data.categories[k]}",
            "bins": calibration((data.y > k).astype(float), predicted, min_cell),
        })  # fmt: skip
    return out


def ordinal_posterior_checks(
    table: pd.DataFrame,
    data: ModelData,
    post: Posterior,
    categorical: list[str],
    min_cell: int,
    seed: int,
) -> dict[str, Any]:
    """Every check of a Bayesian fit to an ordinal outcome, as written to fit.json's "checks".

    As checks.posterior_checks: predictive checks, calibration and LOO at the draws with unit
    effects (post.kept), prior sensitivity over every draw.
    """
    if post.thresholds is None:
        raise ValueError("an ordinal outcome's checks need the posterior's thresholds")
    joint = post.joint()
    eta = linear_predictor(data, joint)
    loo = psis_loo(ordinal_unit_loglik(data, joint))
    unit = data.groups[-1] if data.groups else "session"
    ids = data.unit_ids[-1] if data.groups else np.arange(len(data.y))
    return {
        "outcome_type": "ordinal",
        "categories": list(data.categories),
        "draws": int(len(joint.sigma)),
        "min_cell": min_cell,
        "all_draws": int(len(post.sigma)),
        "predictive": ordinal_predictive_checks(
            table, data, eta, joint.thresholds, categorical, min_cell, seed
        ),
        "calibration_by_threshold": threshold_calibration(
            data, joint, loo["log_weights"], min_cell
        ),
        "loo": loo_summary(loo, unit, ids),
        "sensitivity": prior_sensitivity(post, list(data.terms)),
    }
