"""The simulator's coded practice-element items, their coders and double coding: parameters.

Each item is a binary (0/1) or ordinal (extensiveness 0 to 4) code of a session. Every coder
who codes a session draws its code from the same model (simulate_items.py draws them):

    latent = intercept + effects + program, therapist and client intercepts
             + the coder's severity + noise,

cut at 0 (binary: 1 above) or at the thresholds (ordinal: logit P(y <= k) = thresholds[k] -
the rest, as ordinal::clmm). The noise is logistic: with probability `attention` it is the
session's own draw, shared by every coder who attends (what happened in the session), else
the coder's own fresh draw (a coder who missed it codes from the session's context alone).
Either way it is logistic, so every coder's codes follow exactly a multilevel logit (or
cumulative logit) with the item's effects and a coder random intercept (the severities);
attention sets how often two coders agree beyond that, the item's reliability.

DEMO_CODING, the demo cohort's: 10 items, five binary and five ordinal, with positive,
negative and null effects on the cohort's predictors; three are unreliable (a low attention):
pe_psychoeducation, pe_problem_solving and pe_cognitive_restructuring. Six coders R01..R06 with
fixed severities (SD 0.30); 20% of the sessions are double-coded, a quarter of those by three.
The double-coded table (double_coded.csv) holds every code of those sessions, one row per
(session, coder), the primary coder's row included with the same codes as sessions.csv, so
that reliability is computed from it alone.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

CODER_COLUMN = "coder_id"  # the primary coder of each session in sessions.csv
DOUBLE_CODED_FILE = "double_coded.csv"  # every code of the double-coded sessions


@dataclass(frozen=True)
class ItemParameters:
    """One item: its effects (log-odds, named as the engines name terms), cut points and SDs.

    coefficients maps predictor terms (caregiver_present, child_age, ..., ebp[TF-CBT]) to
    effects; terms not named have none. An ordinal item has thresholds and no intercept.
    reliability is the population agreement of two coders of a session (Cohen's kappa for a
    binary item, quadratic-weighted kappa for an ordinal one) in large demo-shaped cohorts,
    computed by simulation (tests/test_simulate_items.py checks it): it records what the
    attention gives, it does not set it.
    """

    name: str
    coefficients: dict[str, float]
    intercept: float = 0.0
    thresholds: tuple[float, ...] = ()
    sd_program: float = 0.3
    sd_therapist: float = 0.6
    sd_client: float = 0.5
    attention: float = 0.93
    reliability: float | None = None

    def __post_init__(self) -> None:
        if self.thresholds and self.intercept:
            raise ValueError(f"item {self.name}: an ordinal item has thresholds, no intercept")
        if not 0 <= self.attention <= 1:
            raise ValueError(f"item {self.name}: attention {self.attention} is not in [0, 1]")

    @property
    def kind(self) -> str:
        """Binary or ordinal."""
        return "ordinal" if self.thresholds else "binary"

    @property
    def cuts(self) -> tuple[float, ...]:
        """Where the latent value (the intercept included) changes code."""
        return self.thresholds or (0.0,)

    @property
    def categories(self) -> tuple[str, ...]:
        """The item's codes, lowest first."""
        return tuple(str(k) for k in range(len(self.cuts) + 1))

    def record(self) -> dict:
        """The item as truth.json records it (thresholds named "low|high" as thresholds.csv)."""
        c = self.categories
        scale = (
            {"thresholds": {f"{c[k]}|{c[k + 1]}": t for k, t in enumerate(self.thresholds)}}
            if self.thresholds
            else {"intercept": self.intercept}
        )
        return {
            "column": self.name,
            "kind": self.kind,
            "categories": list(c),
            **scale,
            "coefficients": dict(self.coefficients),
            "sd": {
                "program": self.sd_program,
                "therapist": self.sd_therapist,
                "client": self.sd_client,
            },
            "attention": self.attention,
            "reliability": {
                "statistic": "quadratic-weighted kappa" if self.thresholds else "Cohen's kappa",
                "value": self.reliability,
            },
        }


@dataclass(frozen=True)
class CodingParameters:
    """The items, the coders' severities (one per coder, R01 first) and the double coding.

    double_share of the sessions get a second coder, triple_share of them (a part of those)
    a third; the extra coders are others than the session's primary coder, drawn at random.
    """

    items: tuple[ItemParameters, ...]
    severities: tuple[float, ...] = (-0.45, -0.2, -0.05, 0.1, 0.2, 0.4)
    double_share: float = 0.2
    triple_share: float = 0.05

    def __post_init__(self) -> None:
        names = [item.name for item in self.items]
        if len(set(names)) < len(names):
            raise ValueError(f"coding: item names repeat: {sorted(names)}")
        if len(self.severities) < 3 and self.triple_share:
            raise ValueError("coding: triple coding needs at least 3 coders")
        if not 0 <= self.triple_share <= self.double_share <= 1:
            raise ValueError("coding: need 0 <= triple_share <= double_share <= 1")

    @property
    def coders(self) -> tuple[str, ...]:
        """The coders' pseudonymous ids, R01 first."""
        return tuple(f"R{k + 1:02d}" for k in range(len(self.severities)))

    def record(self) -> dict:
        """The coders and the double-coding design as truth.json records them."""
        return {
            "coder_column": CODER_COLUMN,
            "severity": dict(zip(self.coders, self.severities, strict=True)),
            "sd_severity": statistics.stdev(self.severities),
            "severity_note": "each coder's random intercept (log-odds), added to every item",
            "double_coded": {
                "file": DOUBLE_CODED_FILE,
                "share": self.double_share,
                "triple_share": self.triple_share,
                "note": "the file holds every code of these sessions, the primary coder's "
                "(as in sessions.csv) included",
            },
        }


# Reliable binary items: coders attend almost always, and their units spread the sessions
# far from the cut, so that the coders' severities cost little agreement.
SPREAD = {"attention": 0.98, "sd_therapist": 0.8, "sd_client": 0.8}
UNRELIABLE = {"attention": 0.4}  # binary; the ordinal one attends less (weighted kappa)

# The ordinal items' thresholds give every code at least 6% of the sessions and the binary
# items' intercepts 33% to 56% with code 1 (large demo-shaped cohorts); reliability is the
# mean of three cohorts of 70,000 sessions, every one double-coded (seeds 21 to 23).
DEMO_ITEMS = (
    ItemParameters(
        "pe_agenda",
        {"n_ebps_trained": 0.15, "licensed": 0.4, "emotional_exhaustion": -0.2},
        intercept=-1.0,
        reliability=0.83,
        **SPREAD,
    ),
    ItemParameters(
        "pe_psychoeducation",
        {"caregiver_present": 0.5, "child_age": -0.05},
        intercept=0.6,
        reliability=0.25,
        **UNRELIABLE,
    ),
    ItemParameters(
        "pe_rapport",
        {"emotional_exhaustion": -0.3, "hispanic_latinx": 0.3},
        thresholds=(-1.3, -0.1, 1.1, 2.3),
        reliability=0.83,
    ),
    ItemParameters(
        "pe_skill_practice",
        {"child_age": 0.08, "ebp_attitudes": 0.4, "stressful_event": -0.4},
        thresholds=(0.9, 2.1, 3.3, 4.5),
        reliability=0.83,
    ),
    ItemParameters(
        "pe_cognitive_restructuring",
        {
            "child_age": 0.12,
            "licensed": 0.3,
            "caregiver_present": -0.3,
            "ebp[TF-CBT]": 0.8,
            "ebp[CBITS]": 0.6,
        },
        thresholds=(0.8, 2.0, 3.2, 4.4),
        attention=0.3,
        reliability=0.31,
    ),
    ItemParameters(
        "pe_problem_solving",
        {"stressful_event": 0.6, "direct_hours": -0.02},
        intercept=-0.5,
        reliability=0.24,
        **UNRELIABLE,
    ),
    ItemParameters(
        "pe_praise",
        {"caregiver_present": 0.7, "child_age": -0.1, "ebp[CPP]": 0.5, "ebp[Triple P]": 0.8},
        intercept=0.8,
        reliability=0.84,
        **SPREAD,
    ),
    ItemParameters(
        "pe_modeling",
        {"caregiver_present": 0.4, "n_ebps_trained": 0.1},
        thresholds=(0.0, 1.2, 2.4, 3.6),
        reliability=0.83,
    ),
    ItemParameters(
        "pe_feedback",
        {"ebp_attitudes": 0.5, "licensed": -0.4},
        intercept=-1.4,
        reliability=0.83,
        **SPREAD,
    ),
    ItemParameters(
        "pe_relaxation",
        {"stressful_event": 0.8, "child_age": -0.04, "ebp[TF-CBT]": 0.5},
        thresholds=(-0.8, 0.4, 1.6, 2.8),
        reliability=0.83,
    ),
)

DEMO_CODING = CodingParameters(items=DEMO_ITEMS)
