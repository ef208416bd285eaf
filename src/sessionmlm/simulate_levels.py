"""Simulated sessions with a program level and a therapist's random slope, for the ml engine.

A plain generator of known truth for recovery tests and benchmarks of the structures that
the demo cohort (simulate.py) does not have: program / therapist / client random intercepts
and a correlated random intercept and slope of caregiver_present per therapist.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sessionmlm.simulate import allocate


@dataclass(frozen=True)
class LevelsTruth:
    """The generating model: logit P(y = 1) = eta, or logit P(y <= k) = thresholds[k] - eta.

    eta = intercept + caregiver x + licensed z + program + therapist intercept and slope in x
    + client. The ordinal outcome uses eta without the intercept.
    """

    intercept: float = -0.8
    caregiver_present: float = 0.7
    licensed: float = -0.5
    sd_program: float = 0.6
    sd_therapist: float = 0.7
    sd_client: float = 0.8
    sd_slope: float = 0.0  # SD of the therapist's slope in caregiver_present
    correlation: float = 0.0  # of the therapist's intercept and slope
    thresholds: tuple[float, ...] = (-1.0, 0.2, 1.4)


def simulate_levels(
    truth: LevelsTruth,
    seed: int,
    programs: int = 25,
    therapists: int = 103,
    clients: int = 274,
    sessions: int = 680,
) -> pd.DataFrame:
    """One data set: columns program, therapist, client, caregiver_present, licensed, y, rating.

    Sizes default to the demo's (680 sessions, 274 clients, 103 therapists) in 25 programs.
    """
    rng = np.random.default_rng(seed)
    per = (max(1, therapists // programs - 3), therapists // programs + 4)
    program_of_t = allocate(therapists, programs, per, rng)
    therapist_of_c = allocate(clients, therapists, (1, 6), rng)
    client_of_s = allocate(sessions, clients, (1, 6), rng)
    therapist_of_s = therapist_of_c[client_of_s]
    program_of_s = program_of_t[therapist_of_s]
    x = rng.binomial(1, 0.5, sessions).astype(float)
    licensed = rng.binomial(1, 0.45, therapists)[therapist_of_s].astype(float)
    s0, s1, rho = truth.sd_therapist, truth.sd_slope, truth.correlation
    cov = np.array([[s0 * s0, rho * s0 * s1], [rho * s0 * s1, s1 * s1]])
    b = rng.multivariate_normal(np.zeros(2), cov, therapists)[therapist_of_s]
    eta = (
        truth.caregiver_present * x
        + truth.licensed * licensed
        + truth.sd_program * rng.standard_normal(programs)[program_of_s]
        + b[:, 0]
        + b[:, 1] * x
        + truth.sd_client * rng.standard_normal(clients)[client_of_s]
    )
    y = rng.binomial(1, 1 / (1 + np.exp(-(truth.intercept + eta))))
    latent = eta + rng.logistic(size=sessions)
    rating = np.searchsorted(np.asarray(truth.thresholds), latent)
    table = pd.DataFrame(
        {
            "program": [f"P{p:03d}" for p in program_of_s],
            "therapist": [f"T{t:04d}" for t in therapist_of_s],
            "client": [f"C{c:05d}" for c in client_of_s],
            "caregiver_present": x,
            "licensed": licensed,
            "y": y.astype(float),
            "rating": rating.astype(float),
        }
    )
    categories = list(range(len(truth.thresholds) + 1))
    table.attrs["variables"] = {"rating": {"type": "ordinal", "categories": categories}}
    return table
