"""The Bayesian engine: PyMC model with non-centred random intercepts, sampled by nutpie.

Predictors are standardised inside the model (priors on coefficients are per standard
deviation of each predictor, as rstanarm's autoscaling) and results are transformed back to
the scale the data were given in. A fit whose diagnostics fail is retried with more draws and
a higher target acceptance; if it still fails it is returned with converged = false and the
reasons, never as fine.
"""

from __future__ import annotations

import logging
import platform
import sys
import time
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from sessionmlm.checks import Posterior
from sessionmlm.engines import FitResult
from sessionmlm.model_data import ModelData
from sessionmlm.variance import icc_by_level, median_odds_ratio

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Prior:
    """A prior family and its parameters, as written in config."""

    dist: str
    sigma: float
    mu: float = 0.0
    nu: float | None = None

    def describe(self) -> str:
        """Human-readable form for reports: Normal(0, 2.5), HalfNormal(1.5), ..."""
        if self.dist == "normal":
            return f"Normal({self.mu:g}, {self.sigma:g})"
        if self.dist == "half_normal":
            return f"HalfNormal({self.sigma:g})"
        return f"HalfStudentT(nu={self.nu or 3:g}, sigma={self.sigma:g})"


@dataclass(frozen=True)
class BayesSettings:
    """Sampler, retry and prior settings; defaults are those documented in config/README.md."""

    chains: int = 4
    draws: int = 2000
    tune: int = 300
    target_accept: float = 0.8
    seed: int = 20261122
    max_attempts: int = 3
    max_rhat: float = 1.01
    min_ess: float = 400.0
    max_divergences: int = 0
    intercept: Prior = Prior("normal", 2.5)
    coefficients: Prior = Prior("normal", 2.5)
    group_sd: Prior = Prior("half_normal", 1.5)
    cores: int = 2

    @classmethod
    def from_config(cls, settings: dict[str, Any], cores: int = 2) -> BayesSettings:
        """Build from the merged config dict (already checked against the schema)."""
        known = {
            f
            for f in cls.__dataclass_fields__
            if f not in ("intercept", "coefficients", "group_sd")
        }
        unknown = sorted(set(settings) - known - {"priors"})
        if unknown:
            raise ValueError(
                f"unknown bayes setting(s) {unknown}; valid: {sorted(known | {'priors'})}"
            )
        priors = {name: Prior(**spec) for name, spec in settings.get("priors", {}).items()}
        plain = {k: v for k, v in settings.items() if k != "priors"}
        return cls(**plain, **priors, cores=cores)

    def retry(self, attempt: int) -> BayesSettings:
        """Settings for the given attempt (0-based): double the draws, raise target acceptance."""
        if attempt == 0:
            return self
        accept = max(self.target_accept, (0.9, 0.95, 0.99)[min(attempt - 1, 2)])
        return replace(
            self, draws=self.draws * 2**attempt, tune=self.tune * 2, target_accept=accept
        )


@dataclass
class Compiled:
    """A nutpie-compiled model with the shapes and priors it was built for.

    The data stay shared variables rather than constants baked into the graph: new data of the
    same shape (retries, simulation replicates) sample without compiling again, and numba's
    on-disk cache serves any cohort with the same model structure. (Freezing the data in
    compiles about 2 s faster when the cache already holds that exact data, but about 4 s
    slower for data it has not seen, which is the usual case.)
    """

    model: Any
    shape: tuple
    compile_seconds: float


@dataclass
class Standardisation:
    """Column means and standard deviations used to standardise X, shape (p,) each."""

    mean: np.ndarray
    scale: np.ndarray


def _shape_key(data: ModelData, s: BayesSettings) -> tuple:
    """What a compiled model is fixed to: the data's shapes and the priors (baked in)."""
    return (data.X.shape, data.groups, data.n_units, s.intercept, s.coefficients, s.group_sd)


def _standardise(data: ModelData) -> Standardisation:
    return Standardisation(mean=data.X.mean(axis=0), scale=data.X.std(axis=0))


def _data_values(data: ModelData, std: Standardisation) -> dict[str, np.ndarray]:
    values = {"y": data.y.astype(np.float64)}
    if data.terms:
        values["X"] = (data.X - std.mean) / std.scale
    for group, units in zip(data.groups, data.unit_of_session, strict=True):
        values[f"{group}_of_session"] = units
    return values


def build_model(data: ModelData, settings: BayesSettings):
    """The PyMC model: logit P(y=1) = alpha + Xs gamma + sum_k sigma_k z_k[unit_k]."""
    import pymc as pm

    values = _data_values(data, _standardise(data))
    coords = {"term": list(data.terms), "level": list(data.groups)}
    coords |= {g: list(ids) for g, ids in zip(data.groups, data.unit_ids, strict=True)}

    def prior(name: str, p: Prior, **kwargs):
        if p.dist == "normal":
            return pm.Normal(name, mu=p.mu, sigma=p.sigma, **kwargs)
        if p.dist == "half_normal":
            return pm.HalfNormal(name, sigma=p.sigma, **kwargs)
        return pm.HalfStudentT(name, nu=p.nu or 3.0, sigma=p.sigma, **kwargs)

    with pm.Model(coords=coords) as model:
        y = pm.Data("y", values["y"])  # (n,)
        alpha = prior("alpha", settings.intercept)
        eta = alpha
        if data.terms:
            X = pm.Data("X", values["X"])  # (n, p), standardised
            gamma = prior("gamma", settings.coefficients, dims="term")  # (p,)
            eta = eta + X @ gamma  # (n, p) @ (p,) -> (n,)
        sigma = prior("sigma", settings.group_sd, dims="level")  # (K,)
        for k, group in enumerate(data.groups):
            unit_of_session = pm.Data(f"{group}_of_session", values[f"{group}_of_session"])
            z = pm.Normal(f"z_{group}", 0.0, 1.0, dims=group)  # (n_units_k,), non-centred
            eta = eta + sigma[k] * z[unit_of_session]
        pm.Bernoulli("obs", logit_p=eta, observed=y)
    return model


def compile_model(data: ModelData, settings: BayesSettings) -> Compiled:
    """Compile the model for data (reusable for any data of the same shape)."""
    import nutpie

    log.info("compiling the model (about a minute the first time on a machine, seconds after that)")
    start = time.perf_counter()
    model = nutpie.compile_pymc_model(build_model(data, settings), freeze_model=False)
    seconds = time.perf_counter() - start
    log.info("compiled the model in %.1f s", seconds)
    return Compiled(model=model, shape=_shape_key(data, settings), compile_seconds=seconds)


@dataclass
class Draws:
    """Posterior draws of every reported quantity, each (chains, draws, ...)."""

    coefficients: np.ndarray  # (c, d, 1 + p): Intercept then terms, data scale
    sds: np.ndarray  # (c, d, K)
    divergences: int
    seconds: float
    posterior: Posterior  # thinned joint draws, for the posterior checks


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
    alpha = post["alpha"].values  # (c, d)
    if data.terms:
        beta = post["gamma"].values / std.scale  # (c, d, p)
        intercept = alpha - (beta * std.mean).sum(axis=-1)
        coefficients = np.concatenate([intercept[..., None], beta], axis=-1)
    else:
        coefficients = alpha[..., None]
    divergences = int(trace.sample_stats["diverging"].values.sum())
    chains, n_draws = alpha.shape
    total = chains * n_draws
    kept = np.arange(0, total, max(1, -(-total // kept_draws(len(data.y)))))

    def flat(x: np.ndarray) -> np.ndarray:  # (c, d, ...) -> (c * d, ...)
        return x.reshape(total, *x.shape[2:])

    posterior = Posterior(
        gamma=flat(post["gamma"].values) if data.terms else np.zeros((total, 0)),
        coefficients=flat(coefficients),
        sigma=flat(post["sigma"].values),
        z=tuple(flat(post[f"z_{g}"].values)[kept].copy() for g in data.groups),
        priors={"coefficients": s.coefficients, "group_sd": s.group_sd},
        kept=kept,
    )
    return Draws(coefficients, post["sigma"].values, divergences, seconds, posterior)


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
    """Stack every reported quantity: coefficients, sds, ICCs, MORs -> (c, d, Q)."""
    return np.concatenate(
        [draws.coefficients, draws.sds, icc_by_level(draws.sds), median_odds_ratio(draws.sds)],
        axis=-1,
    )


def _quantity_names(data: ModelData) -> list[str]:
    terms = ["Intercept", *data.terms]
    return terms + [f"{kind} {g}" for kind in ("sd", "icc", "mor") for g in data.groups]


def _interval(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Posterior median and equal-tailed 95% interval over chains and draws: x is (c, d, Q)."""
    flat = x.reshape(-1, x.shape[-1])
    low, mid, high = np.quantile(flat, [0.025, 0.5, 0.975], axis=0)
    return mid, low, high


def summarise(
    data: ModelData, draws: Draws, diagnostics: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Estimates and variance tables from the draws, with per-quantity diagnostics."""
    per = diagnostics["per_quantity"]
    terms = ["Intercept", *data.terms]
    mid, low, high = _interval(draws.coefficients)
    flat = draws.coefficients.reshape(-1, len(terms))
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
    return estimates, variance


def versions() -> dict[str, str]:
    """Versions of the packages that produced a fit."""
    from importlib.metadata import version

    names = ["pymc", "pytensor", "nutpie", "arviz", "arviz-stats", "numpy", "pandas", "numba"]
    return {"python": platform.python_version(), **{n: version(n) for n in names}}


def fit(
    data: ModelData,
    settings: dict[str, Any] | BayesSettings,
    threads: int = 2,
    compiled: Compiled | None = None,
) -> FitResult:
    """Fit data with the Bayesian engine, retrying within the budget until diagnostics pass.

    settings is the config's `bayes` mapping (then chains run on `threads` cores) or a
    BayesSettings; compiled, from compile_model, is reused when its shapes match.
    """
    if isinstance(settings, BayesSettings):
        s = settings
    else:
        s = BayesSettings.from_config(settings, cores=threads)
    start = time.perf_counter()
    reused = compiled is not None and compiled.shape == _shape_key(data, s)
    if not reused:
        compiled = compile_model(data, s)
    std = _standardise(data)
    names = _quantity_names(data)
    attempts = []
    for attempt in range(s.max_attempts):
        current = s.retry(attempt)
        draws = _sample(compiled, data, std, current)
        diagnostics = diagnose(draws, s, names)
        attempts.append(
            {
                "draws": current.draws,
                "tune": current.tune,
                "target_accept": current.target_accept,
                "seconds": round(draws.seconds, 3),
                "passed": diagnostics["passed"],
                "problems": diagnostics["problems"],
            }
        )
        log.info(
            "attempt %d/%d: %d chains x %d draws (target accept %.2f) in %.1f s: max R-hat %.3f, "
            "min ESS bulk %.0f tail %.0f, %d divergences%s",
            attempt + 1, s.max_attempts, current.chains, current.draws, current.target_accept,
            draws.seconds, diagnostics["max_rhat"], diagnostics["min_ess_bulk"],
            diagnostics["min_ess_tail"], diagnostics["divergences"],
            "" if diagnostics["passed"] else ": " + "; ".join(diagnostics["problems"]),
        )  # fmt: skip
        if diagnostics["passed"]:
            break
    estimates, variance = summarise(data, draws, diagnostics)
    settings_record = asdict(s)
    info = {
        "engine": "bayes",
        **data.record(),
        "converged": diagnostics["passed"],
        "status": "ok" if diagnostics["passed"] else "failed",
        "problems": diagnostics["problems"],
        "settings": settings_record,
        "priors": {
            "intercept": s.intercept.describe() + " on the log-odds at the predictor means",
            "coefficients": s.coefficients.describe() + " per standard deviation of each predictor",
            "group_sd": s.group_sd.describe() + " for each level's random-intercept SD",
        },
        # The same prior on the scale the data were given in: per unit of each predictor.
        "prior_per_term": {
            term: replace(
                s.coefficients,
                mu=float(f"{s.coefficients.mu / scale:.3g}"),
                sigma=float(f"{s.coefficients.sigma / scale:.3g}"),
            ).describe()
            + " per unit"
            for term, scale in zip(data.terms, std.scale, strict=True)
        },
        "diagnostics": {k: v for k, v in diagnostics.items() if k != "per_quantity"},
        "attempts": attempts,
        "seed": s.seed,
        "wall_seconds": {
            "total": round(time.perf_counter() - start, 3),
            "compile": 0.0 if reused else round(compiled.compile_seconds, 3),
            "sampling": round(sum(a["seconds"] for a in attempts), 3),
        },
        "versions": versions(),
    }
    return FitResult(estimates=estimates, variance=variance, info=info, posterior=draws.posterior)
