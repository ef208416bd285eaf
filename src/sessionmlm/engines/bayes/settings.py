"""The Bayesian engine's settings: sampler, retries and priors, as written in config."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any


@dataclass(frozen=True)
class Prior:
    """A prior family and its parameters, as written in config."""

    dist: str
    sigma: float
    mu: float = 0.0
    nu: float | None = None

    def describe(self) -> str:
        """Human-readable form for reports: Normal(0, 2.5), HalfNormal(1.5), ..."""
        if self.dist == "normal":
            return f"Normal({self.mu:g}, {self.sigma:g})"
        if self.dist == "half_normal":
            return f"HalfNormal({self.sigma:g})"
        return f"HalfStudentT(nu={self.nu or 3:g}, sigma={self.sigma:g})"


@dataclass(frozen=True)
class Correlation:
    """The LKJ prior on the correlations of one level's random intercept and slopes.

    eta = 1 is uniform over correlation matrices; larger eta pulls them towards 0 (eta = 2,
    the default, gently, as brms' and rstanarm's defaults).
    """

    eta: float = 2.0

    def describe(self) -> str:
        """As reports show it: LKJ(eta=2)."""
        return f"LKJ(eta={self.eta:g})"


# Each prior of the model and the families it may take: locations are normal, SDs positive.
PRIOR_FAMILIES = {
    "intercept": ("normal",),
    "coefficients": ("normal",),
    "group_sd": ("half_normal", "half_student_t"),
    "thresholds": ("normal",),
}


@dataclass(frozen=True)
class BayesSettings:
    """Sampler, retry and prior settings; defaults are those documented in config/README.md.

    correlation is the LKJ shape for the correlations of a level's random intercept and slopes
    (config: priors.correlation: {eta: 2}); their SDs take group_sd.
    """

    chains: int = 4
    draws: int = 2000
    tune: int = 300
    target_accept: float = 0.8
    seed: int = 20261122
    max_attempts: int = 3
    # Draws per chain between checks of the diagnostics; sampling stops at the first check
    # they pass (stopping.py). 0: no checks, every draw.
    check_every: int = 250
    check_from_sessions: int = 10_000  # smaller cohorts take every draw (stopping.checks_at)
    max_rhat: float = 1.01
    min_ess: float = 400.0
    max_divergences: int = 0
    intercept: Prior = Prior("normal", 2.5)
    coefficients: Prior = Prior("normal", 2.5)
    group_sd: Prior = Prior("half_normal", 1.5)
    thresholds: Prior = Prior("normal", 2.5)  # ordinal outcomes: each threshold, ordered
    correlation: Correlation = Correlation()  # levels with random slopes: LKJ shape
    cores: int = 2

    @classmethod
    def from_config(cls, settings: dict[str, Any], cores: int = 2) -> BayesSettings:
        """Build from the merged config dict (already checked against the schema)."""
        priors_named = {*PRIOR_FAMILIES, "correlation"}
        known = {f for f in cls.__dataclass_fields__ if f not in priors_named}
        unknown = sorted(set(settings) - known - {"priors"})
        if unknown:
            raise ValueError(
                f"unknown bayes setting(s) {unknown}; valid: {sorted(known | {'priors'})}"
            )
        priors = {}
        for name, spec in settings.get("priors", {}).items():
            if name == "correlation":
                priors[name] = _correlation(spec)
                continue
            if name not in PRIOR_FAMILIES:
                raise ValueError(f"unknown prior {name!r}; valid: {sorted(priors_named)}")
            prior = Prior(**spec)
            if prior.dist not in PRIOR_FAMILIES[name]:
                raise ValueError(
                    f"priors.{name}: dist {prior.dist!r} is not one of {PRIOR_FAMILIES[name]}"
                )
            priors[name] = prior
        plain = {k: v for k, v in settings.items() if k != "priors"}
        return cls(**plain, **priors, cores=cores)

    def retry(self, attempt: int) -> BayesSettings:
        """Settings for the given attempt (0-based): double the draws, raise target acceptance."""
        if attempt == 0:
            return self
        accept = max(self.target_accept, (0.9, 0.95, 0.99)[min(attempt - 1, 2)])
        return replace(
            self, draws=self.draws * 2**attempt, tune=self.tune * 2, target_accept=accept
        )


def _correlation(spec: dict[str, Any]) -> Correlation:
    """priors.correlation: {eta: positive number} (the schema checks it too)."""
    unknown = sorted(set(spec) - {"eta"})
    eta = spec.get("eta", Correlation.eta)
    if unknown or not isinstance(eta, int | float) or not eta > 0:
        raise ValueError(f"priors.correlation must be {{eta: a number > 0}}; got {spec!r}")
    return Correlation(float(eta))
