"""Posterior draws of a Bayesian fit as the after-fit steps read them, and their linear predictor.

Everything here is on the scale the data were given in. A level with random slopes has, per
unit, an intercept deviation at x = 0 (every predictor at 0, as estimates.csv's Intercept) and
a slope deviation per unit of each of its terms; their joint covariance per draw is kept, so
the random part's spread at any x is known (predictions.py, the LOO of checks.py).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from sessionmlm.model_data import ModelData
from sessionmlm.predictions import normal_rule


@dataclass(frozen=True)
class SlopeDraws:
    """A level's random slopes: its covariance at every draw, its unit slopes at the kept ones."""

    level: int  # position of the level in ModelData.groups
    columns: tuple[int, ...]  # (m,) positions in X of the terms whose slopes vary
    cov: np.ndarray  # (S, 1 + m, 1 + m) of (intercept at x = 0, slopes per unit), data scale
    effects: np.ndarray  # (T, n_units, m) each unit's slope deviations, data scale


@dataclass(frozen=True)
class Posterior:
    """Posterior draws with chains flattened; the unit effects only at the kept draws.

    Fixed effects and SDs are small, so every draw is kept; the unit effects are (draws, units)
    arrays, kept at a thinned subset of the draws. A level's intercept deviation is
    sigma[:, k] * z[k]; a level with slopes (in slopes) adds its unit's slopes times X.
    """

    gamma: np.ndarray  # (S, p) coefficients per standard deviation of each predictor
    coefficients: np.ndarray  # (S, 1 + p) Intercept then terms, data scale (ordinal: Intercept 0)
    sigma: np.ndarray  # (S, K) random-intercept SDs (at x = 0), outermost level first
    z: tuple[np.ndarray, ...]  # K arrays (T, n_units_k): standardised intercept deviations
    priors: dict[str, Any]  # coefficients, group_sd (, thresholds): objects with dist, mu, ...
    kept: np.ndarray | None = None  # (T,) the draws z belongs to; None: all S
    # Ordinal outcomes, logit P(y <= k) = threshold_k - eta: (S, categories - 1) each.
    thresholds: np.ndarray | None = None  # data scale
    centred_thresholds: np.ndarray | None = None  # at the predictor means (their prior's scale)
    slopes: tuple[SlopeDraws, ...] = ()
    # The SDs as sampled, under the group_sd prior (S, .); None: sigma is (no slopes).
    sampled_sds: np.ndarray | None = None

    def joint(self) -> Posterior:
        """Every quantity at the kept draws only, for checks that need the unit effects."""
        if self.kept is None:
            return self
        k = self.kept

        def at(x: np.ndarray | None) -> np.ndarray | None:
            return None if x is None else x[k]

        return Posterior(
            self.gamma[k], self.coefficients[k], self.sigma[k], self.z, self.priors,
            thresholds=at(self.thresholds), centred_thresholds=at(self.centred_thresholds),
            slopes=tuple(replace(s, cov=s.cov[k]) for s in self.slopes),
            sampled_sds=at(self.sampled_sds),
        )  # fmt: skip

    def slopes_of(self, level: int) -> SlopeDraws | None:
        """The random slopes of the level at that position, if it has any."""
        return next((s for s in self.slopes if s.level == level), None)


def linear_predictor(data: ModelData, post: Posterior, levels: int | None = None) -> np.ndarray:
    """(S, n) log-odds of every session, with the first `levels` grouping levels' effects.

    levels=None includes every level (the fitted, conditional predictor).
    """
    eta = post.coefficients[:, :1] + post.coefficients[:, 1:] @ data.X.T  # (S, n)
    for k in range(len(data.groups) if levels is None else levels):
        units = data.unit_of_session[k]
        eta = eta + post.sigma[:, k : k + 1] * post.z[k][:, units]
        slopes = post.slopes_of(k)
        if slopes is not None:
            for j, column in enumerate(slopes.columns):
                eta = eta + slopes.effects[:, units, j] * data.X[:, column]
    return eta


def innermost_loadings(data: ModelData, post: Posterior) -> np.ndarray:
    """(S, n or 1, d): the innermost level's random part of each session as loadings @ x.

    x ~ N(0, I_d) is the unit's standardised effect. Intercept only: d = 1, loadings sigma.
    With slopes, r_i = (1, x_i's slope terms) and the random part r_i' u, u ~ N(0, Sigma):
    loadings L' r_i with L L' = Sigma, per draw.
    """
    k = len(data.groups) - 1
    slopes = post.slopes_of(k)
    if slopes is None:
        return post.sigma[:, k, None, None]
    chol = np.linalg.cholesky(slopes.cov)  # (S, q, q)
    r = np.column_stack([np.ones(len(data.y)), data.X[:, list(slopes.columns)]])  # (n, q)
    return np.einsum("sqd,nq->snd", chol, r)


def product_rule(dims: int, points: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Hermite nodes (Q, dims) and weights (Q,) for E[f(x)], x ~ N(0, I_dims).

    One dimension keeps `points`; more take fewer per dimension (9 for two, 5 beyond), so the
    product stays near a hundred nodes.
    """
    per = points if dims == 1 else (9 if dims == 2 else 5)
    nodes, weights = normal_rule(per)
    grids = np.meshgrid(*[nodes] * dims, indexing="ij")
    wgrids = np.meshgrid(*[weights] * dims, indexing="ij")
    return np.stack([g.ravel() for g in grids], axis=1), np.prod([w.ravel() for w in wgrids], 0)
