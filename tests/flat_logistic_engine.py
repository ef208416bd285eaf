"""A fourth engine, used only by the tests: ordinary logistic regression ignoring the levels.

It proves the engine seam: registered through SESSIONMLM_ENGINES (or engines.register), it
runs through the workflow, the report, the index and pooling with no change outside this file.
Its odds ratios are marginal (population-averaged) and its standard errors naive: sessions are
treated as independent, which no real analysis of nested sessions should do.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from sessionmlm.engines import (
    VARIANCE_COLUMNS,
    AfterFit,
    Engine,
    FitResult,
    Fitted,
    Resources,
    Wording,
)

Z95 = 1.959963984540054


@dataclass(frozen=True)
class FlatSettings:
    """Newton-Raphson iterations allowed and the step that counts as converged."""

    max_iter: int = 50
    tolerance: float = 1e-10

    @classmethod
    def from_config(cls, settings: dict[str, Any]) -> FlatSettings:
        """Build from the config's `flat` mapping, naming unknown keys."""
        unknown = sorted(set(settings) - set(cls.__dataclass_fields__))
        if unknown:
            raise ValueError(
                f"unknown flat setting(s) {unknown}; valid: {sorted(cls.__dataclass_fields__)}"
            )
        return cls(**settings)


def fit(data: Any, settings: FlatSettings, threads: int = 1) -> FitResult:
    """Logistic regression on the sessions by Newton-Raphson, with Wald intervals."""
    start = time.perf_counter()
    terms = ["Intercept", *data.terms]
    X = np.column_stack([np.ones(len(data.y)), data.X])  # (n, p)
    beta = np.zeros(X.shape[1])
    converged, iterations = False, 0
    for iterations in range(1, settings.max_iter + 1):  # noqa: B007 (kept for fit.json)
        p = 1 / (1 + np.exp(-(X @ beta)))
        information = X.T @ (X * (p * (1 - p))[:, None])  # (p, p)
        step = np.linalg.solve(information, X.T @ (data.y - p))
        beta += step
        if np.max(np.abs(step)) < settings.tolerance:
            converged = True
            break
    se = np.sqrt(np.diag(np.linalg.inv(information)))
    z = beta / se
    estimates = pd.DataFrame(
        {
            "term": terms, "estimate": beta, "std_error": se,
            "ci_low": beta - Z95 * se, "ci_high": beta + Z95 * se,
            "odds_ratio": np.exp(beta), "or_low": np.exp(beta - Z95 * se),
            "or_high": np.exp(beta + Z95 * se),
            "p_value": [math.erfc(abs(v) / math.sqrt(2)) for v in z],
        }
    )  # fmt: skip
    eta = X @ beta
    info = {
        "engine": ENGINE.name,
        **data.record(),
        "converged": converged,
        "status": "ok" if converged else "failed",
        "problems": [] if converged else [f"not converged in {settings.max_iter} iterations"],
        "settings": asdict(settings),
        "diagnostics": {"iterations": iterations},
        "loglik": float(np.sum(data.y * eta - np.logaddexp(0, eta))),
        "wall_seconds": {"total": round(time.perf_counter() - start, 3)},
        "versions": {"numpy": np.__version__},
        "seed": None,
    }
    variance = pd.DataFrame(columns=VARIANCE_COLUMNS)  # no levels, no variance components
    return FitResult(estimates=estimates, variance=variance, info=info)


def _base_rate(fitted: Fitted) -> dict[str, Any]:
    """An after-fit step: the share of the fit's sessions whose outcome is 1 (fit.json keys)."""
    return {"base_rate": float(np.mean(fitted.data.y))}


ENGINE = Engine(
    name="flat",
    settings=FlatSettings.from_config,
    fit=fit,
    resources=Resources(threads=lambda settings: 1, memory_mb=(500, 50), minutes=(5, 1)),
    wording=Wording(
        estimates="ordinary logistic-regression estimates with naive 95% Wald intervals",
        sd_intervals="",
        advice="Raise flat.max_iter or simplify the model.",
        priors="none (ordinary logistic regression)",
        diagnostics=lambda info: f"{info['diagnostics']['iterations']} Newton iterations",
        dependence="sessions are treated as independent",
    ),
    population_averaged=True,
    rank=50,
    after_fit=(AfterFit("base_rate", _base_rate, "base rate of the outcome"),),
)
