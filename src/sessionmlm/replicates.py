"""Replicates of a design: simulate a cohort at a grid point, fit it with the ml engine.

Replicate r of grid point p always gets the same seed, whatever the chunking into jobs, so a
run split over a cluster gives the same numbers as a run on a laptop.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np
import pandas as pd

from sessionmlm.designs import Design, planned_counts
from sessionmlm.engines.ml import BOUNDARY_SD
from sessionmlm.engines.ml import ENGINE as ML
from sessionmlm.errors import UserError
from sessionmlm.model_data import build_model_data
from sessionmlm.simulate import (
    EFFECT_NAMES,
    REFERENCE,
    SCALAR_TERMS,
    CohortShape,
    OrdinalParameters,
    TrueParameters,
    canonical,
    simulate_cohort,
)

log = logging.getLogger(__name__)


def generating_model(study: dict[str, Any]) -> tuple[CohortShape, TrueParameters]:
    """The simulator's cohort shape and true parameters for a planned study.

    Therapists (over the planned programs; without programs, in one), clients and sessions are
    spread at random between each level's min and max around its mean; effects not listed
    under odds_ratios are zero. The ordinal outcome (extensiveness) has the
    same effects and SDs, with the study's thresholds in place of the intercept.
    """
    therapists, clients, sessions = planned_counts(study)
    cpt, spc = study["clients_per_therapist"], study["sessions_per_client"]
    programs, tpp = study["programs"], study["therapists_per_program"]
    shape = CohortShape(
        therapists, clients, sessions, (cpt["min"], cpt["max"]), (spc["min"], spc["max"]),
        n_programs=1 if programs is None else int(programs),
        therapists_per_program=(1, therapists) if programs is None else (tpp["min"], tpp["max"]),
    )  # fmt: skip
    log_or = {k: math.log(v) for k, v in study["odds_ratios"].items()}
    scalars = {name: log_or.get(name, 0.0) for name in SCALAR_TERMS}
    common = {
        "ebp": {level: log_or.get(term, 0.0) for term, level in _ebp_terms()},
        "sd_therapist": study["sd_therapist"],
        "sd_client": study["sd_client"],
        "sd_program": study["sd_program"],
        **scalars,
    }
    ordinal = OrdinalParameters(thresholds=tuple(study["thresholds"]), **common)
    truth = TrueParameters(intercept=study["intercept"], extensiveness=ordinal, **common)
    return shape, truth


def _ebp_terms() -> list[tuple[str, str]]:
    """(term, level) of each simulated categorical level other than the reference."""
    return [(t, t[t.index("[") + 1 : -1]) for t in EFFECT_NAMES if t.endswith("]")]


def replicate_seed(seed: int, point: int, replicate: int) -> int:
    """The seed of one replicate: independent streams, the same whatever the chunking."""
    return int(np.random.SeedSequence([seed, point, replicate]).generate_state(1)[0])


def fit_replicate(
    design: Design, point: int, replicate: int, shape: CohortShape, truth: TrueParameters
) -> list[dict[str, Any]]:
    """Simulate and fit one replicate; one row per fixed effect and per random-effect SD.

    shape and truth are grid point `point`'s generating model (generating_model).
    """
    reason = ML.cannot_fit(design.spec)
    if reason:  # load_design refuses such designs; a design built another way is stopped here
        raise UserError(f"design {design.name}: {design.spec.formula!r}: {reason}.")
    seed = replicate_seed(design.seed, point, replicate)
    table = canonical(simulate_cohort(shape, truth, seed=seed))
    data = build_model_data(table, design.spec, REFERENCE)
    result = ML.fit(data, design.ml_settings, threads=1)  # numba, statsmodels load here
    params = truth.extensiveness if data.ordinal else truth  # the outcome the formula names
    true_values = params.coefficients()
    common = {"point": point, "replicate": replicate, "seed": seed, "converged": result.converged}
    singular = bool(result.variance["sd"].le(BOUNDARY_SD).any())
    rows = [
        common
        | {
            "quantity": row.term,
            "truth": true_values[row.term],
            "estimate": row.estimate,
            "std_error": row.std_error,
            "ci_low": row.ci_low,
            "ci_high": row.ci_high,
            "p_value": row.p_value,
            "singular": singular,
        }
        for row in result.estimates.itertuples()
    ]
    sd_truth = {
        "program": params.sd_program,
        "therapist": params.sd_therapist,
        "client": params.sd_client,
    }
    rows += [
        common
        | {
            "quantity": f"sd {row.level}",
            "truth": sd_truth[row.level],
            "estimate": row.sd,
            "std_error": np.nan,
            "ci_low": row.sd_low,
            "ci_high": row.sd_high,
            "p_value": np.nan,
            "singular": singular,
        }
        for row in result.variance.itertuples()
    ]
    return rows


def simulate_chunk(design: Design, point: int, first: int, stop: int) -> pd.DataFrame:
    """Fit replicates first..stop-1 of a grid point, logging progress."""
    shape, truth = generating_model(design.study_at(point))
    rows: list[dict[str, Any]] = []
    for replicate in range(first, stop):
        rows += fit_replicate(design, point, replicate, shape, truth)
        done = replicate - first + 1
        if done % 10 == 0 or replicate == stop - 1:
            log.info("point %d: %d of %d replicates fitted", point + 1, done, stop - first)
    return pd.DataFrame(rows)
