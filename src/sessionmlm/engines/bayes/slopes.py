"""Random slopes in the Bayesian engine's draws: from the model's scale to the data's.

The model (model.py) samples each unit's effects b on the standardised scale: b_0 the
intercept at the predictor means, b_j the slope per SD of term j. The outputs give them on
the scale the data were given in, as estimates.csv does: the slope per unit of the term,
b_j / scale_j, and the intercept at x = 0 (every predictor at 0), b_0 - sum_j mean_j b_j /
scale_j. That linear map T moves the unit effects and their covariance (T Sigma T') alike, so
SDs, correlations, ICC and MOR all come from one covariance per draw.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sessionmlm.engines.bayes.model import Standardisation, effect_names
from sessionmlm.model_data import ModelData

SCALE_NOTE = (
    "Random slopes are on the scale the data were given in: each slope's SD is per unit of its "
    "term (for a 0/1 term, of the difference it makes), and the random intercept of a level "
    "with slopes is the unit's log-odds at x = 0 (every predictor at 0, as the Intercept in "
    "estimates.csv), so its SD, ICC and MOR are those at x = 0; correlations are of the "
    "intercept at x = 0 with each slope. Priors apply in the model, on the standardised scale "
    "(intercept at the predictor means, slopes per SD of the term)."
)


@dataclass(frozen=True)
class LevelSlopes:
    """One level's random slopes at every draw, on the data's scale."""

    level: int  # position in data.groups
    group: str
    terms: tuple[str, ...]  # ("Intercept", slope terms...)
    columns: tuple[int, ...]  # positions in X of the slope terms
    cov: np.ndarray  # (c, d, q, q) covariance of (intercept at x = 0, slopes per unit)
    effects: np.ndarray  # (c, d, J, q) each unit's (intercept at x = 0, slopes)
    sampled_sds: np.ndarray  # (c, d, q) the SDs as sampled (standardised scale)

    @property
    def sds(self) -> np.ndarray:
        """(c, d, q) SDs of the intercept at x = 0 and of each slope per unit."""
        return np.sqrt(np.diagonal(self.cov, axis1=-2, axis2=-1))

    def pairs(self) -> list[tuple[int, int]]:
        """Index pairs (i < j) of the effects, in the order of correlations."""
        q = len(self.terms)
        return [(i, j) for i in range(q) for j in range(i + 1, q)]

    @property
    def correlations(self) -> np.ndarray:
        """(c, d, pairs) correlation of each pair of effects, in pairs() order."""
        sds = self.sds
        return np.stack(
            [self.cov[..., i, j] / (sds[..., i] * sds[..., j]) for i, j in self.pairs()], -1
        )


def data_scale_map(columns: list[int], std: Standardisation) -> np.ndarray:
    """(q, q) T with b_data = T b_model for one level's (intercept, slopes)."""
    T = np.eye(1 + len(columns))
    for j, column in enumerate(columns):
        T[1 + j, 1 + j] = 1.0 / std.scale[column]
        T[0, 1 + j] = -std.mean[column] / std.scale[column]
    return T


def level_slopes(data: ModelData, posterior, std: Standardisation) -> list[LevelSlopes]:
    """Every level with random slopes, from the trace's posterior (an xarray Dataset)."""
    out = []
    for k, group in enumerate(data.groups):
        columns = data.slope_columns(group)
        if not columns:
            continue
        T = data_scale_map(columns, std)
        stds = posterior[f"chol_{group}_stds"].values  # (c, d, q)
        corr = posterior[f"chol_{group}_corr"].values  # (c, d, q, q)
        cov = corr * stds[..., :, None] * stds[..., None, :]
        out.append(
            LevelSlopes(
                level=k, group=group, terms=tuple(effect_names(data, group)),
                columns=tuple(columns), cov=T @ cov @ T.T,
                effects=posterior[f"b_{group}"].values @ T.T, sampled_sds=stds,
            )
        )  # fmt: skip
    return out


def slope_names(slopes: list[LevelSlopes]) -> list[str]:
    """variance.csv's level of each random slope: "group:term"."""
    return [f"{s.group}:{t}" for s in slopes for t in s.terms[1:]]


def correlation_names(slopes: list[LevelSlopes]) -> list[tuple[str, list[str]]]:
    """(level, [term, term]) of each correlation, in the order of correlation_draws."""
    return [(s.group, [s.terms[i], s.terms[j]]) for s in slopes for i, j in s.pairs()]


def slope_sd_draws(slopes: list[LevelSlopes], shape: tuple[int, int]) -> np.ndarray:
    """(c, d, M) SD of every random slope, per unit of its term."""
    parts = [s.sds[..., 1:] for s in slopes]
    return np.concatenate(parts, axis=-1) if parts else np.zeros((*shape, 0))


def correlation_draws(slopes: list[LevelSlopes], shape: tuple[int, int]) -> np.ndarray:
    """(c, d, P) every correlation of a level's effects."""
    parts = [s.correlations for s in slopes]
    return np.concatenate(parts, axis=-1) if parts else np.zeros((*shape, 0))
