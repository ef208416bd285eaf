"""The gee engine's settings, as written in config."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

COVARIANCES = ("robust", "bias_reduced")
WORKINGS = ("exchangeable", "independence")


@dataclass(frozen=True)
class GeeSettings:
    """GEE settings; defaults are documented in config/README.md."""

    covariance: str = "robust"  # robust (sandwich) or bias_reduced (Mancl-DeRouen) SEs
    max_iter: int = 100  # GEE iterations
    # The working dependence between sessions of a unit: exchangeable (nested exchangeable
    # correlations for a 0/1 outcome, a global odds ratio for an ordinal one) or independence.
    working: str = "exchangeable"

    @classmethod
    def from_config(cls, settings: dict[str, Any] | None) -> GeeSettings:
        """Build from the config's `gee` mapping; unknown keys or values name the valid ones."""
        settings = dict(settings or {})
        known = list(cls.__dataclass_fields__)
        unknown = sorted(set(settings) - set(known))
        if unknown:
            raise ValueError(
                f"unknown gee setting(s) {', '.join(map(repr, unknown))}; "
                f"valid keys: {', '.join(known)}"
            )
        s = cls(**settings)
        if s.covariance not in COVARIANCES:
            raise ValueError(
                f"gee covariance {s.covariance!r} is not one of {', '.join(COVARIANCES)}"
            )
        if s.working not in WORKINGS:
            raise ValueError(f"gee working {s.working!r} is not one of {', '.join(WORKINGS)}")
        if isinstance(s.max_iter, bool) or not isinstance(s.max_iter, int) or s.max_iter < 1:
            raise ValueError(f"gee max_iter must be a positive integer, not {s.max_iter!r}")
        return s
