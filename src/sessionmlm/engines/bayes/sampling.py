"""Sampling with nutpie, and the diagnostics and summaries of the draws.

The diagnostics decide whether the draws can be trusted; the estimates and variance tables
are summarised from them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sessionmlm.engines.bayes.model import Compiled, Standardisation, _data_values, plain_levels
from sessionmlm.engines.bayes.settings import BayesSettings
from sessionmlm.engines.bayes.slopes import (
    correlation_draws,
    level_slopes,
    slope_sd_draws,
)
from sessionmlm.engines.bayes.stopping import sample_until_passed
from sessionmlm.engines.bayes.variance_table import _flat, _interval, variance_table
from sessionmlm.model_data import ModelData
from sessionmlm.posterior import Posterior, SlopeDraws
from sessionmlm.variance import icc_by_level, median_odds_ratio, nesting


@dataclass
class Draws:
    """Posterior draws of every reported quantity, each (chains, draws, ...)."""

    coefficients: np.ndarray  # (c, d, 1 + p): Intercept then terms, data scale (ordinal: p)
    sds: np.ndarray  # (c, d, K)
    divergences: int
    seconds: float
    posterior: Posterior  # thinned joint draws, for the posterior checks
    thresholds: np.ndarray | None = None  # (c, d, categories - 1), data scale; ordinal only
    slope_sds: np.ndarray | None = None  # (c, d, M) random slopes' SDs per unit of their terms
    correlations: np.ndarray | None = None  # (c, d, P) of each level's intercept and slopes
    shares: np.ndarray | None = None  # (K, K) levels shared by sessions of a unit: nesting()


def kept_draws(n_sessions: int) -> int:
    """How many draws of the unit effects the posterior checks keep: at most 4,000.

    PSIS needs a few thousand draws for stable Pareto k (its threshold is 0.7 from 2,200 draws
    on); the checks hold (draws, sessions) arrays, kept near 20 million numbers.
    """
    return int(np.clip(20_000_000 // max(n_sessions, 1), 200, 4000))


def _sample(
    compiled: Compiled, data: ModelData, std: Standardisation, s: BayesSettings, names: list[str]
) -> tuple[Draws, int]:
    """(draws, draws per chain kept): sampled until the diagnostics pass at a check (stopping)."""
    model = compiled.model.with_data(**_data_values(data, std))
    start = time.perf_counter()
    least = -(-kept_draws(len(data.y)) // s.chains)  # per chain: the posterior checks' draws

    checked: list = [None, None]  # the last check's trace and its draws

    def passes(trace) -> bool:
        checked[:] = [trace, _draws(trace, data, std, s, 0.0)]
        return diagnose(checked[1], s, names)["passed"]

    trace, kept = sample_until_passed(model, s, least, len(data.y), passes)
    # Stopped at a check: its draws are the ones already built.
    draws = checked[1] if trace is checked[0] else _draws(trace, data, std, s, 0.0)
    draws.seconds = time.perf_counter() - start
    return draws, kept


def _draws(trace, data: ModelData, std: Standardisation, s: BayesSettings, seconds: float) -> Draws:
    """The reported quantities' draws from nutpie's trace (chains x draws)."""
    post = trace.posterior
    chains, n_draws = trace.sample_stats["diverging"].shape[:2]
    # Back to the data's scale: X beta = Xs gamma + mean . beta, so the shift mean . beta moves
    # into the intercept (subtracted) or into every threshold (added: they sit opposite eta).
    beta = post["gamma"].values / std.scale if data.terms else np.zeros((chains, n_draws, 0))
    shift = (beta * std.mean).sum(axis=-1)  # (c, d)
    thresholds = centred = None
    if data.ordinal:
        centred = post["thresholds"].values  # (c, d, categories - 1), at the predictor means
        thresholds = centred + shift[..., None]
        coefficients = beta
        intercept = np.zeros((chains, n_draws))  # the checks' linear predictor: none
    else:
        intercept = post["alpha"].values - shift
        coefficients = np.concatenate([intercept[..., None], beta], axis=-1)
    divergences = int(trace.sample_stats["diverging"].values.sum())
    total = chains * n_draws
    kept = np.arange(0, total, max(1, -(-total // kept_draws(len(data.y)))))

    def flat(x: np.ndarray) -> np.ndarray:  # (c, d, ...) -> (c * d, ...)
        return x.reshape(total, *x.shape[2:])

    slopes = level_slopes(data, post, std)
    sds, z = _intercepts(data, post, slopes, (chains, n_draws))
    priors = {"coefficients": s.coefficients, "group_sd": s.group_sd}
    sampled = [post["sigma"].values] if plain_levels(data) else []
    sampled += [level.sampled_sds for level in slopes]
    posterior = Posterior(
        gamma=flat(post["gamma"].values) if data.terms else np.zeros((total, 0)),
        coefficients=flat(np.concatenate([intercept[..., None], beta], axis=-1)),
        sigma=flat(sds),
        z=tuple(flat(zk)[kept].copy() for zk in z),
        priors=priors | ({"thresholds": s.thresholds} if data.ordinal else {}),
        kept=kept,
        thresholds=None if thresholds is None else flat(thresholds),
        centred_thresholds=None if centred is None else flat(centred),
        slopes=tuple(
            SlopeDraws(
                level.level,
                level.columns,
                flat(level.cov),
                flat(level.effects[..., 1:])[kept].copy(),
            )
            for level in slopes
        ),  # fmt: skip
        sampled_sds=flat(np.concatenate(sampled, axis=-1)) if slopes else None,
    )
    return Draws(
        coefficients, sds, divergences, seconds, posterior, thresholds,
        slope_sds=slope_sd_draws(slopes, (chains, n_draws)),
        correlations=correlation_draws(slopes, (chains, n_draws)),
        shares=nesting(data.unit_of_session) if data.groups else None,
    )  # fmt: skip


def _intercepts(
    data: ModelData, post, slopes: list, shape: tuple[int, int]
) -> tuple[np.ndarray, list[np.ndarray]]:
    """(c, d, K) random-intercept SDs and, per level, its standardised unit deviations.

    A level with slopes: its intercept at x = 0 (slopes.py), its deviations over their SD.
    """
    plain, by_level = plain_levels(data), {level.level: level for level in slopes}
    sds, z = [], []
    for k, group in enumerate(data.groups):
        if k in by_level:
            sd = by_level[k].sds[..., 0]
            sds.append(sd)
            z.append(by_level[k].effects[..., 0] / sd[..., None])
        else:
            sds.append(post["sigma"].values[..., plain.index(group)])
            z.append(post[f"z_{group}"].values)
    return (np.stack(sds, axis=-1) if sds else np.zeros((*shape, 0))), z


def diagnose(draws: Draws, s: BayesSettings, names: list[str]) -> dict[str, Any]:
    """R-hat, bulk and tail ESS for every reported quantity, divergences, and the verdict."""
    from arviz_stats.base import array_stats

    quantities = _reported(draws)  # (c, d, Q)
    rhat = array_stats.rhat(quantities, chain_axis=0, draw_axis=1)
    bulk = array_stats.ess(quantities, chain_axis=0, draw_axis=1, method="bulk")
    tail = array_stats.ess(quantities, chain_axis=0, draw_axis=1, method="tail", prob=(0.05, 0.95))
    problems = []
    for name, r, b, t in zip(names, rhat, bulk, tail, strict=True):
        if not r <= s.max_rhat:
            problems.append(f"R-hat of {name} is {r:.3f} (> {s.max_rhat})")
        if not min(b, t) >= s.min_ess:
            problems.append(
                f"ESS of {name} is {min(b, t):.0f} (bulk {b:.0f}, tail {t:.0f}; < {s.min_ess:g})"
            )
    if draws.divergences > s.max_divergences:
        problems.append(f"{draws.divergences} divergent transitions (> {s.max_divergences})")
    return {
        "per_quantity": {
            n: {"rhat": float(r), "ess_bulk": float(b), "ess_tail": float(t)}
            for n, r, b, t in zip(names, rhat, bulk, tail, strict=True)
        },
        "max_rhat": float(np.max(rhat)),
        "min_ess_bulk": float(np.min(bulk)),
        "min_ess_tail": float(np.min(tail)),
        "divergences": draws.divergences,
        "passed": not problems,
        "problems": problems,
    }


def _reported(draws: Draws) -> np.ndarray:
    """Every reported quantity stacked -> (c, d, Q).

    Coefficients, thresholds, sds, ICCs, MORs, random slopes' SDs and correlations.
    """
    extra = [x for x in (draws.thresholds, draws.slope_sds, draws.correlations) if x is not None]
    cuts, slopes = extra[: draws.thresholds is not None], extra[draws.thresholds is not None :]
    return np.concatenate(
        [draws.coefficients, *cuts, draws.sds, icc_by_level(draws.sds, draws.shares),
         median_odds_ratio(draws.sds), *slopes],
        axis=-1,
    )  # fmt: skip


def _terms(data: ModelData) -> list[str]:
    """The rows of estimates.csv: an ordinal outcome has thresholds instead of an intercept."""
    return list(data.terms) if data.ordinal else ["Intercept", *data.terms]


def _quantity_names(data: ModelData) -> list[str]:
    cuts = [f"threshold {t}" for t in data.threshold_names] if data.ordinal else []
    levels = [f"{kind} {g}" for kind in ("sd", "icc", "mor") for g in data.groups]
    slopes = [f"sd {g}:{t}" for g, terms in data.slopes for t in terms]
    pairs = [
        f"correlation {g} {a}, {b}"
        for g, terms in data.slopes
        for i, a in enumerate(["Intercept", *terms])
        for b in terms[i:]
    ]
    return _terms(data) + cuts + levels + slopes + pairs


def summarise(
    data: ModelData, draws: Draws, diagnostics: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None]:
    """Estimates, variance and (ordinal outcomes) thresholds tables from the draws.

    Posterior medians, equal-tailed 95% intervals and posterior SDs, with per-quantity
    diagnostics.
    """
    per = diagnostics["per_quantity"]
    terms = _terms(data)
    mid, low, high = _interval(draws.coefficients)
    flat = _flat(draws.coefficients)
    estimates = pd.DataFrame(
        {
            "term": terms,
            "estimate": mid,
            "std_error": flat.std(axis=0, ddof=1),
            "ci_low": low,
            "ci_high": high,
            "odds_ratio": np.exp(mid),
            "or_low": np.exp(low),
            "or_high": np.exp(high),
            "prob_positive": (flat > 0).mean(axis=0),
            "rhat": [per[t]["rhat"] for t in terms],
            "ess_bulk": [per[t]["ess_bulk"] for t in terms],
            "ess_tail": [per[t]["ess_tail"] for t in terms],
        }
    )
    variance = variance_table(data, draws, per)
    return estimates, variance, _thresholds(data, draws, per)


def _thresholds(data: ModelData, draws: Draws, per: dict[str, Any]) -> pd.DataFrame | None:
    """thresholds.csv: summarised as the coefficients are; None for a binary outcome."""
    if draws.thresholds is None:
        return None
    names = list(data.threshold_names)
    mid, low, high = _interval(draws.thresholds)
    flat = _flat(draws.thresholds)
    return pd.DataFrame(
        {
            "threshold": names,
            "estimate": mid,
            "std_error": flat.std(axis=0, ddof=1),
            "ci_low": low,
            "ci_high": high,
            **{
                stat: [per[f"threshold {t}"][stat] for t in names]
                for stat in ("rhat", "ess_bulk", "ess_tail")
            },
        }
    )
