"""Load and check the global config and the cohort files before any job runs.

Every problem found is collected and raised together in one ConfigError, each naming the file,
the key and what to change.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sessionmlm import engines as registry
from sessionmlm.all_codes import all_codes_problems
from sessionmlm.cohort_models import build_models
from sessionmlm.designs import SIMULATION_ENGINE, load_design
from sessionmlm.documents import (
    ConfigError,
    closest,
    load_schema,
    merge,
    project_path,
    read_yaml,
    schema_problems,
)
from sessionmlm.double_coded import DoubleCoding, read_double_coding
from sessionmlm.formula import ModelSpec
from sessionmlm.items import expand_items
from sessionmlm.outcomes import Outcome, read_outcomes
from sessionmlm.prediction_plan import PredictionSetting, check_setting
from sessionmlm.privacy import Privacy
from sessionmlm.tables import ReadOptions, TableError, read_columns

DEFAULT_META_ANALYSIS = {"engine": "auto", "method": "REML", "hksj": True}

__all__ = ["Cohort", "ConfigError", "Outcome", "WorkflowConfig", "build_cohort", "load_config"]


@dataclass(frozen=True)
class Cohort:
    """A validated cohort: where its data are and how to read and model them."""

    name: str
    config_file: Path
    data: Path
    levels: dict[str, str]  # level name -> source id column, outermost first
    outcomes: dict[str, Outcome]  # name -> outcome; each model names one on its left
    columns: dict[str, str]  # canonical name -> source column (only renamed ones)
    codes: dict[str, dict[Any, Any]]
    reference: dict[str, Any]
    missing: tuple[Any, ...]
    models: dict[str, ModelSpec]
    engines: tuple[str, ...]
    engine_settings: dict[str, Any] = field(default_factory=dict)  # engine -> typed settings
    predictors: tuple[str, ...] = ()  # every predictor any model names, sorted
    read: dict[str, Any] = field(default_factory=dict)  # how to read the data file
    unit_data: dict[str, Path] = field(default_factory=dict)  # level -> its own table, if any
    variables: dict[str, dict[str, Any]] = field(default_factory=dict)  # declared level, type
    missing_data: str = "listwise"  # or "stop" (multiple imputation may come later)
    labels: dict[str, str] = field(default_factory=dict)  # column -> phrase for the report
    predictions: PredictionSetting = field(default_factory=PredictionSetting)
    crossed: tuple[str, ...] = ()  # levels whose units may sit under several parents
    items: tuple[str, ...] = ()  # coded items: outcomes fitted by the model templates
    item_models: dict[str, tuple[str, str]] = field(
        default_factory=dict
    )  # model -> (item, template)
    double_coding: DoubleCoding | None = None  # the double-coded table, for reliability

    @property
    def data_files(self) -> list[Path]:
        """Every input file: the sessions table, then any per-level tables."""
        return [self.data, *self.unit_data.values()]

    @property
    def coded_outcomes(self) -> dict[str, Outcome]:
        """The outcomes a double-coded table holds: the items, or every outcome without items."""
        return {i: self.outcomes[i] for i in self.items} or dict(self.outcomes)

    @property
    def input_files(self) -> list[Path]:
        """The data files, and the double-coded table when its codes feed the models."""
        coding = self.double_coding
        used = coding is not None and coding.models_use != "primary"
        return [*self.data_files, *([coding.data] if used else [])]

    def for_ingest(self) -> Cohort:
        """The cohort as ingest and describe see it: the columns models need, not the models.

        Snakemake reruns a job when its params change; with this, adding a model that uses
        columns already ingested refits only that model, and rewording a label only rewrites
        the report.
        """
        return replace(
            self, models={}, engines=(), engine_settings={}, labels={},
            predictions=PredictionSetting(), item_models={},
            double_coding=self._coding_for_ingest(),
        )  # fmt: skip

    def _coding_for_ingest(self) -> DoubleCoding | None:
        """Ingest reads the double-coded table only when its codes feed the models."""
        coding = self.double_coding
        return coding if coding is not None and coding.models_use != "primary" else None

    @property
    def grouping_levels(self) -> tuple[str, ...]:
        """Levels above the observation (session) level, outermost first."""
        return tuple(self.levels)[:-1]

    @property
    def session_level(self) -> str:
        """The innermost level: one row per unit of it."""
        return tuple(self.levels)[-1]


@dataclass(frozen=True)
class WorkflowConfig:
    """The global config with its cohorts and planned-study designs.

    A cohort whose own file or data has problems is kept out of `cohorts` and listed in
    `broken` with them: the other cohorts still run.
    """

    cohorts: dict[str, Cohort]
    privacy: Privacy
    broken: dict[str, list[str]] = field(default_factory=dict)
    designs: dict[str, Any] = field(default_factory=dict)  # name -> designs.Design
    meta_analysis: dict[str, Any] = field(default_factory=dict)


def _data_files(
    data: str | dict[str, str], levels: dict[str, str], where: str, workdir: Path
) -> tuple[dict[str, Path], list[str]]:
    """The cohort's data files: {"sessions": path} plus one "<level>s" file per level given."""
    named = {"sessions": data} if isinstance(data, str) else dict(data)
    allowed = ["sessions", *(f"{level}s" for level in list(levels)[:-1])]
    problems = [
        f"{where}: data.{key}: not a table name; use {', '.join(allowed)}." + closest(key, allowed)
        for key in named
        if key not in allowed
    ]
    if "sessions" not in named:
        problems.append(f"{where}: data: the sessions table is required (data.sessions).")
    files = {}
    for key, value in named.items():
        path = Path(value)
        path = path if path.is_absolute() else workdir / path
        if not path.exists():
            label = "data" if isinstance(data, str) else f"data.{key}:"
            looked = project_path(path, workdir)
            problems.append(f"{where}: {label} file {value!r} does not exist (looked at {looked}).")
        files[key] = path
    return files, problems


def without_unlisted_engines(document: Any, schema_name: str) -> Any:
    """The document without settings of registered engines the schema does not list.

    Their settings types check them instead (engines.typed_settings).
    """
    if not isinstance(document, dict):
        return document
    unlisted = registry.unlisted(load_schema(schema_name)["properties"])
    return {key: value for key, value in document.items() if key not in unlisted}


def build_cohort(
    raw: dict, config_file: Path, defaults: dict[str, dict], workdir: Path
) -> tuple[Cohort | None, list[str]]:
    """Check one cohort document and build a Cohort; return (cohort or None, problems)."""
    where = project_path(config_file, workdir)  # messages reach logs: no machine path
    problems = schema_problems(
        without_unlisted_engines(raw, "cohort.schema.json"), "cohort.schema.json", where
    )
    if problems:
        return None, problems
    raw, item_models, found = expand_items(raw, where)
    if found:
        return None, found
    levels = dict(raw["levels"])
    outcomes, found = read_outcomes(raw, where)
    if found:
        return None, found
    files, found = _data_files(raw["data"], levels, where, workdir)
    if found:
        return None, found
    read = dict(raw.get("read", {}))
    columns_of: dict[str, list[str]] = {}
    for key, path in files.items():
        try:
            columns_of[key] = read_columns(path, ReadOptions.from_config(read))
        except TableError as error:
            problems.append(f"{where}: data: {error}")
    if problems:
        return None, problems
    header = list(dict.fromkeys(c for cols in columns_of.values() for c in cols))
    names = " or ".join(p.name for p in files.values())
    # Each file of separate tables must hold its own level's id, to join on.
    for key, path in files.items():
        level = list(levels)[-1] if key == "sessions" else key[:-1]
        if levels[level] not in columns_of[key]:
            problems.append(
                f"{where}: data.{key}: {path.name} lacks the {level} id column "
                f"{levels[level]!r} (levels.{level}), which joins it to the sessions."
            )

    def need(source: str, key: str) -> None:
        if source not in header:
            problems.append(
                f"{where}: {key}: column {source!r} is not in {names}." + closest(source, header)
            )

    for level, source in levels.items():
        need(source, f"levels.{level}")
    sources = {source for outcome in outcomes.values() for source in outcome.sources}
    for outcome in outcomes.values():
        for source in outcome.sources:
            need(source, outcome.key)
    columns = dict(raw.get("columns", {}))
    for canonical, source in columns.items():
        need(source, f"columns.{canonical}")
    renamed = set(columns.values()) | set(levels.values()) | sources
    canonical = set(levels) | set(outcomes) | set(columns) | {c for c in header if c not in renamed}
    for column, declared in raw.get("variables", {}).items():
        if "level" in declared and declared["level"] not in levels:
            problems.append(
                f"{where}: variables.{column}.level: {declared['level']!r} is not a level; "
                f"use one of {', '.join(levels)}."
            )
        if "order" in declared and declared.get("type") != "ordinal":
            problems.append(
                f"{where}: variables.{column}.order: only an ordinal variable has an order; "
                "add type: ordinal or remove the order."
            )
    for key in ("codes", "reference", "variables"):
        for column in raw.get(key, {}):
            if column not in canonical:
                problems.append(
                    f"{where}: {key}.{column}: no such column.{closest(column, sorted(canonical))}"
                )
            elif column in outcomes and (key != "codes" or outcomes[column].from_codes):
                problems.append(
                    f"{where}: {key}.{column}: {column!r} is an outcome, defined under "
                    f"{outcomes[column].key}; remove the line."
                )
    for column, label in raw.get("labels", {}).items():
        if column not in canonical or column in levels:
            problems.append(
                f"{where}: labels.{column}: no such column; label a predictor column (by its "
                f"name after `columns` renaming) or an outcome ({', '.join(outcomes)}), or "
                f"remove the line.{closest(column, sorted(canonical - set(levels)))}"
            )
        elif not label.strip():
            problems.append(
                f"{where}: labels.{column}: empty; write a short phrase (see config/README.md) "
                "or remove the line to use the built-in one."
            )
    engines = tuple(raw.get("engines", registry.DEFAULT_ENGINES))
    overrides = {e: raw.get(e, {}) for e in engines}  # a mapping, unless the file is wrong
    merged = {e: merge(defaults.get(e, {}), o) if isinstance(o, dict) else o
              for e, o in overrides.items()}  # fmt: skip
    settings, found = registry.typed_settings(merged, where)
    problems += found
    fitted_by = {e: registry.get(e).outcome_types for e in settings}  # outcome types it fits
    ordinal_outcomes = {name for name, outcome in outcomes.items() if outcome.ordinal}
    models, found = build_models(raw, outcomes, levels, canonical, fitted_by, where)
    problems += found
    # The setting's messages reach fit.json and the report: the file as the project names it.
    predictions, found = check_setting(
        raw.get("predictions"), models, raw.get("variables", {}),
        project_path(config_file, workdir),
        ordinal={n for n, spec in models.items() if spec.outcome in ordinal_outcomes},
    )  # fmt: skip
    problems += found
    coding, found = read_double_coding(raw, outcomes, levels, header, where, workdir)
    problems += found
    wanted = bool((raw.get("double_coded") or {}).get("all_codes"))
    problems += all_codes_problems(
        wanted, models, item_models, engines, canonical, list(levels)[-1], where
    )
    if problems:
        return None, problems
    cohort = Cohort(
        name=raw["name"],
        config_file=config_file,
        data=files["sessions"],
        unit_data={k[:-1]: v for k, v in files.items() if k != "sessions"},
        levels=levels,
        outcomes=outcomes,
        columns=columns,
        codes={k: dict(v) for k, v in raw.get("codes", {}).items()},
        reference=dict(raw.get("reference", {})),
        missing=tuple(raw.get("missing", [])),
        models=models,
        engines=engines,
        engine_settings=settings,
        predictors=tuple(sorted({p for spec in models.values() for p in spec.predictors})),
        read=read,
        variables={k: dict(v) for k, v in raw.get("variables", {}).items()},
        missing_data=raw.get("missing_data", "listwise"),
        labels={k: " ".join(v.split()) for k, v in raw.get("labels", {}).items()},
        predictions=predictions,
        crossed=tuple(raw.get("crossed", [])),
        items=tuple(raw.get("items", {})),
        item_models=item_models,
        double_coding=coding,
    )
    return cohort, []


def load_config(config: dict, workdir: Path | str = ".") -> WorkflowConfig:
    """Validate the global config, every cohort it names and every design.

    Raises ConfigError listing every problem when the global config or a design has one, or
    when no cohort is usable; a cohort with problems of its own goes to `broken` instead.
    """
    workdir = Path(workdir)
    problems = schema_problems(
        without_unlisted_engines(config, "config.schema.json"), "config.schema.json",
        "config/config.yaml",
    )  # fmt: skip
    if problems:
        raise ConfigError(problems)
    cohorts_dir = Path(config["cohorts_dir"])
    cohorts_dir = cohorts_dir if cohorts_dir.is_absolute() else workdir / cohorts_dir
    files = sorted(cohorts_dir.glob("*.yaml"))
    wanted = config.get("cohorts", "all")
    if wanted != "all":
        by_stem = {f.stem: f for f in files}
        missing = [name for name in wanted if name not in by_stem]
        problems += [
            f"config/config.yaml: cohorts: no file {cohorts_dir / (name + '.yaml')}."
            f"{closest(name, sorted(by_stem))}"
            for name in missing
        ]
        files = [by_stem[name] for name in wanted if name in by_stem]
    if not files and not problems:
        problems.append(f"config/config.yaml: no cohort files (*.yaml) in {cohorts_dir}.")
    defaults = {engine: config.get(engine, {}) for engine in registry.engine_names()}
    pooled = config.get("meta_analysis", {}).get("engine", "auto")
    if pooled != "auto" and pooled not in defaults:
        problems.append(
            f"config/config.yaml: meta_analysis.engine: unknown engine {pooled!r}. "
            f"Valid: auto, {', '.join(defaults)}."
        )
    cohorts: dict[str, Cohort] = {}
    broken: dict[str, list[str]] = {}
    for file in files:
        cohort, found = _load_cohort(file, defaults, workdir)
        if cohort is not None and cohort.name in cohorts:
            found.append(
                f"{project_path(file, workdir)}: cohort name {cohort.name!r} is used twice."
            )
        if found:
            broken[file.stem] = found
        elif cohort is not None:
            cohorts[cohort.name] = cohort
    designs, design_problems = _load_designs(config)
    problems += design_problems
    if problems or not cohorts:
        raise ConfigError(problems + [p for found in broken.values() for p in found])
    return WorkflowConfig(
        cohorts=cohorts,
        privacy=Privacy.from_config(config.get("privacy")),
        broken=broken,
        designs=designs,
        meta_analysis={**DEFAULT_META_ANALYSIS, **config.get("meta_analysis", {})},
    )


def _load_cohort(file: Path, defaults: dict, workdir: Path) -> tuple[Cohort | None, list[str]]:
    """Read and check one cohort file; every problem names the file."""
    try:
        raw = read_yaml(file)
    except ConfigError as error:
        return None, error.problems
    cohort, found = build_cohort(raw if raw is not None else {}, file, defaults, workdir)
    if cohort is not None and cohort.name != file.stem:
        where = project_path(file, workdir)
        found.append(f"{where}: name {cohort.name!r} must match the file name {file.stem!r}.")
    return cohort, found


def _load_designs(config: dict) -> tuple[dict[str, Any], list[str]]:
    """Check every planned-study design."""
    designs, problems = {}, []
    for name, raw in config.get("designs", {}).items():
        design, found = load_design(name, raw, config.get(SIMULATION_ENGINE, {}))
        problems += found
        if design is not None:
            designs[name] = design
    return designs, problems
