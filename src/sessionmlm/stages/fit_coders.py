"""Stage `fit_coders`: an item model with a coder random intercept, fitted to every code.

The table is all_codes.parquet (stage all_codes); the fit is stage fit's, with the table's
record (counts and what the model assumes) in fit.json, and each coder's severity beside the
output contract in coders.csv, under the coders' pseudonyms.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sessionmlm import atomic
from sessionmlm.all_codes import CODER, coder_severities
from sessionmlm.formula import ModelSpec
from sessionmlm.privacy import Privacy
from sessionmlm.stages.fit import run_fit


def severities_table(result: Any, table: pd.DataFrame, spec: ModelSpec) -> pd.DataFrame:
    """coders.csv: each coder's severity from a fit's draws (no rows without draws)."""
    post = result.posterior
    if post is None:
        return pd.DataFrame(columns=[CODER, "severity", "ci_low", "ci_high", "prob_positive"])
    # The coders as build_model_data numbered them: sorted ids of the sessions it kept.
    kept = table[list(spec.columns)].dropna()
    coders = np.sort(kept[CODER].astype(str).unique())
    k = spec.groups.index(CODER)
    sigma = post.sigma[:, k] if post.kept is None else post.sigma[post.kept, k]
    return coder_severities(coders, sigma, post.z[k])


def run_fit_coders(
    cohort: str,
    spec: ModelSpec,
    reference: dict[str, Any],
    engine: str,
    settings: Any,
    table: str,
    record: str,
    outputs: dict[str, str],
    threads: int,
    privacy: Privacy,
    levels: tuple[str, ...],
) -> None:
    """Fit a coder model (run_fit) to the long table; add coders.csv and the record's note."""
    joined = json.loads(Path(record).read_text())
    result = run_fit(
        cohort, spec, reference, engine, settings, table, outputs, threads, privacy, levels,
        notes={"all_codes": joined},
    )  # fmt: skip
    severities = severities_table(result, pd.read_parquet(table), spec)
    atomic.write_text(outputs["coders"], severities.to_csv(index=False, float_format="%.6g"))
