"""The Bayesian engine's model, compiled once per shape of data and priors.

Random-intercept models use the hand-written log density (fast.py); the PyMC model here
serves random slopes and is the reference the hand-written one is tested against.
"""

from __future__ import annotations

import logging
import time
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from sessionmlm.engines.bayes.settings import BayesSettings, Prior
from sessionmlm.model_data import ModelData

log = logging.getLogger(__name__)


@dataclass
class Compiled:
    """A model nutpie samples, with the shapes and priors it was built for.

    model is fast.HandWritten or nutpie's compiled PyMC model; either takes new data of the
    same shape (retries, simulation replicates) by model.with_data(**_data_values(...))
    without compiling again. The PyMC model keeps its data as shared variables rather than
    constants baked into the graph, so numba's on-disk cache serves any cohort with the same
    model structure. (Freezing the data in compiles about 2 s faster when the cache already
    holds that exact data, but about 4 s slower for data it has not seen, the usual case.)
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
    """What a compiled model is fixed to: shapes, outcome, priors (all baked in).

    The outcome's type and number of categories set the likelihood and the thresholds' shape;
    the random slopes (which columns of X vary over which level) set the effects' shapes.
    """
    outcome = (data.outcome_type, len(data.categories) if data.ordinal else 2)
    priors = (s.intercept, s.coefficients, s.group_sd, s.thresholds, s.correlation)
    slopes = tuple((g, tuple(data.slope_columns(g))) for g, _ in data.slopes)
    weighted = data.weights is not None
    return (data.X.shape, data.groups, data.n_units, outcome, priors, slopes, weighted)


def _standardise(data: ModelData) -> Standardisation:
    return Standardisation(mean=data.X.mean(axis=0), scale=data.X.std(axis=0))


def _data_values(data: ModelData, std: Standardisation) -> dict[str, np.ndarray]:
    values = _ordinal_values(data) if data.ordinal else {"y": data.y.astype(np.float64)}
    if data.weights is not None and not data.ordinal:
        values["w"] = data.weights.astype(np.float64)
    if data.terms:
        values["X"] = (data.X - std.mean) / std.scale
    for group, units in zip(data.groups, data.unit_of_session, strict=True):
        values[f"{group}_of_session"] = units
    return values


ORDINAL_DATA = ("y_upper", "y_lower", "has_upper", "has_lower", "n_inner")


def _ordinal_values(data: ModelData) -> dict[str, np.ndarray]:
    """An ordinal outcome as the likelihood reads it (ordinal_loglik), from category indices.

    Each session's category y has an upper threshold (y < K - 1) and a lower one (y > 0);
    sessions in an inner category also add log(1 - exp(c[y-1] - c[y])), which depends on the
    thresholds alone, so it enters once per category, times its count.
    """
    y = data.y.astype(np.int64)
    last = len(data.categories) - 1
    # Weighted rows (ModelData.weights) enter each term times their weight.
    w = np.ones(len(y)) if data.weights is None else data.weights.astype(np.float64)
    return {
        "y_upper": np.minimum(y, last - 1),
        "y_lower": np.maximum(y - 1, 0),
        "has_upper": (y < last) * w,
        "has_lower": (y > 0) * w,
        "n_inner": np.bincount(y, weights=w, minlength=last + 1)[1:last],
    }


def ordinal_loglik(eta, thresholds, values: dict[str, Any]):
    """Sum over sessions of log P(y | eta) under logit P(y <= k) = c_k - eta, in PyTensor.

    P(y = k) = sigmoid(c_k - eta) - sigmoid(c_{k-1} - eta)
             = sigmoid(c_k - eta) * sigmoid(eta - c_{k-1}) * (1 - exp(c_{k-1} - c_k)),
    so each session costs two log-sigmoids and no log of a difference: stable far out, and on
    the demo model about 1.6 times faster per gradient than pm.OrderedLogistic's (n, K) table
    of probabilities (benchmarks/bayes_speed.py compares the whole fit with the binary one).
    """
    import pytensor.tensor as pt

    def log_sigmoid(x):
        return -pt.softplus(-x)

    upper = values["has_upper"] * log_sigmoid(thresholds[values["y_upper"]] - eta)
    lower = values["has_lower"] * log_sigmoid(eta - thresholds[values["y_lower"]])
    gaps = values["n_inner"] * pt.log1mexp(thresholds[:-1] - thresholds[1:])
    return upper.sum() + lower.sum() + gaps.sum()


def plain_levels(data: ModelData) -> list[str]:
    """The grouping levels with a random intercept only (the model's `sigma`, in order)."""
    return [g for g in data.groups if not data.slope_columns(g)]


def effect_names(data: ModelData, group: str) -> list[str]:
    """A level with random slopes: its effects, the intercept first, then each slope's term."""
    return ["Intercept", *(data.terms[j] for j in data.slope_columns(group))]


def build_model(data: ModelData, settings: BayesSettings):
    """The PyMC model: logit P(y=1) = alpha + Xs gamma + sum_k sigma_k z_k[unit_k].

    For an ordinal outcome, logit P(y <= k) = c_k - (Xs gamma + sum_k sigma_k z_k[unit_k])
    with ordered thresholds c (at the predictor means) in place of alpha.

    A level with random slopes has, per unit, effects b = (intercept, slopes) ~ MVN(0, Sigma)
    with Sigma's SDs from the group_sd prior and an LKJ prior on its correlations, non-centred
    (b = z L', L = chol Sigma), adding b_0 + sum_j b_j Xs_j: all on the standardised scale, so
    b_0 is the unit's intercept at the predictor means and b_j its slope per SD of term j
    (sampling.py moves them to the data's scale). Its b is stored as `b_<level>`.
    """
    import pymc as pm

    values = _data_values(data, _standardise(data))
    plain = plain_levels(data)
    coords = {"term": list(data.terms), "level": plain}
    coords |= {g: list(ids) for g, ids in zip(data.groups, data.unit_ids, strict=True)}
    coords |= {f"{g}_effect": effect_names(data, g) for g, _ in data.slopes}

    def prior(name: str, p: Prior, dist_only: bool = False, **kwargs):
        if p.dist == "normal":
            return pm.Normal(name, mu=p.mu, sigma=p.sigma, **kwargs)
        if p.dist == "half_normal":
            family, params = pm.HalfNormal, {"sigma": p.sigma}
        else:
            family, params = pm.HalfStudentT, {"nu": p.nu or 3.0, "sigma": p.sigma}
        # LKJCholeskyCov takes the SDs' prior as an unnamed distribution.
        return family.dist(**params, **kwargs) if dist_only else family(name, **params, **kwargs)

    if data.ordinal:
        coords["threshold"] = list(data.threshold_names)
    with pm.Model(coords=coords) as model:
        eta = 0.0 if data.ordinal else prior("alpha", settings.intercept)
        if data.terms:
            X = pm.Data("X", values["X"])  # (n, p), standardised
            gamma = prior("gamma", settings.coefficients, dims="term")  # (p,)
            eta = eta + X @ gamma  # (n, p) @ (p,) -> (n,)
        if plain:
            sigma = prior("sigma", settings.group_sd, dims="level")  # (K without slopes,)
        for group in data.groups:
            unit_of_session = pm.Data(f"{group}_of_session", values[f"{group}_of_session"])
            columns = data.slope_columns(group)
            if not columns:
                z = pm.Normal(f"z_{group}", 0.0, 1.0, dims=group)  # (n_units_k,), non-centred
                eta = eta + sigma[plain.index(group)] * z[unit_of_session]
                continue
            q = 1 + len(columns)
            chol, _, _ = pm.LKJCholeskyCov(
                f"chol_{group}", n=q, eta=settings.correlation.eta,
                sd_dist=prior("", settings.group_sd, shape=q, dist_only=True),
                compute_corr=True,
            )  # fmt: skip
            z = pm.Normal(f"z_{group}", 0.0, 1.0, dims=(group, f"{group}_effect"))  # (J, q)
            # z L' written out (q is small): a matrix product would ask PyTensor for BLAS.
            b = (z[:, None, :] * chol[None, :, :]).sum(axis=-1)
            b = pm.Deterministic(f"b_{group}", b, dims=(group, f"{group}_effect"))
            per_session = b[unit_of_session]  # (n, q)
            eta = eta + per_session[:, 0] + (per_session[:, 1:] * X[:, columns]).sum(axis=1)
        if data.ordinal:
            cuts = len(data.categories) - 1
            thresholds = prior(
                "thresholds", settings.thresholds, dims="threshold",
                transform=pm.distributions.transforms.ordered,
                initval=np.linspace(-1.0, 1.0, cuts),  # any increasing start
            )  # fmt: skip
            shared = {k: pm.Data(k, values[k]) for k in ORDINAL_DATA}
            # The checks compute their own log-likelihood (checks.py), so the likelihood can be a
            # Potential rather than an observed variable.
            pm.Potential("obs", ordinal_loglik(eta, thresholds, shared))
        elif data.weights is not None:
            # Weighted rows: each row's log-likelihood times its weight, as a Potential.
            y, w = pm.Data("y", values["y"]), pm.Data("w", values["w"])
            pm.Potential("obs", (w * pm.logp(pm.Bernoulli.dist(logit_p=eta), y)).sum())
        else:
            pm.Bernoulli("obs", logit_p=eta, observed=pm.Data("y", values["y"]))
    return model


def hand_written_covers(data: ModelData) -> bool:
    """Whether fast.py's hand-written log density covers data's model: random intercepts only."""
    return not data.slopes


def compile_model(data: ModelData, settings: BayesSettings) -> Compiled:
    """Compile the model for data (reusable for any data of the same shape).

    Random intercepts only: the hand-written log density (fast.py, density.py), loaded from
    numba's on-disk cache. Random slopes (LKJ): the PyMC model, compiled by nutpie.
    """
    if not hand_written_covers(data):
        return compile_pymc(data, settings)
    from sessionmlm.engines.bayes.fast import hand_written

    log.info("log density: hand-written (numba, cached; compiled once per machine)")
    start = time.perf_counter()
    model = hand_written(data, settings, _standardise(data))
    seconds = time.perf_counter() - start
    log.info("loaded the log density in %.1f s", seconds)
    return Compiled(model=model, shape=_shape_key(data, settings), compile_seconds=seconds)


def compile_pymc(data: ModelData, settings: BayesSettings) -> Compiled:
    """The PyMC model compiled by nutpie (any model; the reference for the hand-written one).

    Without fastmath: with it (PyTensor's default), LLVM may fuse and reorder floating-point
    operations across the pieces of the log-density, which it can do when it compiles them
    together but not when it loads them from PyTensor's on-disk cache, so the same seed gave
    other draws on a machine's first run than on later ones.
    """
    import nutpie
    import pytensor

    log.info(
        "log density: PyMC + nutpie's numba compile (about a minute the first time on a "
        "machine, seconds after that)"
    )
    log.info("numba fastmath off: draws depend on the data, seed and settings, not on caches")
    start = time.perf_counter()
    with warnings.catch_warnings(), pytensor.config.change_flags(numba__fastmath=False):
        # LKJCholeskyCov's initial point is compiled by PyTensor's C backend, which warns when
        # pip's PyTensor finds no BLAS; its q x q products need none, and nutpie uses numba.
        warnings.filterwarnings("ignore", "PyTensor could not link to a BLAS", UserWarning)
        model = nutpie.compile_pymc_model(build_model(data, settings), freeze_model=False)
    seconds = time.perf_counter() - start
    log.info("compiled the model in %.1f s", seconds)
    return Compiled(model=model, shape=_shape_key(data, settings), compile_seconds=seconds)
