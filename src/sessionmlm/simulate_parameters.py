"""The simulator's parameters: a cohort's shape and the true values of its generating model.

TrueParameters and OrdinalParameters hold the effects and random-intercept SDs of the two
outcomes, CohortShape the unit counts; truth_record writes them as truth.json records them,
named as the engines name their terms. The drawing is in simulate.py.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

EBPS = ("MAP", "TF-CBT", "CBITS", "Seeking Safety", "CPP", "Triple P")
ORDINAL_COLUMN = "hw_extensiveness"  # the ordinal item's column in sessions.csv (codes 0..K-1)
ORDINAL_NAME = "extensiveness"  # its outcome name, as the demo cohort file names it


@dataclass(frozen=True)
class OrdinalParameters:
    """The ordinal item: logit P(y <= k) = thresholds[k] - eta (as ordinal::clmm).

    eta is the sum of the effects below (as TrueParameters', no intercept) and the item's own
    therapist and client random intercepts; a positive effect means higher categories. The
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

    @property
    def categories(self) -> tuple[str, ...]:
        """The item's codes, lowest first: one more than the thresholds."""
        return tuple(str(k) for k in range(len(self.thresholds) + 1))

    def coefficients(self) -> dict[str, float]:
        """The effects named as the engines name their terms (no intercept: thresholds)."""
        skip = {"thresholds", "ebp", "sd_therapist", "sd_client"}
        scalar = {k: v for k, v in asdict(self).items() if k not in skip}
        return scalar | {f"ebp[{level}]": value for level, value in self.ebp.items()}

    def threshold_terms(self) -> dict[str, float]:
        """The thresholds named "low|high" as the engines (and ordinal::clmm) name them."""
        c = self.categories
        return {f"{c[k]}|{c[k + 1]}": t for k, t in enumerate(self.thresholds)}


@dataclass(frozen=True)
class CohortShape:
    """How many units there are at each level and how unbalanced they may be."""

    n_therapists: int = 103
    n_clients: int = 274
    n_sessions: int = 680
    clients_per_therapist: tuple[int, int] = (1, 6)
    sessions_per_client: tuple[int, int] = (1, 6)


@dataclass(frozen=True)
class TrueParameters:
    """Log-odds effects and random-intercept standard deviations of the generating model.

    Continuous predictors enter as stored (child age in years, scores in their own units).
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
    extensiveness: OrdinalParameters = field(default_factory=OrdinalParameters)

    def coefficients(self) -> dict[str, float]:
        """Return the fixed effects named as the engines name their terms."""
        skip = {"ebp", "extensiveness"}
        scalar = {
            k: v for k, v in asdict(self).items() if not k.startswith("sd_") and k not in skip
        }
        scalar["Intercept"] = scalar.pop("intercept")
        scalar.update({f"ebp[{level}]": value for level, value in self.ebp.items()})
        return scalar


def truth_record(shape: CohortShape, truth: TrueParameters, seed: int) -> dict:
    """Describe how a cohort was generated, in the engines' naming, for recovery checks.

    The ordinal item's parameters are under its outcome name (`extensiveness`), with its
    column, categories and thresholds (named as thresholds.csv names them).
    """
    ordinal = truth.extensiveness
    return {
        "seed": seed,
        "shape": asdict(shape),
        "coefficients": truth.coefficients(),
        "reference": {"ebp": "MAP"},
        "variance": _variance(truth.sd_therapist, truth.sd_client),
        ORDINAL_NAME: {
            "column": ORDINAL_COLUMN,
            "categories": list(ordinal.categories),
            "thresholds": ordinal.threshold_terms(),
            "coefficients": ordinal.coefficients(),
            "reference": {"ebp": "MAP"},
            "variance": _variance(ordinal.sd_therapist, ordinal.sd_client),
        },
    }


def _variance(sd_therapist: float, sd_client: float) -> dict:
    """Each level's SD, ICC (latent scale, the client's including the therapist's) and MOR."""
    total = sd_therapist**2 + sd_client**2 + math.pi**2 / 3
    return {
        "therapist": {
            "sd": sd_therapist,
            "icc": sd_therapist**2 / total,
            "mor": median_odds_ratio(sd_therapist),
        },
        "client": {
            "sd": sd_client,
            "icc": (sd_therapist**2 + sd_client**2) / total,
            "mor": median_odds_ratio(sd_client),
        },
    }


def median_odds_ratio(sd: float) -> float:
    """Merlo's median odds ratio for a random intercept with standard deviation sd."""
    return math.exp(math.sqrt(2 * sd**2) * 0.6744897501960817)
