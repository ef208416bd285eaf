"""Designs: the planned coding studies a user asks about, under `designs:` in the config.

A design describes a planned study (therapists, or programs and therapists per program;
clients per therapist, sessions per client, expected odds ratios, variance components) and a
grid over some of those numbers. Each grid
point is simulated R times and fitted with the ml engine, one chunk of replicates per job
(replicates.py); power_summary.py summarises the fits into power, bias, interval coverage and
the rate of singular fits per point, which answer "how many therapists do we need?".

In this package "design" means only this; the simulator's unit counts are a CohortShape and an
engine's arrays are ModelData.
"""

from __future__ import annotations

import copy
import functools
import itertools
import math
from dataclasses import asdict, dataclass
from typing import Any

from sessionmlm.engines.ml import ENGINE as ML
from sessionmlm.formula import FormulaError, ModelSpec, parse_formula
from sessionmlm.simulate import EFFECT_NAMES, ORDINAL_NAME, SIMULATED, OrdinalParameters

DEFAULT_STUDY = {
    "therapists": 103,
    "clients_per_therapist": {"mean": 2.66, "min": 1, "max": 6},
    "sessions_per_client": {"mean": 2.48, "min": 1, "max": 6},
    "intercept": -2.2,
    # The ordinal outcome's (extensiveness's) thresholds, in place of the intercept.
    "thresholds": list(OrdinalParameters().thresholds),
    "odds_ratios": {},
    "sd_therapist": 0.8,
    "sd_client": 0.9,
    # Programs: none by default (therapists sit directly in the study). With a number, the
    # therapists are programs x therapists_per_program.mean and `therapists` is not used.
    "programs": None,
    "therapists_per_program": {"mean": 4.12, "min": 1, "max": 10},
    "sd_program": 0.0,
}
# The groupings a design may fit: the simulator's levels, nested, outermost first.
DESIGN_GROUPS = (
    ("program", "therapist", "client"), ("program", "therapist"), ("therapist", "client"),
    ("therapist",), ("client",),
)  # fmt: skip
DEFAULTS = {
    "replicates": 500,
    "replicates_per_job": 50,
    "seed": 1,
    "alpha": 0.05,
    "power_target": 0.8,
}
# The ml engine's settings for design fits, over the config's `ml` and under the design's own.
ML_DEFAULTS = {"points": 12, "profile": False}
SIMULATION_ENGINE = ML.name  # a design's fits, and its settings key
GRID_KEYS = (
    "therapists", "clients_per_therapist.mean", "sessions_per_client.mean", "intercept",
    "sd_therapist", "sd_client", "programs", "therapists_per_program.mean", "sd_program",
    *(f"odds_ratios.{name}" for name in EFFECT_NAMES),
)  # fmt: skip


@dataclass(frozen=True)
class Design:
    """One design section, validated, with its grid expanded."""

    name: str
    description: str
    spec: ModelSpec
    study: dict[str, Any]  # DEFAULT_STUDY with the user's values
    grid: dict[str, list[Any]]  # dotted study key -> values; their Cartesian product is run
    replicates: int
    replicates_per_job: int
    seed: int
    alpha: float
    power_target: float
    ml_settings: dict[str, Any]

    @functools.cached_property
    def points(self) -> list[dict[str, Any]]:
        """Each grid point as {dotted key: value}; one empty point when there is no grid.

        Computed once per design (the instance is frozen, so it cannot go stale).
        """
        keys = list(self.grid)
        return [
            dict(zip(keys, values, strict=True))
            for values in itertools.product(*self.grid.values())
        ]

    def study_at(self, point: int) -> dict[str, Any]:
        """The planned study with grid point `point`'s values filled in."""
        study = copy.deepcopy(self.study)
        for key, value in self.points[point].items():
            set_dotted(study, key, value)
        return study

    def chunks(self) -> list[tuple[int, int]]:
        """(first, stop) replicate ranges: one job fits replicates_per_job replicates."""
        step = self.replicates_per_job
        return [
            (first, min(first + step, self.replicates)) for first in range(0, self.replicates, step)
        ]

    def minutes_per_job(self, point: int) -> int:
        """A generous SLURM runtime for one chunk, from the fit time measured on a laptop core.

        About 0.15 s per 1,000 sessions per fit at 12 points (three times that with profile
        intervals), plus simulation; the factor 5 covers slower cluster cores.
        """
        sessions = sessions_of(self.study_at(point))
        per_fit = 0.3 + 1.5e-4 * sessions * (3 if self.ml_settings.get("profile") else 1)
        seconds = per_fit * self.replicates_per_job * (self.ml_settings.get("points", 12) / 12) ** 2
        return max(10, math.ceil(5 * seconds / 60))


def set_dotted(study: dict[str, Any], key: str, value: Any) -> None:
    """Set study['a']['b'] for key 'a.b'."""
    *parents, last = key.split(".")
    target = study
    for part in parents:
        target = target.setdefault(part, {})
    target[last] = value


def planned_counts(study: dict[str, Any]) -> tuple[int, int, int]:
    """Therapists, clients and sessions of a planned study, from the means below the top.

    With programs, the therapists are programs x therapists_per_program.mean.
    """
    programs = study.get("programs")
    if programs is None:
        therapists = int(study["therapists"])
    else:
        therapists = round(int(programs) * study["therapists_per_program"]["mean"])
    clients = round(therapists * study["clients_per_therapist"]["mean"])
    sessions = round(clients * study["sessions_per_client"]["mean"])
    return therapists, clients, sessions


def sessions_of(study: dict[str, Any]) -> int:
    """Expected sessions of a planned study."""
    return planned_counts(study)[2]


def load_design(
    name: str, raw: dict[str, Any], ml_defaults: dict[str, Any]
) -> tuple[Design | None, list[str]]:
    """Validate one design section (after the JSON schema); return it or the problems found."""
    where = f"config/config.yaml: designs.{name}"
    problems: list[str] = []
    try:
        spec = parse_formula(raw["formula"], name)
    except FormulaError as error:
        return None, [f"{where}.formula: {error}"]
    study = copy.deepcopy(DEFAULT_STUDY)
    for key, value in raw.get("study", {}).items():
        study[key] = {**study[key], **value} if isinstance(value, dict) else value
    unknown_terms = [t for t in spec.predictors if t not in SIMULATED]
    problems += [
        f"{where}.formula: {t!r} is not simulated; the simulator draws {', '.join(SIMULATED)}."
        for t in unknown_terms
    ]
    if spec.outcome not in ("homework", ORDINAL_NAME):
        problems.append(
            f"{where}.formula: the simulated outcomes are 'homework' (binary) and "
            f"{ORDINAL_NAME!r} (ordinal, {len(study['thresholds']) + 1} categories), not "
            f"{spec.outcome!r}."
        )
    thresholds = study["thresholds"]
    if sorted(set(thresholds)) != list(thresholds):
        problems.append(
            f"{where}.study.thresholds: {thresholds} must increase (the ordinal outcome's "
            "cut points, lowest first)."
        )
    if spec.groups not in DESIGN_GROUPS:
        problems.append(
            f"{where}.formula: use "
            + ", ".join(f"(1 | {'/'.join(g)})" for g in DESIGN_GROUPS[:-1])
            + f" or (1 | {DESIGN_GROUPS[-1][0]})."
        )
    problems += _program_problems(spec, raw, study, where)
    reason = ML.cannot_fit(spec)
    if reason:
        problems.append(
            f"{where}.formula: designs are fitted with {SIMULATION_ENGINE}, and {reason}."
        )
    for effect in study["odds_ratios"]:
        if effect not in EFFECT_NAMES:
            problems.append(
                f"{where}.study.odds_ratios.{effect}: not a simulated predictor; "
                f"choose from {', '.join(EFFECT_NAMES)}."
            )
        elif effect.split("[")[0] not in spec.predictors:
            problems.append(
                f"{where}.study.odds_ratios.{effect}: not in the formula, so every fit would "
                "omit a real effect; add it to the formula or remove the odds ratio."
            )
    grid = dict(raw.get("grid", {}))
    for key in grid:
        if key not in GRID_KEYS:
            problems.append(
                f"{where}.grid.{key}: cannot vary this; grid keys are {', '.join(GRID_KEYS)}."
            )
    settings = {**DEFAULTS, **{k: v for k, v in raw.items() if k in DEFAULTS}}
    design = Design(
        name=name,
        description=raw.get("description", ""),
        spec=spec,
        study=study,
        grid=grid,
        replicates=settings["replicates"],
        replicates_per_job=settings["replicates_per_job"],
        seed=settings["seed"],
        alpha=settings["alpha"],
        power_target=settings["power_target"],
        # Every setting, defaults included, for the record (the schema checked the keys).
        ml_settings=asdict(
            ML.settings({**ml_defaults, **ML_DEFAULTS, **raw.get(SIMULATION_ENGINE, {})})
        ),
    )
    if not problems:
        for point in range(len(design.points)):
            problems += _study_problems(
                design.study_at(point), f"{where} (grid point {point + 1}: {design.points[point]})"
            )
    return (None if problems else design), problems


def _program_problems(
    spec: ModelSpec, raw: dict[str, Any], study: dict[str, Any], where: str
) -> list[str]:
    """Programs are either planned (programs: a number) or absent, consistently."""
    grid = raw.get("grid", {})
    programs = study["programs"] is not None or "programs" in grid
    problems = []
    if programs and ("therapists" in raw.get("study", {}) or "therapists" in grid):
        problems.append(
            f"{where}.study: with programs, the therapists are programs x "
            "therapists_per_program.mean; set (or vary) those instead of therapists."
        )
    if not programs:
        if "program" in spec.groups:
            problems.append(
                f"{where}.study.programs: the formula has programs; set how many the study "
                "plans (programs: 25, therapists_per_program: {mean: 4, min: 1, max: 10})."
            )
        if study["sd_program"] > 0 or "sd_program" in grid:
            problems.append(
                f"{where}.study.sd_program: the study has no programs; set study.programs."
            )
    return problems


def _study_problems(study: dict[str, Any], where: str) -> list[str]:
    problems = []
    keys = ["clients_per_therapist", "sessions_per_client"]
    if study["programs"] is not None:
        keys.append("therapists_per_program")
        if study["programs"] < 2:
            problems.append(f"{where}: programs must be at least 2.")
    for key in keys:
        s = study[key]
        if not 1 <= s["min"] <= s["mean"] <= s["max"]:
            problems.append(f"{where}: {key} needs 1 <= min <= mean <= max (got {s}).")
    if planned_counts(study)[0] < 2:
        problems.append(f"{where}: therapists must be at least 2.")
    bad = [k for k, v in study["odds_ratios"].items() if not v > 0]
    problems += [f"{where}: odds_ratios.{k} must be positive." for k in bad]
    return problems
