"""Which likelihood model a model's grouping structure needs, and its variance parameters.

Three structures: nested random intercepts on one or two levels (the kernel alone,
likelihood.py), three nested levels (ProgramLogit) and one random slope on the outermost
level (SlopeLogit). engines/ml/__init__.py's cannot_fit refuses the rest before any fit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sessionmlm.engines.ml.likelihood import NestedLogit, _nesting
from sessionmlm.engines.ml.likelihood_outer import ProgramLogit, SlopeLogit
from sessionmlm.engines.ml.quadrature import Nesting, nesting_from_codes
from sessionmlm.model_data import ModelData


@dataclass(frozen=True)
class Structure:
    """A model's sort order, variance parameters and how to build its likelihood.

    labels and kinds name the SDs in parameter order ("therapist" / "intercept",
    "therapist:x" / "slope"); slope is (group, term, x) for a random slope, whose correlation
    follows the SDs as atanh(rho).
    """

    order: np.ndarray
    nesting: Nesting
    unit_start: np.ndarray | None  # therapists of each outer unit (outer structures only)
    labels: tuple[str, ...]
    kinds: tuple[str, ...]
    slope: tuple[str, str, np.ndarray] | None = None

    @property
    def start(self) -> np.ndarray:
        """Starting values of the variance parameters: 0.5 for each SD, rho = 0."""
        return np.r_[np.full(len(self.labels), 0.5), np.zeros(int(self.slope is not None))]

    def model(self, y, exog, names, n_cuts, points, outer_points, groups):
        """The likelihood model at the given points (kernel levels, outer integral)."""
        variance = [f"sd {label}" for label in self.labels]
        if self.unit_start is None:
            return NestedLogit(y, exog, (names, list(groups)), self.nesting, len(groups),
                               points, n_cuts)  # fmt: skip
        if self.slope is None:
            return ProgramLogit(y, exog, (names, list(groups)), variance, self.nesting,
                                self.unit_start, 2, points, outer_points, n_cuts)  # fmt: skip
        group, _, x = self.slope
        return SlopeLogit(y, exog, (names, list(groups)), [*variance, f"atanh rho {group}"],
                          self.nesting, self.unit_start, len(groups), points, outer_points,
                          n_cuts, x=x)  # fmt: skip


def _outer_sorted(unit: np.ndarray, therapist: np.ndarray, client: np.ndarray):
    """Sessions sorted by outer unit, therapist and client, their nesting and unit starts."""
    order = np.lexsort((client, therapist, unit))
    t, c = therapist[order], client[order]
    # Ranks in the sorted order, so that nesting_from_codes keeps this order.
    t_rank = np.r_[0, np.cumsum(t[1:] != t[:-1])]
    c_rank = np.r_[0, np.cumsum(c[1:] != c[:-1])]
    _, nesting = nesting_from_codes(t_rank, c_rank)
    first = nesting.client_start[nesting.therapist_start[:-1]]
    u = unit[order][first]
    unit_start = np.r_[0, np.flatnonzero(np.diff(u)) + 1, nesting.n_therapists].astype(np.int64)
    return order, nesting, unit_start


def structure(data: ModelData) -> Structure:
    """The structure of data's grouping levels and slopes (as cannot_fit allows)."""
    groups = list(data.groups)
    intercepts = ("intercept",) * len(groups)
    if data.slopes:
        (group, terms), = data.slopes  # fmt: skip
        (column,) = data.slope_columns(group)
        codes = data.unit_of_session
        client = codes[1] if len(groups) == 2 else codes[0]
        order, nesting, unit_start = _outer_sorted(codes[0], codes[0], client)
        return Structure(
            order, nesting, unit_start, (*groups, f"{group}:{terms[0]}"),
            (*intercepts, "slope"), (group, terms[0], data.X[order, column]),
        )  # fmt: skip
    if len(groups) == 3:
        order, nesting, unit_start = _outer_sorted(*data.unit_of_session)
        return Structure(order, nesting, unit_start, tuple(groups), intercepts)
    order, nesting = _nesting(data)
    return Structure(order, nesting, None, tuple(groups), intercepts)
