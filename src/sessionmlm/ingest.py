"""Ingest: read a cohort's file, map columns and codes, validate, pseudonymise ids.

The result is the canonical session table: one row per session, one column per level holding a
keyed pseudonym, one column per outcome and one per predictor a model names.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sessionmlm.cells import CodeMatcher, as_code, recode, whole_floats
from sessionmlm.config import Cohort
from sessionmlm.double_coded import codes_for_models, load_double_coded
from sessionmlm.outcomes import coded_values, scored_values
from sessionmlm.privacy import Privacy
from sessionmlm.problems import SHOW_ROWS, Problem, Quirk, Validation, ValidationError
from sessionmlm.pseudonyms import pseudonym_key, pseudonymise
from sessionmlm.structure import joined_ids, unit_key
from sessionmlm.tables import ReadOptions, read_table
from sessionmlm.variables import Variable, level_of, type_column

__all__ = ["ValidationError", "ingest", "pseudonymise", "to_canonical"]
log = logging.getLogger(__name__)


def _lines(mask: np.ndarray) -> tuple[int, tuple[int, ...]]:
    """Count and first few file line numbers of the rows flagged in mask."""
    index = np.flatnonzero(mask)
    return len(index), tuple(int(i) + 2 for i in index[:SHOW_ROWS])


LINE = "__line__"  # prefix of the columns that keep each row's line in its level's own file


@dataclass(frozen=True)
class Joined:
    """Session rows with every column, and which level's file each joined column came from."""

    table: pd.DataFrame
    origin: dict[str, str]  # column -> level whose own table holds it (absent: sessions file)
    files: dict[str, str]  # "sessions" or level -> file name
    quirks: list[Quirk] = field(default_factory=list)  # export oddities read on the way

    def where(self, column: str, mask: np.ndarray) -> tuple[str, int, tuple[int, ...]]:
        """File, count and first line numbers of the flagged rows, in the column's own file.

        A client-level value wrong in the clients file is one row there, however many
        sessions the client has.
        """
        level = self.origin.get(column)
        if level is None:
            count, rows = _lines(mask)
            return self.files["sessions"], count, rows
        lines = np.unique(self.table.loc[mask, LINE + level].dropna().astype(int))
        return self.files[level], len(lines), tuple(int(x) for x in lines[:SHOW_ROWS])


def join_tables(cohort: Cohort) -> tuple[Joined, list[Problem]]:
    """Read the cohort's data: one table, or separate level tables joined on their ids.

    Problems with the joins (duplicate unit ids, sessions whose unit has no row in its
    table) are returned for validation to report with the others.
    """
    options = ReadOptions.from_config(cohort.read)
    sessions = read_table(cohort.data, options)
    joined = Joined(sessions, {}, {"sessions": cohort.data.name}, _quirks(sessions, cohort.data))
    problems: list[Problem] = []
    # Innermost level first: sessions carry client ids, clients carry therapist ids.
    for level in reversed(cohort.grouping_levels):
        if level not in cohort.unit_data:
            continue
        path, key = cohort.unit_data[level], cohort.levels[level]
        joined.files[level] = path.name
        units = read_table(path, options)
        joined.quirks.extend(_quirks(units, path))
        units[LINE + level] = np.arange(len(units)) + 2
        count, rows = _lines(units[key].duplicated(keep=False).to_numpy())
        if count:
            problems.append(Problem(path.name, key, rows, count, f"duplicate {level} ids",
                                    f"Give each {level} one row in {path.name}."))  # fmt: skip
        units = units.drop_duplicates(key)
        table = joined.table
        new = [c for c in units.columns if c == key or c not in table.columns]
        table = table.merge(units[new], on=key, how="left", validate="m:1")
        # Sessions of a unit without a row get empty cells, as missing values read from a file.
        joined_columns = [c for c in new if c != key and not c.startswith(LINE)]
        table[joined_columns] = table[joined_columns].fillna("")
        joined = Joined(table, joined.origin, joined.files, joined.quirks)
        file, count, rows = joined.where(key, table[LINE + level].isna().to_numpy())
        if count:
            message = f"{level} ids with no row in {path.name}"
            fix = f"Add those {level}s to {path.name}, or correct the ids."
            problems.append(Problem(file, key, rows, count, message, fix))
        joined.origin.update({c: level for c in new if c != key})
    return joined, problems


def _quirks(frame: pd.DataFrame, path: Path) -> list[Quirk]:
    """What reading the file had to handle (encoding, byte-order mark, line ends)."""
    return [Quirk(path.name, "", count, what) for what, count in frame.attrs.get("quirks", [])]


def to_canonical(
    raw: pd.DataFrame | Joined, cohort: Cohort, key: bytes, found: list[Problem] | None = None
) -> tuple[pd.DataFrame, Validation]:
    """Map a raw (or joined) table to the canonical session table and validate it.

    Returns the table (meaningful only when validation is ok; its attrs["variables"] holds each
    model variable's type and level) and the validation record, which starts with the problems
    already found (joins).
    """
    joined = raw if isinstance(raw, Joined) else Joined(raw, {}, {"sessions": cohort.data.name})
    files = ", ".join(f.name for f in cohort.data_files)  # no machine paths in outputs
    check = Validation(cohort.name, files, list(found or []), quirks=list(joined.quirks))
    n_rows = len(joined.table)

    def problem(column, mask, message, fix, into=check.problems):
        if mask is None:  # the column as a whole
            file = joined.files[joined.origin.get(column, "sessions")]
            into.append(Problem(file, column, (), n_rows, message, fix))
            return
        file, count, rows = joined.where(column, np.asarray(mask))
        if count:
            into.append(Problem(file, column, rows, count, message, fix))

    def quirk(column, count, what):
        if count:
            file = joined.files[joined.origin.get(column, "sessions")]
            check.quirks.append(Quirk(file, column, int(count), what))

    source_of = {c: c for c in joined.table.columns} | cohort.columns
    # Every predictor a model names, and every declared variable (checked even if unused).
    predictors = list(dict.fromkeys([*cohort.predictors, *cohort.variables]))
    outcome_sources = [s for outcome in cohort.outcomes.values() for s in outcome.sources]
    used = [*cohort.levels.values(), *outcome_sources, *(source_of[c] for c in predictors)]
    text = pd.DataFrame({c: joined.table[c].str.strip() for c in dict.fromkeys(used)})
    coded = {
        *cohort.levels.values(),
        *outcome_sources,
        *(source_of[c] for c in cohort.codes if c in source_of),
    }
    for column in text:
        text[column], count = whole_floats(text[column])
        if column in coded:  # a number column's 3.0 is no quirk; an id's or a code's is
            quirk(column, count, "whole numbers written as floats (1.0) read as integers (1)")
    missing = CodeMatcher(cohort.missing)
    is_missing = pd.DataFrame(index=text.index)
    for column in text:
        codes, folded = missing.match(text[column])
        is_missing[column] = codes.notna() | (text[column] == "")
        quirk(column, folded.sum(), "missing codes matched ignoring letter case")

    _identifiers(cohort, text, is_missing, problem, quirk)
    config = cohort.config_file.name
    table = pd.DataFrame(index=joined.table.index)
    variables = {}
    for name, outcome in cohort.outcomes.items():
        if outcome.from_codes:
            table[name] = coded_values(outcome, text, is_missing, problem, quirk)
        else:
            source = outcome.sources[0]
            cells = text[source].where(~is_missing[source])
            if name in cohort.codes:
                cells = apply_codes(name, source, cells, cohort.codes[name], config, problem, quirk)
            table[name] = scored_values(outcome, cells, config, problem, quirk)
        variables[name] = outcome.variable(cohort.session_level)
    # A unit is identified within its parent (as lme4's therapist/client), so a nesting error,
    # reported above, does not also look like a variable varying within a unit.
    units = {
        level: joined_ids(text, [cohort.levels[k] for k in key])
        for level in cohort.grouping_levels
        for key in [unit_key(level, cohort.grouping_levels, cohort.crossed)]
    }
    for column in predictors:
        source = source_of[column]
        cells = text[source].where(~is_missing[source])
        if column in cohort.codes:
            cells = apply_codes(column, source, cells, cohort.codes[column], config, problem, quirk)
        declared = cohort.variables.get(column, {})
        typed = type_column(column, cells, declared, cohort.read.get("decimal") == ",", config)
        for finding in typed.problems:
            problem(source, finding.mask, finding.message, finding.fix)
        for finding in typed.warnings:
            problem(source, finding.mask, finding.message, finding.fix, into=check.warnings)
        values = typed.values
        _check_range(column, source, values, declared, problem)
        level, disagree = level_of(
            column, values, units, cohort.session_level, declared.get("level")
        )
        for finding in disagree:
            problem(source, finding.mask, finding.message, finding.fix)
        categories, reference_inferred = _categories(
            column, source, values, typed.type, cohort, problem
        )
        variables[column] = Variable(
            column,
            typed.type,
            level,
            typed.inferred,
            "level" not in declared,
            categories,
            reference_inferred,
        )
        table[column] = values

    check.problems += _check_size(cohort, text, table)
    if cohort.missing_data == "stop":
        source_of |= {name: outcome.sources[0] for name, outcome in cohort.outcomes.items()}
        for column in [*cohort.outcomes, *cohort.predictors]:
            source = source_of[column]
            problem(
                source,
                table[column].isna().to_numpy(),
                f"{column} is missing",
                "The cohort sets missing_data: stop; fill these in, or set missing_data: "
                "listwise to leave such sessions out of the models that use the "
                "variable.",
            )
    for level, source in cohort.levels.items():
        table.insert(0, level, pseudonymise(text[source], level, key))
    table = table[[*cohort.levels, *cohort.outcomes, *predictors]]
    check.variables = {name: v.to_dict() for name, v in variables.items()}
    table = table.reset_index(drop=True)
    table.attrs["variables"] = check.variables
    return table, check


def _identifiers(cohort: Cohort, text: pd.DataFrame, is_missing: pd.DataFrame, problem, quirk):
    """Ids present at every level, sessions unique, each unit inside one parent.

    Session ids that restart within each client (1, 2, 3 in every client) are read as the
    compound key client + session, and said so; occasional duplicates are a problem.
    """
    for level, source in cohort.levels.items():
        problem(
            source,
            is_missing[source].to_numpy(),
            f"the {level} id is empty or a missing code",
            "Every session needs an id at every level; fix the file.",
        )
    sources = list(cohort.levels.values())
    session = sources[-1]
    duplicated = text[session].duplicated(keep=False)
    if duplicated.mean() > 0.5:
        compound = text[sources[0]].str.cat([text[s] for s in sources[1:]], sep="/")
        if not compound.duplicated().any():
            text[session] = compound
            quirk(
                session,
                len(text),
                f"session ids are numbered within each "
                f"{cohort.grouping_levels[-1]}: read together with {sources[-2]!r} as one id",
            )
            duplicated = compound.duplicated(keep=False)
    problem(
        session,
        duplicated.to_numpy(),
        "duplicate session ids",
        "Each row must be one session with its own id.",
    )
    grouping = list(cohort.grouping_levels)
    for upper, level in zip(grouping[:-1], grouping[1:], strict=False):
        if level in cohort.crossed:
            continue  # declared: its units may sit under several units of the level above
        parent, child = cohort.levels[upper], cohort.levels[level]
        parents_per_child = text.groupby(child)[parent].transform("nunique")
        problem(
            child,
            (parents_per_child > 1).to_numpy(),
            f"a {child} appears under more than one {parent}",
            f"Levels must nest: give such units distinct ids in {child!r}; or, if {level}s "
            f"really move between {upper}s, declare it in the cohort file (crossed: [{level}]) "
            "and fit crossed random intercepts, (1 | ...) + (1 | ...), with the bayes engine.",
        )


def apply_codes(column, source, cells, codes, config, problem, quirk) -> pd.Series:
    """A column's cells through codes.<column>; a cell it does not list is a problem."""
    values, unlisted, folded = recode(cells, codes)
    problem(
        source,
        unlisted,
        f"value(s) {sorted(cells[unlisted].unique())[:5]} are not in codes.{column}",
        f"Add them under codes.{column} in {config}, or under missing.",
    )
    quirk(source, folded.sum(), f"codes.{column} matched ignoring letter case")
    return values


def _check_range(column, source, values, declared, problem) -> None:
    if not pd.api.types.is_float_dtype(values):
        return
    for bound, outside in (
        ("min", values < declared.get("min", -np.inf)),
        ("max", values > declared.get("max", np.inf)),
    ):
        seen = [f"{v:g}" for v in sorted(values[outside].unique())[:5]]
        problem(
            source,
            outside.to_numpy(),
            f"value(s) {seen} are outside the range [{declared.get('min', '-inf')}, "
            f"{declared.get('max', 'inf')}]",
            f"Correct them, or widen variables.{column}.{bound}.",
        )


def _categories(column, source, values, kind, cohort: Cohort, problem):
    """A categorical variable's levels, reference first; whether the reference was inferred."""
    if kind != "categorical":
        return (), False
    levels = sorted(values.dropna().unique())
    if column not in cohort.reference:
        return tuple(levels), True
    reference = as_code(cohort.reference[column])
    if reference not in levels:
        problem(
            source,
            None,
            f"reference level {reference!r} never occurs (values: {levels[:8]})",
            f"Set reference.{column} to one of the values present.",
        )
        return tuple(levels), False
    return (reference, *(v for v in levels if v != reference)), False


MIN_UNITS = 10  # fewer units than this at a level cannot support an estimate of its variance


def _check_size(cohort: Cohort, text: pd.DataFrame, table: pd.DataFrame) -> list[Problem]:
    """Problems of a cohort too small to estimate what every model estimates, with counts."""
    file = cohort.data.name
    found = []
    for name, outcome in cohort.outcomes.items():
        values = table[name].dropna()
        if len(values) and values.nunique() < 2:
            found.append(Problem(
                file, name, (), len(values),
                f"the outcome takes the single value {values.iloc[0]:g} in every session",
                f"Check {outcome.defined_by}: nothing can be estimated.",
            ))  # fmt: skip
    levels = list(cohort.levels.items())
    for (level, source), (child, child_source) in zip(levels[:-1], levels[1:], strict=True):
        units = text[source].nunique()
        children = text.groupby(source)[child_source].nunique()
        if units < MIN_UNITS:
            found.append(Problem(
                file, source, (), units,
                f"only {units} {level}s: too few to estimate the {level} variance",
                f"Use at least {MIN_UNITS} {level}s, or leave {level} out of the models' random "
                "effects.",
            ))  # fmt: skip
        elif (children < 2).all():
            found.append(Problem(
                file, source, (), units,
                f"each of the {units} {level}s has a single {child}, so the {level} variance "
                "cannot be told apart from the level below",
                f"Leave {level} out of the models' random effects.",
            ))  # fmt: skip
    return found


def ingest(cohort: Cohort, privacy: Privacy) -> tuple[pd.DataFrame, Validation]:
    """Read, map, validate and pseudonymise one cohort's data."""
    joined, found = join_tables(cohort)
    coding = cohort.double_coding
    if coding is not None and coding.models_use != "primary" and not found:
        joined, found = _other_codes(cohort, joined)
    return to_canonical(joined, cohort, pseudonym_key(privacy), found)


def _other_codes(cohort: Cohort, joined: Joined) -> tuple[Joined, list[Problem]]:
    """The items' codes of double-coded sessions from the coder(s) models_use names."""
    coding = cohort.double_coding
    items = cohort.coded_outcomes
    session = cohort.levels[cohort.session_level]
    coded, problems = load_double_coded(
        coding, items, joined.table, session, cohort.missing, cohort.read
    )
    if problems:
        return joined, problems
    table, said = codes_for_models(joined.table, coding, coded, items, session)
    quirk = Quirk(coding.data.name, "", coded.sessions, said)
    return Joined(table, joined.origin, joined.files, [*joined.quirks, quirk]), []
