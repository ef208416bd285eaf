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


# Each prior of the model and the families it may take: locations are normal, SDs positive.
PRIOR_FAMILIES = {
    "intercept": ("normal",),
    "coefficients": ("normal",),
    "group_sd": ("half_normal", "half_student_t"),
    "thresholds": ("normal",),
}


@dataclass(frozen=True)
class BayesSettings:
    """Sampler, retry and prior settings; defaults are those documented in config/README.md."""

    chains: int = 4
    draws: int = 2000
    tune: int = 300
    target_accept: float = 0.8
    seed: int = 20261122
    max_attempts: int = 3
    max_rhat: float = 1.01
    min_ess: float = 400.0
    max_divergences: int = 0
    intercept: Prior = Prior("normal", 2.5)
    coefficients: Prior = Prior("normal", 2.5)
    group_sd: Prior = Prior("half_normal", 1.5)
    thresholds: Prior = Prior("normal", 2.5)  # ordinal outcomes: each threshold, ordered
    cores: int = 2

    @classmethod
    def from_config(cls, settings: dict[str, Any], cores: int = 2) -> BayesSettings:
        """Build from the merged config dict (already checked against the schema)."""
        known = {f for f in cls.__dataclass_fields__ if f not in PRIOR_FAMILIES}
        unknown = sorted(set(settings) - known - {"priors"})
        if unknown:
            raise ValueError(
                f"unknown bayes setting(s) {unknown}; valid: {sorted(known | {'priors'})}"
            )
        priors = {}
        for name, spec in settings.get("priors", {}).items():
            if name not in PRIOR_FAMILIES:
                raise ValueError(f"unknown prior {name!r}; valid: {sorted(PRIOR_FAMILIES)}")
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
