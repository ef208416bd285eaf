"""Engines: each fits a ModelData and returns a FitResult in the output contract.

Only the engine modules import their modelling libraries; this module stays light.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import Any

import pandas as pd

from sessionmlm import __version__, atomic

ESTIMATE_COLUMNS = [
    "term", "estimate", "std_error", "ci_low", "ci_high",
    "odds_ratio", "or_low", "or_high",
]  # fmt: skip
VARIANCE_COLUMNS = ["level", "sd", "sd_low", "sd_high", "icc", "mor"]
FIT_KEYS = [
    "engine", "settings", "n_obs", "units", "converged", "diagnostics", "wall_seconds",
    "versions", "seed",
]  # fmt: skip

ENGINE_MODULES = {
    "bayes": "sessionmlm.engines.bayes",
    "ml": "sessionmlm.engines.ml",
    "gee": "sessionmlm.engines.gee",
}


@dataclass(frozen=True)
class FitResult:
    """What every engine returns: the three files of the output contract."""

    estimates: pd.DataFrame  # ESTIMATE_COLUMNS first, then engine-specific columns
    variance: pd.DataFrame  # VARIANCE_COLUMNS first, then engine-specific columns
    info: dict[str, Any]  # fit.json
    posterior: Any = None  # bayes: checks.Posterior, thinned joint draws (not written out)

    @property
    def converged(self) -> bool:
        """Whether the engine trusts its own result."""
        return bool(self.info["converged"])


def get_engine(name: str) -> Callable[..., FitResult]:
    """Return the engine's fit(data, settings, threads=...) function.

    Unknown names list the valid choices.
    """
    if name not in ENGINE_MODULES:
        raise ValueError(
            f"unknown engine {name!r}; valid engines: {', '.join(sorted(ENGINE_MODULES))}"
        )
    return import_module(ENGINE_MODULES[name]).fit


def write_result(
    result: FitResult, estimates: Path | str, variance: Path | str, fit_json: Path | str
) -> None:
    """Write the output contract's three files, contract columns first.

    fit.json also records sessionmlm_version, the version of this package that made the fit.
    Raises ValueError naming what an engine left out, so no engine can write a partial contract.
    """
    missing = [f"estimates.{c}" for c in ESTIMATE_COLUMNS if c not in result.estimates]
    missing += [f"variance.{c}" for c in VARIANCE_COLUMNS if c not in result.variance]
    missing += [f"fit.json:{k}" for k in FIT_KEYS if k not in result.info]
    if missing:
        raise ValueError(f"engine result lacks {', '.join(missing)} (the output contract)")
    for frame, required, path in [
        (result.estimates, ESTIMATE_COLUMNS, estimates),
        (result.variance, VARIANCE_COLUMNS, variance),
    ]:
        ordered = required + [c for c in frame.columns if c not in required]
        atomic.write_text(path, frame[ordered].to_csv(index=False, float_format="%.6g"))
    info = {"sessionmlm_version": __version__} | result.info
    atomic.write_text(fit_json, json.dumps(info, indent=2, default=_json_default) + "\n")


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")
