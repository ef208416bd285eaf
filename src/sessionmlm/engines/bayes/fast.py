"""The random-intercept models as nutpie sees them, with density.py's hand-written density.

Same model, priors and trace as model.py's PyMC model (alpha, gamma, sigma, z_<level>,
thresholds, with the same shapes), without PyMC: no PyMC import, no graph to build and no
numba compile in a new process (density.py's kernels come from numba's on-disk cache).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from sessionmlm.engines.bayes.model import Standardisation, _data_values
from sessionmlm.engines.bayes.settings import BayesSettings, Prior
from sessionmlm.model_data import ModelData


@dataclass(frozen=True)
class Layout:
    """Where each variable sits in the unconstrained vector, and the trace's variables."""

    ordinal: bool
    groups: tuple[str, ...]  # (K,) random-intercept levels, outermost first
    n_units: tuple[int, ...]  # (K,)
    p: int  # fixed-effect columns
    cuts: int  # thresholds (ordinal), else 0

    @property
    def sd_start(self) -> int:
        """Position of log sigma_0: after alpha (binary) and gamma."""
        return (0 if self.ordinal else 1) + self.p

    @property
    def z_start(self) -> np.ndarray:
        """(K,) position of each level's first z."""
        starts = self.sd_start + len(self.groups) + np.cumsum((0, *self.n_units))[:-1]
        return starts.astype(np.int64)

    @property
    def cut_start(self) -> int:
        """Position of the first threshold (ordinal), after every level's z."""
        return self.sd_start + len(self.groups) + sum(self.n_units)

    @property
    def n_dim(self) -> int:
        """Length of the unconstrained vector."""
        return self.cut_start + self.cuts

    def trace_shapes(self) -> dict[str, tuple[int, ...]]:
        """The expanded variables the trace holds, as the PyMC path names them."""
        shapes: dict[str, tuple[int, ...]] = {} if self.ordinal else {"alpha": ()}
        shapes |= {"gamma": (self.p,)} if self.p else {}
        shapes |= {"sigma": (len(self.groups),)} if self.groups else {}
        shapes |= {f"z_{g}": (n,) for g, n in zip(self.groups, self.n_units, strict=True)}
        return shapes | ({"thresholds": (self.cuts,)} if self.ordinal else {})

    def expand(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """The trace's (constrained) values at the unconstrained point x."""
        from sessionmlm.engines.bayes.density import ordered_thresholds

        k = len(self.groups)
        values = {} if self.ordinal else {"alpha": np.array(x[0])}
        values |= {"gamma": x[self.sd_start - self.p : self.sd_start].copy()} if self.p else {}
        values |= {"sigma": np.exp(x[self.sd_start : self.sd_start + k])} if k else {}
        for group, start, n in zip(self.groups, self.z_start, self.n_units, strict=True):
            values[f"z_{group}"] = x[start : start + n].copy()
        if self.ordinal:
            values["thresholds"] = ordered_thresholds(x[self.cut_start :])
        return values


def layout_of(data: ModelData) -> Layout:
    """The unconstrained vector's layout for data's model (random intercepts only)."""
    return Layout(
        ordinal=data.ordinal,
        groups=tuple(data.groups),
        n_units=tuple(int(n) for n in data.n_units),
        p=len(data.terms),
        cuts=len(data.categories) - 1 if data.ordinal else 0,
    )


def _normal(prior: Prior) -> np.ndarray:
    return np.array([prior.mu, prior.sigma])


def _group_sd(prior: Prior) -> np.ndarray:
    """(family, sigma, nu) as density.py's kernels read it; nu defaults to 3 as in model.py."""
    from sessionmlm.engines.bayes.density import HALF_NORMAL, HALF_STUDENT_T

    family = HALF_NORMAL if prior.dist == "half_normal" else HALF_STUDENT_T
    return np.array([family, prior.sigma, prior.nu or 3.0], dtype=np.float64)


def density_arguments(layout: Layout, settings: BayesSettings, values: dict[str, Any]) -> tuple:
    """The kernel's arguments after x, from _data_values' arrays.

    For binary_logp, or ordinal_logp when layout.ordinal.
    """
    units = [np.asarray(values[f"{g}_of_session"], dtype=np.int64) for g in layout.groups]
    n = len(values["y_upper"] if layout.ordinal else values["y"])
    X = np.ascontiguousarray(values["X"] if layout.p else np.zeros((n, 0)), dtype=np.float64)
    design = (
        X,
        np.stack(units) if units else np.zeros((0, n), dtype=np.int64),  # (K, n)
        layout.z_start,
        layout.sd_start,
    )
    coefficients, group_sd = _normal(settings.coefficients), _group_sd(settings.group_sd)
    if not layout.ordinal:
        y = np.asarray(values["y"], dtype=np.float64)
        w = np.asarray(values.get("w", np.ones(n)), dtype=np.float64)
        return (y, w, *design, _normal(settings.intercept), coefficients, group_sd)
    ordinal = np.stack([values["has_upper"], values["has_lower"]]).astype(np.float64)
    y_index = np.stack([values["y_upper"], values["y_lower"]]).astype(np.int64)
    n_inner = np.asarray(values["n_inner"], dtype=np.float64)
    return (ordinal, y_index, n_inner, *design, layout.cut_start, coefficients, group_sd,
            _normal(settings.thresholds))  # fmt: skip


def initial_point(layout: Layout, settings: BayesSettings, seed: int) -> np.ndarray:
    """A chain's start, as PyMC's: U(-1, 1) jitter around each prior's support point.

    The thresholds start evenly spaced in [-1, 1], as model.py's initval.
    """
    x = np.zeros(layout.n_dim)
    if not layout.ordinal:
        x[0] = settings.intercept.mu
    x[layout.sd_start - layout.p : layout.sd_start] = settings.coefficients.mu
    x[layout.sd_start : layout.sd_start + len(layout.groups)] = np.log(settings.group_sd.sigma)
    if layout.ordinal:
        start = np.linspace(-1.0, 1.0, layout.cuts)
        x[layout.cut_start :] = np.concatenate([start[:1], np.log(np.diff(start))])
    return x + np.random.default_rng(seed).uniform(-1.0, 1.0, layout.n_dim)


@dataclass(frozen=True)
class HandWritten:
    """A compiled random-intercept model: with_data gives nutpie a model for those data."""

    layout: Layout
    settings: BayesSettings
    coords: dict[str, list]
    dims: dict[str, tuple[str, ...]]

    def logp_function(self, values: dict[str, Any]):
        """The function of x giving (logp, gradient) on the data values (_data_values' arrays)."""
        from sessionmlm.engines.bayes.density import binary_logp, ordinal_logp

        kernel = ordinal_logp if self.layout.ordinal else binary_logp
        arguments = density_arguments(self.layout, self.settings, values)

        def logp(x: np.ndarray) -> tuple[float, np.ndarray]:
            return kernel(x, *arguments)

        return logp

    def with_data(self, **values: Any):
        """Nutpie's model on new data of the same shape (_data_values' arrays)."""
        from nutpie.compiled_pyfunc import from_pyfunc

        logp = self.logp_function(values)
        shapes = self.layout.trace_shapes()
        return from_pyfunc(
            ndim=self.layout.n_dim,
            make_logp_fn=lambda: logp,
            make_expand_fn=lambda seed1, seed2, chain: self.layout.expand,
            expanded_dtypes=[np.dtype("float64")] * len(shapes),
            expanded_shapes=list(shapes.values()),
            expanded_names=list(shapes),
            coords=self.coords,
            dims=self.dims,
            make_initial_point_fn=lambda seed: initial_point(self.layout, self.settings, seed),
        )


def hand_written(data: ModelData, settings: BayesSettings, std: Standardisation) -> HandWritten:
    """The model for data's shape, its kernel loaded (numba's cache) or compiled once."""
    layout = layout_of(data)
    coords = {"term": list(data.terms), "level": list(data.groups)}
    coords |= {g: list(ids) for g, ids in zip(data.groups, data.unit_ids, strict=True)}
    dims = {"gamma": ("term",)} if data.terms else {}
    dims |= {"sigma": ("level",)} if data.groups else {}
    dims |= {f"z_{g}": (g,) for g in data.groups}
    if data.ordinal:
        coords["threshold"] = list(data.threshold_names)
        dims["thresholds"] = ("threshold",)
    model = HandWritten(layout, settings, coords, dims)
    # One evaluation loads (or compiles) the kernel now, so compile time is counted as such.
    model.logp_function(_data_values(data, std))(initial_point(layout, settings, 0))
    return model
