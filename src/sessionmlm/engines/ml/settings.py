"""The ml engine's settings: quadrature points and convergence, as written in config."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

BOUNDARY_SD = 1e-4  # an SD at or below this is at the boundary (lme4's isSingular tolerance)


@dataclass(frozen=True)
class MlSettings:
    """Quadrature and convergence settings; defaults are documented in config/README.md."""

    points: int = 12  # quadrature points per level; 1 is the Laplace approximation
    # Points of the outermost integral that wraps the nested kernel: a third level's (program)
    # intercept, or a random slope. Adaptive at the posterior mean and SD, so it needs at least 2.
    outer_points: int = 5
    # Points per nested level inside that outer integral, which multiplies their work: 7 agree
    # with 12 to 3e-6 in log-likelihood on demo-shaped four-level data, at half the time.
    points_inside_outer: int = 7
    max_iter: int = 500  # optimiser iterations per stage
    max_newton_step: float = 1e-4  # largest parameter change another Newton step may propose
    profile: bool = True  # profile-likelihood intervals for the SDs

    @classmethod
    def from_config(cls, settings: dict[str, Any]) -> MlSettings:
        """Build from the config's `ml` mapping, naming unknown keys."""
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(settings) - known)
        if unknown:
            raise ValueError(f"unknown ml setting(s) {unknown}; valid: {sorted(known)}")
        s = cls(**settings)
        if s.points < 1:
            raise ValueError(f"ml points must be at least 1, not {s.points}")
        if s.points_inside_outer < 1:
            raise ValueError(
                f"ml points_inside_outer must be at least 1, not {s.points_inside_outer}"
            )
        if s.outer_points < 2:
            raise ValueError(f"ml outer_points must be at least 2, not {s.outer_points}")
        return s
