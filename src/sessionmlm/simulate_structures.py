"""Simulated cohorts of other model structures, with known parameters, for recovery tests.

simulate.py draws the demo design (therapists and their clients, random intercepts). These
draw the structures issue 15 adds, on the scale the data are given in:

- a program level above therapists (four levels with sessions);
- crossed clients, who see a second therapist for some of their sessions;
- a random slope of caregiver_present over therapists, correlated with the therapist's
  intercept; the intercept is the therapist's at caregiver_present = 0 (and child_age = 0),
  as the engines report it;
- an ordinal outcome: the same latent predictor plus logistic noise, cut at thresholds.

Predictors, those named in Structure.coefficients: caregiver_present (0/1 per session, half
present), child_age (per client, 5 to 17) and licensed (0/1 per therapist, 45% licensed).

The design is balanced (so many clients per therapist, sessions per client) unless totals are
given: then clients are spread over therapists, and sessions over clients, unevenly at random
(1 to 6 each, as simulate.allocate places them), e.g. the demo's 680 sessions of 274 clients
of 103 therapists.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sessionmlm.formula import ModelSpec, parse_formula
from sessionmlm.simulate import allocate

PREDICTORS = ("caregiver_present", "child_age", "licensed")
SPREAD = (1, 6)  # clients per therapist and sessions per client when totals are given


@dataclass(frozen=True)
class Structure:
    """A design and its true parameters (log-odds scale; SDs of the random effects)."""

    therapists: int = 60
    clients_per_therapist: int = 6
    sessions_per_client: int = 4
    clients: int = 0  # total clients, spread unevenly over therapists; 0: balanced
    sessions: int = 0  # total sessions, spread unevenly over clients; 0: balanced
    programs: int = 0  # 0: no program level
    crossed: float = 0.0  # each session's chance of being with another therapist
    intercept: float = -0.5
    coefficients: dict[str, float] = field(
        default_factory=lambda: {"caregiver_present": 0.6, "child_age": 0.08}
    )
    sd: dict[str, float] = field(
        default_factory=lambda: {"program": 0.6, "therapist": 0.7, "client": 0.8}
    )
    slope_sd: float = 0.0  # SD over therapists of caregiver_present's slope
    correlation: float = 0.0  # of a therapist's intercept and slope
    thresholds: tuple[float, ...] = ()  # an ordinal outcome's; () for a binary one

    def __post_init__(self) -> None:
        unknown = [name for name in self.coefficients if name not in PREDICTORS]
        if unknown:
            raise ValueError(
                f"Structure.coefficients: no predictor {', '.join(unknown)}; "
                f"the simulated ones are {', '.join(PREDICTORS)}"
            )

    @property
    def groups(self) -> tuple[str, ...]:
        """The grouping levels, outermost first."""
        return ("program",) * bool(self.programs) + ("therapist", "client")

    def formula(self) -> str:
        """The model that generated the data."""
        therapist = "(1 + caregiver_present | therapist)" if self.slope_sd else "(1 | therapist)"
        outer = " + (1 | program)" if self.programs else ""
        fixed = " + ".join(self.coefficients)
        return f"homework ~ {fixed} + {therapist}{outer} + (1 | client)"

    def spec(self) -> ModelSpec:
        """The formula's spec with the units' keys: crossed clients are identified alone."""
        spec = parse_formula(self.formula(), "structure")
        groups = self.groups
        keys = [groups[: k + 1] for k in range(len(groups))]
        if self.crossed:
            keys[-1] = ("client",)
        return ModelSpec(**{**spec.__dict__, "groups": groups, "unit_keys": tuple(keys)})


def _therapist_effects(s: Structure, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Each therapist's (intercept, caregiver_present slope) deviation."""
    sd = np.array([s.sd["therapist"], s.slope_sd])
    corr = np.array([[1.0, s.correlation], [s.correlation, 1.0]])
    effects = rng.multivariate_normal(np.zeros(2), corr * np.outer(sd, sd), s.therapists)
    return effects[:, 0], effects[:, 1]


def _allocation(s: Structure, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Each client's therapist and each session's client, balanced unless s gives totals.

    Totals draw from rng; balanced designs draw nothing (their data are as before totals).
    """
    if s.clients:
        home = allocate(s.clients, s.therapists, SPREAD, rng)
    else:
        home = np.repeat(np.arange(s.therapists), s.clients_per_therapist)
    if s.sessions:
        client = allocate(s.sessions, len(home), SPREAD, rng)
    else:
        client = np.repeat(np.arange(len(home)), s.sessions_per_client)
    return home, client


def simulate_structure(s: Structure, seed: int) -> pd.DataFrame:
    """A canonical table (one row per session) drawn from s's model."""
    rng = np.random.default_rng(seed)
    home, client = _allocation(s, rng)  # client -> therapist, session -> client
    clients = len(home)
    therapist = home[client]
    if s.crossed:  # some sessions with another therapist, drawn at random
        moved = rng.random(len(client)) < s.crossed
        therapist = np.where(moved, rng.integers(0, s.therapists, len(client)), therapist)
    n = len(client)
    program = np.arange(s.therapists) % max(s.programs, 1)  # therapist -> program
    caregiver = (rng.random(n) < 0.5).astype(float)
    age = rng.integers(5, 18, clients).astype(float)[client]
    values = {"caregiver_present": caregiver, "child_age": age}
    if "licensed" in s.coefficients:  # drawn only when used: other designs' data are unchanged
        values["licensed"] = (rng.random(s.therapists) < 0.45).astype(float)[therapist]
    intercepts, slopes = _therapist_effects(s, rng)
    eta = s.intercept
    for name, coefficient in s.coefficients.items():
        eta = eta + coefficient * values[name]
    eta = (
        eta
        + intercepts[therapist]
        + slopes[therapist] * caregiver
        + s.sd["client"] * rng.standard_normal(clients)[client]
    )
    if s.programs:
        eta = eta + s.sd["program"] * rng.standard_normal(s.programs)[program[therapist]]
    table = pd.DataFrame(
        {
            "program": [f"p{p}" for p in program[therapist]],
            "therapist": [f"t{t}" for t in therapist],
            "client": [f"c{c}" for c in client],
            **values,
        }
    )
    # The therapists drawn: their sample correlation is what these data can tell of s.correlation.
    table.attrs["therapist_effects"] = np.column_stack([intercepts, slopes])
    if not s.thresholds:
        table["homework"] = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
        return table
    latent = eta - s.intercept + rng.logistic(size=n)  # the thresholds take the intercept's place
    table["homework"] = np.searchsorted(np.array(s.thresholds), latent).astype(float)
    categories = [str(k + 1) for k in range(len(s.thresholds) + 1)]
    table.attrs["variables"] = {"homework": {"type": "ordinal", "categories": categories}}
    return table
