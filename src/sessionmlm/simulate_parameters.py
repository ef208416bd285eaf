"""The simulator's parameters: a cohort's shape and the true values of its generating model.

TrueParameters and OrdinalParameters hold the effects and random-intercept SDs of the two
outcomes, CohortShape the unit counts; truth_record writes them as truth.json records them,
named as the engines name their terms. The drawing is in simulate.py.

TrueParameters() is the reference study's model: its programs exist in the data but have no
variance (sd_program 0) and caregiver presence has one effect at every level. DEMO_TRUTH, the
demo cohort's, adds a program random intercept and gives caregiver presence different effects
within and between clients (a client-level propensity makes its client means differ), and
codes ten practice-element items with six coders, a share of sessions double-coded
(DEMO_CODING, simulate_item_truth.py).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from sessionmlm.simulate_item_truth import DEMO_CODING, CodingParameters

EBPS = ("MAP", "TF-CBT", "CBITS", "Seeking Safety", "CPP", "Triple P")
ORDINAL_COLUMN = "hw_extensiveness"  # the ordinal item's column in sessions.csv (codes 0..K-1)
ORDINAL_NAME = "extensiveness"  # its outcome name, as the demo cohort file names it


@dataclass(frozen=True)
class OrdinalParameters:
    """The ordinal item: logit P(y <= k) = thresholds[k] - eta (as ordinal::clmm).

    eta is the sum of the effects below (as TrueParameters', no intercept) and the item's own
    program, therapist and client random intercepts; a positive effect means higher
    categories (caregiver presence has one effect at every level). The
    thresholds give the 5 categories 27%, 20%, 21%, 16% and 15% of the sessions of large
    demo-shaped cohorts, and each at least 11% in the demo's shape (seeds 1 to 20).
    """

    thresholds: tuple[float, ...] = (0.8, 1.9, 3.0, 4.1)
    caregiver_present: float = 0.6
    child_age: float = 0.06
    licensed: float = -0.5
    hispanic_latinx: float = 0.0
    ebp_attitudes: float = 0.3
    emotional_exhaustion: float = 0.0
    direct_hours: float = 0.0
    stressful_event: float = -0.3
    n_ebps_trained: float = 0.1
    ebp: dict[str, float] = field(
        default_factory=lambda: {
            "TF-CBT": 0.4,
            "CBITS": 0.3,
            "Seeking Safety": 0.0,
            "CPP": -0.3,
            "Triple P": 0.5,
        }
    )
    sd_therapist: float = 0.7
    sd_client: float = 0.6
    sd_program: float = 0.0

    @property
    def categories(self) -> tuple[str, ...]:
        """The item's codes, lowest first: one more than the thresholds."""
        return tuple(str(k) for k in range(len(self.thresholds) + 1))

    def coefficients(self) -> dict[str, float]:
        """The effects named as the engines name their terms (no intercept: thresholds)."""
        skip = {"thresholds", "ebp", "sd_therapist", "sd_client", "sd_program"}
        scalar = {k: v for k, v in asdict(self).items() if k not in skip}
        return scalar | {f"ebp[{level}]": value for level, value in self.ebp.items()}

    def threshold_terms(self) -> dict[str, float]:
        """The thresholds named "low|high" as the engines (and ordinal::clmm) name them."""
        c = self.categories
        return {f"{c[k]}|{c[k + 1]}": t for k, t in enumerate(self.thresholds)}


PROGRAMS = 25  # as 4KEEPS: the default number of programs the therapists work in


@dataclass(frozen=True)
class CohortShape:
    """How many units there are at each level and how unbalanced they may be.

    Therapists sit in programs: n_programs of them (None: PROGRAMS, or one per therapist when
    there are fewer therapists), each with therapists_per_program between its bounds (None:
    1 to 10, or to twice the mean when that is more), spread at random as the other levels.
    """

    n_therapists: int = 103
    n_clients: int = 274
    n_sessions: int = 680
    clients_per_therapist: tuple[int, int] = (1, 6)
    sessions_per_client: tuple[int, int] = (1, 6)
    n_programs: int | None = None
    therapists_per_program: tuple[int, int] | None = None

    @property
    def programs(self) -> int:
        """The number of programs, the default resolved."""
        return min(PROGRAMS, self.n_therapists) if self.n_programs is None else self.n_programs

    @property
    def program_bounds(self) -> tuple[int, int]:
        """Fewest and most therapists per program, the default resolved."""
        if self.therapists_per_program is not None:
            return self.therapists_per_program
        return 1, max(10, 2 * math.ceil(self.n_therapists / self.programs))

    def record(self) -> dict:
        """The shape as truth.json records it, defaults resolved."""
        return asdict(self) | {
            "n_programs": self.programs,
            "therapists_per_program": list(self.program_bounds),
        }


@dataclass(frozen=True)
class TrueParameters:
    """Log-odds effects and random-intercept standard deviations of the generating model.

    Continuous predictors enter as stored (child age in years, scores in their own units).

    caregiver_present is the effect of a caregiver's presence within a client (a session with
    a caregiver against one without, for the same client). Its between-unit effects default
    to the same value; set them to give the predictor a contextual effect. The session's
    log-odds then hold, with the means over the cohort's sessions (as model_terms.decompose
    computes them),
        within * (x - client mean) + between_client * (client mean - therapist mean)
        + between_therapist * therapist mean,
    so a model splitting caregiver_present (within_between) estimates exactly these parts;
    its between-program part, the program mean, has the between_therapist effect.
    caregiver_propensity_sd is the SD of each client's own log-odds of a caregiver present
    (besides the child's age), which makes client means differ.
    """

    intercept: float = -2.2
    caregiver_present: float = 0.75
    child_age: float = 0.08
    licensed: float = -0.6
    hispanic_latinx: float = 0.0
    ebp_attitudes: float = 0.0
    emotional_exhaustion: float = 0.0
    direct_hours: float = 0.0
    stressful_event: float = -0.1
    n_ebps_trained: float = 0.12
    ebp: dict[str, float] = field(
        default_factory=lambda: {
            "TF-CBT": 0.3,
            "CBITS": 0.5,
            "Seeking Safety": 0.2,
            "CPP": -0.4,
            "Triple P": 0.6,
        }
    )
    sd_therapist: float = 0.8
    sd_client: float = 0.9
    sd_program: float = 0.0
    caregiver_between_client: float | None = None  # None: caregiver_present's value
    caregiver_between_therapist: float | None = None  # None: caregiver_between_client's
    caregiver_propensity_sd: float = 0.0
    # A therapist random slope of caregiver presence: each therapist's effect differs from the
    # above by sd_caregiver_slope * (rho u + sqrt(1 - rho^2) e), u its standardised intercept.
    sd_caregiver_slope: float = 0.0
    caregiver_slope_correlation: float = 0.0
    extensiveness: OrdinalParameters = field(default_factory=OrdinalParameters)
    # Coded practice-element items, their coders and double coding (simulate_item_truth.py);
    # None: no items, no coder column (the reference study's table).
    coding: CodingParameters | None = None

    @property
    def caregiver_split(self) -> bool:
        """Whether caregiver presence has different effects within and between units."""
        return self.caregiver_parts()[1:] != (self.caregiver_present,) * 2

    def caregiver_parts(self) -> tuple[float, float, float]:
        """Caregiver presence's effects within client, between client and between therapist."""
        within = self.caregiver_present
        client = within if self.caregiver_between_client is None else self.caregiver_between_client
        therapist = self.caregiver_between_therapist
        return within, client, client if therapist is None else therapist

    def coefficients(self) -> dict[str, float]:
        """Return the fixed effects named as the engines name their terms.

        caregiver_present is its within-client effect: a model that does not split it
        estimates a blend of its parts (between the within and the between effects).
        """
        skip = {"ebp", "extensiveness", "coding"}
        skip |= {k for k in asdict(self) if k.startswith("caregiver_") and k != "caregiver_present"}
        scalar = {
            k: v for k, v in asdict(self).items() if not k.startswith("sd_") and k not in skip
        }
        scalar["Intercept"] = scalar.pop("intercept")
        scalar.update({f"ebp[{level}]": value for level, value in self.ebp.items()})
        return scalar


# The demo cohort's truth: programs with their own variance for both outcomes (homework about
# 37% of the sessions), a caregiver's presence that matters far more between clients than
# within them (the example, 0.3 and 1.2 on the log-odds), and more for some therapists
# than others (a random slope, homework only).
DEMO_TRUTH = TrueParameters(
    intercept=-2.5,
    caregiver_present=0.3,
    caregiver_between_client=1.2,
    caregiver_between_therapist=1.2,
    caregiver_propensity_sd=1.5,
    sd_program=0.5,
    sd_caregiver_slope=0.7,
    caregiver_slope_correlation=-0.4,
    extensiveness=OrdinalParameters(sd_program=0.5),
    coding=DEMO_CODING,
)


def part_truth(within: float, client: float, therapist: float) -> dict[str, float]:
    """A split predictor's true parts, named as model_terms.part_names names them.

    "between therapist" is the effect of the therapist's mean (its program's included) and
    "between program" that of the program's mean, the two parts a model with programs has.
    """
    parts = ("within client", "between client", "between therapist", "between program")
    return dict(zip(parts, (within, client, therapist, therapist), strict=True))


def truth_record(shape: CohortShape, truth: TrueParameters, seed: int) -> dict:
    """Describe how a cohort was generated, in the engines' naming, for recovery checks.

    The ordinal item's parameters are under its outcome name (`extensiveness`), with its
    column, categories and thresholds (named as thresholds.csv names them). within_between
    holds caregiver presence's true parts: the terms "caregiver_present (within client)", ...
    of a model splitting it; coefficients.caregiver_present is its within-client effect.
    A truth with coding adds the coders and double coding (`coding`) and each item (`items`).
    """
    ordinal = truth.extensiveness
    coding = truth.coding
    items = {} if coding is None else {
        "coding": coding.record(),
        "items": {item.name: item.record() for item in coding.items},
    }  # fmt: skip
    return {
        "seed": seed,
        "shape": shape.record(),
        "coefficients": truth.coefficients(),
        "coefficients_note": (
            "caregiver_present is the within-client effect; a model that does not split it "
            "(within_between) estimates a blend of the parts under within_between, between "
            "the within and the between effects"
        ),
        "within_between": {"caregiver_present": part_truth(*truth.caregiver_parts())},
        "caregiver_propensity_sd": truth.caregiver_propensity_sd,
        "random_slope": {
            "caregiver_present": {
                "level": "therapist",
                "sd": truth.sd_caregiver_slope,
                "correlation": truth.caregiver_slope_correlation,
                "note": "homework only; the intercept SD of a slope model is that of therapists "
                "at caregiver_present = 0",
            }
        },
        "reference": {"ebp": "MAP"},
        "variance": _variance(truth.sd_program, truth.sd_therapist, truth.sd_client),
        ORDINAL_NAME: {
            "column": ORDINAL_COLUMN,
            "categories": list(ordinal.categories),
            "thresholds": ordinal.threshold_terms(),
            "coefficients": ordinal.coefficients(),
            "within_between": {"caregiver_present": part_truth(*[ordinal.caregiver_present] * 3)},
            "reference": {"ebp": "MAP"},
            "variance": _variance(ordinal.sd_program, ordinal.sd_therapist, ordinal.sd_client),
        },
        **items,
    }


def _variance(sd_program: float, sd_therapist: float, sd_client: float) -> dict:
    """Each level's SD, ICC and MOR, and the sessions' latent residual variance.

    On the latent scale, a level's ICC is the correlation of two sessions sharing one of its
    units (and so every unit above): the client's includes the therapist's and the program's,
    as variance.icc_by_level. The session level's share is what no unit explains.
    """
    residual = math.pi**2 / 3
    sds = {"program": sd_program, "therapist": sd_therapist, "client": sd_client}
    total = sum(sd**2 for sd in sds.values()) + residual
    record, shared = {}, 0.0
    for level, sd in sds.items():
        shared += sd**2
        record[level] = {"sd": sd, "icc": shared / total, "mor": median_odds_ratio(sd)}
    record["session"] = {"latent_variance": residual, "share": residual / total}
    return record


def median_odds_ratio(sd: float) -> float:
    """Merlo's median odds ratio for a random intercept with standard deviation sd."""
    return math.exp(math.sqrt(2 * sd**2) * 0.6744897501960817)
