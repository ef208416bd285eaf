"""The Bayesian engine's PyMC model, compiled by nutpie once per shape of data and priors."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from sessionmlm.engines.bayes.settings import BayesSettings, Prior
from sessionmlm.model_data import ModelData

log = logging.getLogger(__name__)


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
