"""Posterior checks of a Bayesian fit: predictive checks, calibration, PSIS-LOO, prior sensitivity.

They run in the fit job, where the draws are, and go into fit.json under "checks", so the
report and users read them without keeping the draws.

- Posterior predictive checks replicate every session's outcome from the fitted model (with
  its fitted therapist and client effects) and compare the outcome's rate overall, per
  therapist and per level of each categorical predictor with the observed one.
- PSIS-LOO leaves out one unit of the innermost grouping level (a client) at a time, with that
  client's effect integrated out by Gauss-Hermite quadrature. Leaving out single sessions
  would be the default of other tools, but with one to three sessions per client each
  session pulls its own client effect, and the importance sampling behind PSIS then fails
  (high Pareto k). Leaving out clients asks the question a reader cares about, how well the
  model predicts a new client of a known therapist, and is stable.
- Calibration compares the observed rate with these leave-one-client-out predicted
  probabilities, so it is not flattered by each client's own fitted effect.
- Predicted probabilities (predictions.py) come from the same draws, carrying the SDs'
  uncertainty.
- Prior sensitivity power-scales each prior (sensitivity.py).
- An ordinal outcome (ordinal_checks.py) has the same checks, by category: replicated category
  shares, the ordinal likelihood in LOO, calibration of each P(rating above a threshold).

Small cells: an observed rate is shown only where both outcomes have at least min_cell
sessions; per-therapist rates are shown only as a sorted curve without ids.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.special import expit, logsumexp

from sessionmlm.intervals import wilson
from sessionmlm.model_data import ModelData
from sessionmlm.posterior import Posterior, innermost_loadings, linear_predictor, product_rule
from sessionmlm.privacy import rate_shown
from sessionmlm.sensitivity import K_GOOD, prior_sensitivity

__all__ = ["Posterior", "linear_predictor"]  # with the checks: re-exported for callers

# Kept at 21 points and 4,000 kept draws (sampling.kept_draws) after measuring, on the demo
# `full` fit (benchmarks/posterior_checks_speed.py): against 61 points, 21 change elpd_loo by
# 7e-7 and a draw's unit log-likelihood by at most 9e-4; 11 points would halve the kernels'
# time (under 0.2 s) for errors of 2e-2 in a draw's log-likelihood, which the Pareto k fits
# read. Half the draws moved elpd_loo by 0.1-0.2 and the count of k above the threshold
# (lower at 2,000 draws) from 3 to 3 or 4: not negligible, so neither is lowered.
QUADRATURE_POINTS = 21


def bernoulli_loglik(y: np.ndarray, eta: np.ndarray) -> np.ndarray:
    """The log-likelihood log P(y | logit eta), stable for large |eta|; broadcasts."""
    return -np.logaddexp(0.0, -(2.0 * y - 1.0) * eta)


def _membership(units: np.ndarray, n_units: int) -> sparse.csr_matrix:
    """(n, n_units) 0/1 matrix: session i belongs to unit units[i]."""
    n = len(units)
    return sparse.csr_matrix((np.ones(n), (np.arange(n), units)), shape=(n, n_units))


def unit_loglik(
    data: ModelData, post: Posterior, points: int = QUADRATURE_POINTS
) -> tuple[np.ndarray, np.ndarray]:
    """(S, J) log-likelihood of each innermost unit's sessions, its own effect integrated out.

    log p(y_j | theta) = log E_x[prod_i Bernoulli(y_i | a_i + sigma x)], x ~ N(0, 1), where a_i
    holds the fixed part and the outer levels' effects (with random slopes on the innermost
    level, sigma x is the unit's random part at the session's x: innermost_loadings). Also
    returns (S, n) E_x[expit(a_i + sigma x)], each session's probability for a new unit of its
    outer units. Without grouping levels the units are the sessions. Gauss-Hermite quadrature
    (a product rule in d dimensions) in a numba kernel (checks_quadrature.py).
    """
    from sessionmlm.checks_quadrature import binary_unit_quadrature  # numba: fit jobs only

    K = len(data.groups)
    a = linear_predictor(data, post, levels=max(K - 1, 0))  # (S, n)
    if K == 0:
        return bernoulli_loglik(data.y, a), expit(a)
    loadings = innermost_loadings(data, post)
    nodes, weights = product_rule(loadings.shape[-1], points)
    return binary_unit_quadrature(
        data.y.astype(float), np.ascontiguousarray(a), _as_loadings(loadings),
        data.unit_of_session[-1].astype(np.int64), data.n_units[-1], nodes, weights,
    )  # fmt: skip


def _as_loadings(sd: np.ndarray) -> np.ndarray:
    """An innermost SD per draw (S,) as loadings (S, 1, 1); loadings pass unchanged."""
    sd = np.asarray(sd, dtype=float)
    return np.ascontiguousarray(sd[:, None, None] if sd.ndim == 1 else sd)


def new_unit_probability(
    a: np.ndarray, sd: np.ndarray, points: int = QUADRATURE_POINTS
) -> np.ndarray:
    """(S, n) E_x[expit(a + sd x)], x ~ N(0, 1): each session's probability for a new unit.

    a is (S, n), sd (S,) the innermost level's SD, or its loadings (S, n or 1, d) when it has
    random slopes (innermost_loadings).
    """
    from sessionmlm.checks_quadrature import new_unit_quadrature  # numba: fit jobs only

    loadings = _as_loadings(sd)
    nodes, weights = product_rule(loadings.shape[-1], points)
    return new_unit_quadrature(np.ascontiguousarray(a, dtype=float), loadings, nodes, weights)


def psis_loo(loglik: np.ndarray) -> dict[str, np.ndarray]:
    """PSIS-LOO from (S, J) pointwise log-likelihoods: elpd_i, p_loo_i, Pareto k, log weights."""
    from arviz_stats.base import array_stats

    # psislw takes log-likelihoods: its weights are proportional to exp(-ary). -> (J, S)
    log_weights, k = array_stats.psislw(loglik, axis=0)
    log_weights = log_weights - logsumexp(log_weights, axis=-1, keepdims=True)
    elpd = logsumexp(log_weights + loglik.T, axis=-1)
    lpd = logsumexp(loglik, axis=0) - np.log(loglik.shape[0])
    return {"elpd": elpd, "p_loo": lpd - elpd, "k": np.asarray(k), "log_weights": log_weights}


def loo_summary(loo: dict[str, np.ndarray], unit: str, ids: np.ndarray) -> dict[str, Any]:
    """elpd_loo with its SE, p_loo, Pareto k counts, and the pointwise values by unit id."""
    elpd, k = loo["elpd"], loo["k"]
    J = len(elpd)
    threshold = min(1 - 1 / np.log10(loo["log_weights"].shape[-1]), K_GOOD)
    return {
        "unit": unit,
        "n_units": J,
        "elpd": float(elpd.sum()),
        "se": float(np.sqrt(J * elpd.var(ddof=1))) if J > 1 else float("nan"),
        "p_loo": float(loo["p_loo"].sum()),
        "k_threshold": float(threshold),
        "k_max": float(np.max(k)),
        "k_bad": int((k > threshold).sum()),
        "k_very_bad": int((k > 1).sum()),
        "pointwise": {
            "id": [str(i) for i in ids],
            "elpd": elpd.round(6).tolist(),
            "k": np.round(k, 4).tolist(),
        },  # fmt: skip
    }


def _quantiles(x: np.ndarray, axis: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    low, mid, high = np.quantile(x, [0.025, 0.5, 0.975], axis=axis)
    return low, mid, high


def per_category(
    table: pd.DataFrame,
    data: ModelData,
    y: np.ndarray,
    y_rep: np.ndarray,
    categorical: list[str],
    events: list[tuple[str | None, float]],
    min_cell: int,
) -> list[dict[str, Any]]:
    """Observed against replicated shares, per level of each categorical predictor.

    events are (label, value): the share of sessions with y == value, observed and in the
    replicates y_rep (S, n); a label names the category in each row (an ordinal outcome's),
    None leaves it out (a binary outcome's 1). An observed share is shown only where both
    that many sessions and the rest reach min_cell.
    """
    rows = []
    kept = table.iloc[data.rows]
    for column in [c for c in categorical if c in kept]:
        # Codes once (missing: -1), then NumPy per level: no pandas work per level.
        codes, levels = pd.factorize(kept[column].astype("string"), sort=True)
        for code, level in enumerate(levels):
            mask = codes == code
            total = int(mask.sum())
            for label, value in events:
                count = int((y[mask] == value).sum())
                low, mid, high = _quantiles((y_rep[:, mask] == value).mean(axis=1))
                shown = rate_shown(count, total, min_cell)
                observed = count / total if total else float("nan")
                rows.append(
                    {"variable": column, "level": str(level)}
                    | ({} if label is None else {"category": label})
                    | {"sessions": total if shown else None,
                       "observed": observed if shown else None, "median": float(mid),
                       "low": float(low), "high": float(high),
                       "inside": bool(low <= observed <= high) if shown else None}
                )  # fmt: skip
    return rows


def predictive_checks(
    table: pd.DataFrame,
    data: ModelData,
    eta: np.ndarray,
    categorical: list[str],
    min_cell: int,
    seed: int,
) -> dict[str, Any]:
    """Observed against replicated outcome rates: overall, per outermost unit, per category.

    eta is the (S, n) conditional log-odds; each draw replicates every session's outcome.
    """
    rng = np.random.default_rng(seed)
    y = data.y.astype(float)
    y_rep = (rng.random(eta.shape) < expit(eta)).astype(np.float32)  # (S, n)
    checks: dict[str, Any] = {"overall": _statistic("outcome rate", y.mean(), y_rep.mean(axis=1))}

    if data.groups:
        level = data.groups[0]
        member = _membership(data.unit_of_session[0], data.n_units[0])
        sessions = np.asarray(member.sum(axis=0)).ravel()
        observed = (y @ member) / sessions  # (T,)
        replicated = (member.T @ y_rep.T).T / sessions  # (S, T)
        u_low, _, u_high = _quantiles(replicated)
        # Sorted curves: the observed unit rates against replicated ones, without ids.
        curve_low, curve_mid, curve_high = _quantiles(np.sort(replicated, axis=1))
        checks["per_unit"] = {
            "level": level,
            "n_units": int(len(sessions)),
            "covered": float(np.mean((observed >= u_low) & (observed <= u_high))),
            "sorted_observed": np.sort(observed).round(4).tolist(),
            "sorted_low": curve_low.round(4).tolist(),
            "sorted_median": curve_mid.round(4).tolist(),
            "sorted_high": curve_high.round(4).tolist(),
            "statistics": [
                _statistic("SD of the " + level + " rates", observed.std(), replicated.std(axis=1)),
                _statistic(
                    f"share of {level}s whose {data.spec.outcome} is never 1",
                    np.mean(observed == 0),
                    np.mean(replicated == 0, axis=1),
                ),
                _statistic(
                    f"share of {level}s whose {data.spec.outcome} is always 1",
                    np.mean(observed == 1),
                    np.mean(replicated == 1, axis=1),
                ),
            ],
        }

    checks["per_category"] = per_category(table, data, y, y_rep, categorical, [(None, 1)], min_cell)
    return checks


def _statistic(name: str, observed: float, replicated: np.ndarray) -> dict[str, Any]:
    """A test statistic, its replicated 95% interval and two-sided predictive p-value."""
    low, mid, high = _quantiles(replicated)
    upper = np.mean(replicated >= observed)
    lower = np.mean(replicated <= observed)
    return {"name": name, "observed": float(observed), "median": float(mid),
            "low": float(low), "high": float(high),
            "p_value": float(min(1.0, 2 * min(upper, lower)))}  # fmt: skip


def calibration(
    y: np.ndarray, predicted: np.ndarray, min_cell: int, bins: int = 10
) -> list[dict[str, Any]]:
    """Observed rate (Wilson 95% interval) against mean predicted probability, by bins.

    Equal-count bins of the predicted probability; neighbouring bins merge until each holds at
    least min_cell sessions with and without the outcome, so no small cell is shown.
    """
    order = np.argsort(predicted, kind="stable")
    edges = [list(part) for part in np.array_split(order, min(bins, len(order))) if len(part)]
    merged: list[list[int]] = []
    for part in edges:
        if merged and not rate_shown(int(y[merged[-1]].sum()), len(merged[-1]), min_cell):
            merged[-1] += part
        else:
            merged.append(part)
    while len(merged) > 1 and not rate_shown(int(y[merged[-1]].sum()), len(merged[-1]), min_cell):
        last = merged.pop()
        merged[-1] += last
    rows = []
    for part in merged:
        idx = np.array(part)
        positives, total = int(y[idx].sum()), len(idx)
        if not rate_shown(positives, total, min_cell):
            continue
        low, high = wilson(positives / total, total)
        rows.append({"predicted": float(predicted[idx].mean()), "observed": positives / total,
                     "low": low, "high": high, "sessions": total})  # fmt: skip
    return rows


def categorical_columns(
    table: pd.DataFrame, reference: dict[str, Any], levels: tuple[str, ...]
) -> list[str]:
    """Columns the predictive checks group by: every categorical predictor, such as the EBP."""
    text = [
        c for c in table.columns if c not in levels and not pd.api.types.is_numeric_dtype(table[c])
    ]
    return list(dict.fromkeys([*reference, *text]))


def posterior_checks(
    table: pd.DataFrame,
    data: ModelData,
    post: Posterior,
    categorical: list[str],
    min_cell: int,
    seed: int,
) -> dict[str, Any]:
    """Every check of a Bayesian fit, as written to fit.json's "checks".

    Predictive checks and LOO use the draws that have unit effects (post.kept); prior
    sensitivity and predicted probabilities, which need none, use every draw.
    """
    if data.ordinal:
        from sessionmlm.ordinal_checks import ordinal_posterior_checks  # it builds on this module

        return ordinal_posterior_checks(table, data, post, categorical, min_cell, seed)
    joint = post.joint()
    eta = linear_predictor(data, joint)
    loglik, new_unit = unit_loglik(data, joint)
    loo = psis_loo(loglik)
    unit = data.groups[-1] if data.groups else "session"
    ids = data.unit_ids[-1] if data.groups else np.arange(len(data.y))
    # Each session's probability for a new client of its therapist, PSIS-weighted as if that
    # client had been left out.
    units = data.unit_of_session[-1] if data.groups else np.arange(len(data.y))
    loo_probability = np.einsum("is,si->i", np.exp(loo["log_weights"])[units], new_unit)
    checks: dict[str, Any] = {
        "draws": int(len(joint.sigma)),
        "min_cell": min_cell,
        "all_draws": int(len(post.sigma)),
        "predictive": predictive_checks(table, data, eta, categorical, min_cell, seed),
        "calibration": calibration(data.y.astype(float), loo_probability, min_cell),
        "loo": loo_summary(loo, unit, ids),
        "sensitivity": prior_sensitivity(post, list(data.terms)),
    }
    return checks
