"""Engines: each fits a ModelData and returns a FitResult in the output contract.

An engine is one module or folder under engines/ that defines ENGINE, an Engine: its name, its
settings type, the resources a fit job asks for, its fit function, the steps run after a fit,
and its words for the report. Nothing outside engines/ branches on an engine's name: the
workflow, the report and the index ask the registered Engine instead.

Engines are found by importing every module of this package that defines ENGINE, plus the
modules named in the SESSIONMLM_ENGINES environment variable (comma-separated, importable), so
an engine kept elsewhere (a lab's own, a test's) runs through the workflow unchanged. Only the
engine modules import their modelling libraries, and only inside fit: registering one stays
light, since the workflow does it before any job runs.
"""

from __future__ import annotations

import functools
import json
import os
import pkgutil
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, is_dataclass, replace
from importlib import import_module
from pathlib import Path
from typing import Any

import pandas as pd

from sessionmlm import __version__, atomic
from sessionmlm.machine_paths import scrub_strings, this_machine

ESTIMATE_COLUMNS = [
    "term", "estimate", "std_error", "ci_low", "ci_high",
    "odds_ratio", "or_low", "or_high",
]  # fmt: skip
VARIANCE_COLUMNS = ["level", "sd", "sd_low", "sd_high", "icc", "mor"]
# Ordinal outcomes: logit P(y <= k) = threshold_k - eta, thresholds labelled "low|high" as in
# ordinal::clmm. A binary outcome has none (its intercept is in estimates.csv).
THRESHOLD_COLUMNS = ["threshold", "estimate", "std_error", "ci_low", "ci_high"]
FIT_KEYS = [
    "engine", "settings", "n_obs", "units", "converged", "diagnostics", "wall_seconds",
    "versions", "seed",
]  # fmt: skip
PLUGINS_VARIABLE = "SESSIONMLM_ENGINES"  # extra engine modules, comma-separated
DEFAULT_ENGINES = ("bayes",)  # what a cohort that names no engines runs


@dataclass(frozen=True)
class FitResult:
    """What every engine returns: the three files of the output contract."""

    estimates: pd.DataFrame  # ESTIMATE_COLUMNS first, then engine-specific columns
    variance: pd.DataFrame  # VARIANCE_COLUMNS first, then engine-specific columns
    info: dict[str, Any]  # fit.json
    posterior: Any = None  # an engine's draws for its after-fit steps (not written out)
    thresholds: pd.DataFrame | None = None  # THRESHOLD_COLUMNS first; ordinal outcomes only

    @property
    def converged(self) -> bool:
        """Whether the engine trusts its own result."""
        return bool(self.info["converged"])


@dataclass(frozen=True)
class Fitted:
    """A finished fit with what its after-fit steps may need.

    table is the cohort's canonical table, data the ModelData the fit used, reference the
    cohort's reference levels, levels its id columns (never grouped by), min_cell the privacy
    threshold. predictions is the cohort's `predictions:` setting when this fit's model is its
    predictions model (prediction_plan.PredictionSetting.for_model), else None.
    """

    result: FitResult
    data: Any  # model_data.ModelData
    table: pd.DataFrame
    reference: dict[str, Any]
    levels: tuple[str, ...]
    min_cell: int
    predictions: dict[str, Any] | None = None


@dataclass(frozen=True)
class AfterFit:
    """A step run on a converged or failed fit while it is in memory; it adds keys to fit.json.

    run returns the fit.json keys to merge in ({} to add none); key names the step's main key
    (what the report asks for, e.g. "checks"), which it writes whenever it has a value.
    """

    key: str
    run: Callable[[Fitted], dict[str, Any]]
    what: str  # for the job's log, e.g. "posterior checks: predictive, PSIS-LOO"


@dataclass(frozen=True)
class Resources:
    """What one fit job asks the scheduler for.

    threads maps the engine's settings to cores; memory and minutes grow with the size of the
    cohort's canonical table: base + per_mb * megabytes. A profile's set-resources overrides
    them. batch_items is how many fits of a cohort's coded items one job runs, one after
    another on one core (batches.py): above 1 when a fit takes about as long as a job's start
    (Python and imports, seconds).
    """

    threads: Callable[[Any], int]
    memory_mb: tuple[float, float]  # base, per MB of sessions.parquet
    minutes: tuple[float, float]  # base, per MB of sessions.parquet
    batch_items: int = 1  # item fits per job; 1: each its own job

    def memory_for(self, input_mb: float) -> int:
        """Memory (MB) of a fit on input_mb megabytes of sessions."""
        base, per_mb = self.memory_mb
        return int(base + per_mb * input_mb)

    def minutes_for(self, input_mb: float) -> int:
        """Run time (minutes) of a fit on input_mb megabytes of sessions."""
        base, per_mb = self.minutes
        return int(base + per_mb * input_mb)


@dataclass(frozen=True)
class Wording:
    """An engine's words for the report.

    estimates: what the odds-ratio tables hold ("posterior medians with 95% credible
    intervals"); sd_intervals: the kind of the SD intervals; priors: what stands in for priors
    when fit.json has none ("none (maximum likelihood)"); advice: what to try when a fit fails;
    predictions: how the predicted probabilities' intervals were made, from fit.json;
    diagnostics: one sentence of the fit's diagnostics, from fit.json. A population-averaged
    engine also says how it treats sessions sharing a unit (dependence, in the model's
    equation) and, when its variance.csv has rows, the caption and note of that table;
    sd_intervals then heads that table's column.
    """

    estimates: str
    sd_intervals: str
    advice: str
    priors: str = ""
    dependence: str = ""
    dependence_table: str = ""
    dependence_note: str = ""
    predictions: Callable[[dict[str, Any]], str] | None = None
    diagnostics: Callable[[dict[str, Any]], str] | None = None


@dataclass(frozen=True)
class Engine:
    """One engine, as the workflow, the report and the index see it.

    population_averaged: its odds ratios average over the units (a marginal model, no random
    effects) rather than condition on them. rank orders engines where one must lead: the
    first conditional engine a cohort lists leads its report, and across cohorts the
    lowest-ranked engine every cohort ran is pooled. compares_models_by names what its fits
    can be compared by in the report ("likelihood": AIC, BIC and likelihood-ratio tests from
    fit.json's loglik; "" for none). code lists the package files a fit runs, beyond the
    engine's own, so that a change to them reruns its fits. outcome_types lists the outcomes
    it fits ("binary", "ordinal"): a cohort asking it for another is stopped at config load.
    cannot_fit(spec) says in a sentence why it does not fit a model's structure (crossed
    groups, random slopes, depth), or "" when it does: such a fit is not attempted, and its
    fit.json says why (not_fitted_result). weights: whether it uses ModelData.weights (rows
    weighing less than one, spec.weight_by); an engine that would ignore them is not given such
    a model.
    """

    name: str
    settings: Callable[[dict[str, Any]], Any]  # config mapping -> typed settings
    fit: Callable[..., FitResult]  # fit(data, settings, threads=...) -> FitResult
    resources: Resources
    wording: Wording
    population_averaged: bool = False
    rank: int = 100
    after_fit: tuple[AfterFit, ...] = ()
    compares_models_by: str = ""
    code: tuple[str, ...] = ()  # modules, e.g. "sessionmlm.intervals"
    outcome_types: tuple[str, ...] = ("binary",)
    weights: bool = False
    cannot_fit: Callable[[Any], str] = lambda spec: ""  # noqa: E731
    module: str = field(default="", compare=False)  # set on registration

    @property
    def steps(self) -> tuple[str, ...]:
        """The fit.json keys its after-fit steps write."""
        return tuple(step.key for step in self.after_fit)


_REGISTRY: dict[str, Engine] = {}


def register(engine: Engine, module: str = "") -> Engine:
    """Add an engine to the registry; a different engine of the same name is an error."""
    known = _REGISTRY.get(engine.name)
    if known is not None and known.fit is not engine.fit:
        raise ValueError(
            f"engine {engine.name!r} is registered twice ({known.module} and {module or '?'}); "
            "give one of them another name"
        )
    _REGISTRY[engine.name] = replace(engine, module=module or engine.module)
    return _REGISTRY[engine.name]


@functools.cache
def _discover() -> None:
    """Register the engines of this package and of SESSIONMLM_ENGINES, once."""
    names = [f"{__name__}.{m.name}" for m in pkgutil.iter_modules(__path__)]
    extra = os.environ.get(PLUGINS_VARIABLE, "")
    names += [n.strip() for n in extra.split(",") if n.strip()]
    for name in names:
        module = import_module(name)
        engine = getattr(module, "ENGINE", None)
        if engine is None:
            if name.startswith(__name__):
                continue  # a helper module of the package, not an engine
            raise ValueError(
                f"{PLUGINS_VARIABLE} names module {name!r}, which defines no ENGINE; "
                "an engine module defines ENGINE = sessionmlm.engines.Engine(...)"
            )
        register(engine, name)


def registered() -> dict[str, Engine]:
    """Every registered engine by name, lowest rank first (ties by name)."""
    _discover()
    return {e.name: e for e in sorted(_REGISTRY.values(), key=lambda e: (e.rank, e.name))}


def engine_names() -> list[str]:
    """Names of the registered engines, sorted."""
    return sorted(registered())


def get(name: str) -> Engine:
    """The registered engine called name; unknown names list the valid choices."""
    known = registered()
    if name not in known:
        raise ValueError(f"unknown engine {name!r}; valid engines: {', '.join(sorted(known))}")
    return known[name]


def typed_settings(
    wanted: dict[str, dict[str, Any]], where: str
) -> tuple[dict[str, Any], list[str]]:
    """Each wanted engine's settings, typed by its settings type from its config mapping.

    Returns (engine -> settings, problems): an unknown engine, or a setting its type refuses,
    is a problem that starts with where and names the valid choices.
    """
    known = engine_names()
    settings, problems = {}, []
    for name, mapping in wanted.items():
        if name not in known:
            problems.append(
                f"{where}: engines: unknown engine {name!r}. Valid engines: {', '.join(known)}."
            )
            continue
        if not isinstance(mapping, dict):
            problems.append(f"{where}: {name}: settings must be a mapping, not {mapping!r}.")
            continue
        try:
            settings[name] = get(name).settings(mapping)
        except (TypeError, ValueError) as error:
            problems.append(f"{where}: {name}: {error}")
    return settings, problems


def unlisted(listed: Iterable[str]) -> set[str]:
    """Registered engines not among listed (a schema's keys): engines kept outside the package."""
    return set(engine_names()) - set(listed)


def get_engine(name: str) -> Callable[..., FitResult]:
    """Return the engine's fit(data, settings, threads=...) function."""
    return get(name).fit


def by_rank(names: list[str] | tuple[str, ...]) -> list[str]:
    """Engine names ordered by rank, the most preferred first."""
    order = list(registered())
    return sorted(names, key=lambda n: order.index(n) if n in order else len(order))


def code_files(name: str) -> list[Path]:
    """The package files a fit with this engine runs: its own module or folder, and its code."""
    engine = get(name)
    files = []
    for module_name in (engine.module, *engine.code):
        spec = import_module(module_name).__spec__
        origin = Path(spec.origin)
        if spec.submodule_search_locations:  # a folder: every module in it
            files += sorted(origin.parent.glob("*.py"))
        else:
            files.append(origin)
    return list(dict.fromkeys(files))


def write_result(
    result: FitResult,
    estimates: Path | str,
    variance: Path | str,
    fit_json: Path | str,
    thresholds: Path | str | None = None,
) -> None:
    """Write the output contract's files, contract columns first.

    thresholds.csv (when a path is given) holds an ordinal outcome's thresholds and only its
    header for a binary outcome. fit.json also records sessionmlm_version, the version of this
    package that made the fit. Raises ValueError naming what an engine left out, so no engine
    can write a partial contract.
    """
    cuts = result.thresholds
    if cuts is None:
        cuts = pd.DataFrame(columns=THRESHOLD_COLUMNS)
    missing = [f"estimates.{c}" for c in ESTIMATE_COLUMNS if c not in result.estimates]
    missing += [f"variance.{c}" for c in VARIANCE_COLUMNS if c not in result.variance]
    missing += [f"thresholds.{c}" for c in THRESHOLD_COLUMNS if c not in cuts]
    missing += [f"fit.json:{k}" for k in FIT_KEYS if k not in result.info]
    if missing:
        raise ValueError(f"engine result lacks {', '.join(missing)} (the output contract)")
    # Random slopes add rows of kind "slope"; an engine without them need not say "intercept".
    kinds = (
        result.variance if "kind" in result.variance else result.variance.assign(kind="intercept")
    )
    frames = [
        (result.estimates, ESTIMATE_COLUMNS, estimates),
        (kinds, [*VARIANCE_COLUMNS, "kind"], variance),
    ]
    if thresholds is not None:
        frames.append((cuts, THRESHOLD_COLUMNS, thresholds))
    for frame, required, path in frames:
        ordered = required + [c for c in frame.columns if c not in required]
        atomic.write_text(path, frame[ordered].to_csv(index=False, float_format="%.6g"))
    info = {"sessionmlm_version": __version__} | result.info
    # An engine's problems may quote an error that names a file: no machine path in outputs.
    info = scrub_strings(json.loads(json.dumps(info, default=_json_default)), this_machine())
    atomic.write_text(fit_json, json.dumps(info, indent=2) + "\n")


def not_fitted_result(engine: str, data: Any, settings: Any, reason: str) -> FitResult:
    """The output contract for a model the engine does not fit: no estimates, the reason.

    status "not fitted" (not "failed"): nothing went wrong, the engine does not fit such a
    model, and the report says so beside the engines that do.
    """
    estimates = pd.DataFrame(columns=[*ESTIMATE_COLUMNS, "p_value"])
    variance = pd.DataFrame(columns=VARIANCE_COLUMNS)
    info = data.record() | {
        "engine": engine,
        "settings": asdict(settings) if is_dataclass(settings) else dict(settings),
        "converged": False,
        "status": "not fitted",
        "not_fitted": reason,
        "problems": [],
        "warnings": [],
        "diagnostics": {},
        "wall_seconds": {"total": 0.0},
        "versions": {},
        "seed": None,
        "terms": list(data.terms),
    }
    return FitResult(estimates=estimates, variance=variance, info=info)


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")
