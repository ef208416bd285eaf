"""Sampling with nutpie, and the diagnostics and summaries of the draws.

The diagnostics decide whether the draws can be trusted; the estimates and variance tables
are summarised from them.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sessionmlm.checks import Posterior
from sessionmlm.engines.bayes.model import Compiled, Standardisation, _data_values
from sessionmlm.engines.bayes.settings import BayesSettings
from sessionmlm.model_data import ModelData
from sessionmlm.variance import icc_by_level, median_odds_ratio


@dataclass
class Draws:
    """Posterior draws of every reported quantity, each (chains, draws, ...)."""

    coefficients: np.ndarray  # (c, d, 1 + p): Intercept then terms, data scale (ordinal: p)
    sds: np.ndarray  # (c, d, K)
    divergences: int
    seconds: float
    posterior: Posterior  # thinned joint draws, for the posterior checks
    thresholds: np.ndarray | None = None  # (c, d, categories - 1), data scale; ordinal only


def kept_draws(n_sessions: int) -> int:
    """How many draws of the unit effects the posterior checks keep: at most 4,000.

    PSIS needs a few thousand draws for stable Pareto k (its threshold is 0.7 from 2,200 draws
    on); the checks hold (draws, sessions) arrays, kept near 20 million numbers.
    """
    return int(np.clip(20_000_000 // max(n_sessions, 1), 200, 4000))


def _sample(compiled: Compiled, data: ModelData, std: Standardisation, s: BayesSettings) -> Draws:
    import nutpie

    model = compiled.model.with_data(**_data_values(data, std))
    start = time.perf_counter()
    trace = nutpie.sample(
        model,
        draws=s.draws,
        tune=s.tune,
        chains=s.chains,
        cores=s.cores,
        seed=s.seed,
        target_accept=s.target_accept,
        progress_bar=sys.stderr.isatty(),
        save_warmup=False,
    )
    seconds = time.perf_counter() - start
    post = trace.posterior
    chains, n_draws = post["sigma"].shape[:2]
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

    priors = {"coefficients": s.coefficients, "group_sd": s.group_sd}
    posterior = Posterior(
        gamma=flat(post["gamma"].values) if data.terms else np.zeros((total, 0)),
        coefficients=flat(np.concatenate([intercept[..., None], beta], axis=-1)),
        sigma=flat(post["sigma"].values),
        z=tuple(flat(post[f"z_{g}"].values)[kept].copy() for g in data.groups),
        priors=priors | ({"thresholds": s.thresholds} if data.ordinal else {}),
        kept=kept,
        thresholds=None if thresholds is None else flat(thresholds),
        centred_thresholds=None if centred is None else flat(centred),
    )
    sds = post["sigma"].values
    return Draws(coefficients, sds, divergences, seconds, posterior, thresholds)


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
    """Stack every reported quantity: coefficients, thresholds, sds, ICCs, MORs -> (c, d, Q)."""
    cuts = [] if draws.thresholds is None else [draws.thresholds]
    return np.concatenate(
        [draws.coefficients, *cuts, draws.sds, icc_by_level(draws.sds),
         median_odds_ratio(draws.sds)],
        axis=-1,
    )  # fmt: skip


def _terms(data: ModelData) -> list[str]:
    """The rows of estimates.csv: an ordinal outcome has thresholds instead of an intercept."""
    return list(data.terms) if data.ordinal else ["Intercept", *data.terms]


def _quantity_names(data: ModelData) -> list[str]:
    cuts = [f"threshold {t}" for t in data.threshold_names] if data.ordinal else []
    levels = [f"{kind} {g}" for kind in ("sd", "icc", "mor") for g in data.groups]
    return _terms(data) + cuts + levels


def _flat(x: np.ndarray) -> np.ndarray:
    """(c, d, Q) -> (c * d, Q), also for Q = 0 (an ordinal null model has no coefficients)."""
    return x.reshape(x.shape[0] * x.shape[1], x.shape[-1])


def _interval(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Posterior median and equal-tailed 95% interval over chains and draws: x is (c, d, Q)."""
    flat = _flat(x)
    low, mid, high = np.quantile(flat, [0.025, 0.5, 0.975], axis=0)
    return mid, low, high


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
    sd_mid, sd_low, sd_high = _interval(draws.sds)
    icc_mid, icc_low, icc_high = _interval(icc_by_level(draws.sds))
    mor_mid, mor_low, mor_high = _interval(median_odds_ratio(draws.sds))
    groups = list(data.groups)
    variance = pd.DataFrame(
        {
            "level": groups,
            "sd": sd_mid,
            "sd_low": sd_low,
            "sd_high": sd_high,
            "icc": icc_mid,
            "mor": mor_mid,
            "icc_low": icc_low,
            "icc_high": icc_high,
            "mor_low": mor_low,
            "mor_high": mor_high,
            "units": list(data.n_units),
            "rhat": [max(per[f"{k} {g}"]["rhat"] for k in ("sd", "icc", "mor")) for g in groups],
            "ess_bulk": [
                min(per[f"{k} {g}"]["ess_bulk"] for k in ("sd", "icc", "mor")) for g in groups
            ],
            "ess_tail": [
                min(per[f"{k} {g}"]["ess_tail"] for k in ("sd", "icc", "mor")) for g in groups
            ],
        }
    )
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
