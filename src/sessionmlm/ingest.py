"""Ingest: read a cohort's file, map columns and codes, validate, pseudonymise ids.

The result is the canonical session table: one row per session, one column per level holding a
keyed pseudonym, the 0/1 outcome and every predictor a model names.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sessionmlm.config import Cohort
from sessionmlm.errors import UserError
from sessionmlm.privacy import Privacy
from sessionmlm.tables import ReadOptions, read_table

log = logging.getLogger(__name__)
SHOW_ROWS = 5


@dataclass(frozen=True)
class Problem:
    """One validation problem: where it is, how often, and what to change."""

    file: str
    column: str
    rows: tuple[int, ...]  # file line numbers (header is line 1), first few
    count: int
    message: str
    fix: str

    def __str__(self) -> str:
        if not self.rows:  # about the whole cohort, not particular rows
            return f"{self.file}: column {self.column!r}: {self.message}. {self.fix}"
        rows = ", ".join(str(r) for r in self.rows)
        more = f" and {self.count - len(self.rows)} more" if self.count > len(self.rows) else ""
        return (
            f"{self.file}: column {self.column!r}, rows {rows}{more} ({self.count} in all): "
            f"{self.message}. {self.fix}"
        )


@dataclass
class Validation:
    """Everything validation found in one cohort."""

    cohort: str
    file: str
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing stops the cohort."""
        return not self.problems

    def to_dict(self) -> dict:
        """JSON-ready form written to validation.json."""
        return {
            "cohort": self.cohort,
            "file": self.file,
            "ok": self.ok,
            "problems": [
                {**p.__dict__, "rows": list(p.rows), "text": str(p)} for p in self.problems
            ],
        }


class ValidationError(UserError):
    """The cohort's data cannot be modelled; the message lists every problem."""

    def __init__(self, validation: Validation):
        self.validation = validation
        lines = "\n".join(f"- {p}" for p in validation.problems)
        super().__init__(
            f"cohort {validation.cohort!r}: {len(validation.problems)} problem(s) in "
            f"{validation.file}:\n{lines}"
        )


def pseudonym_key(privacy: Privacy) -> bytes:
    """The secret key for pseudonyms: from the environment, else a local key file (created once)."""
    from_env = os.environ.get(privacy.key_env)
    if from_env:
        return from_env.encode()
    key_file = Path(privacy.key_file)
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32) + "\n")
        key_file.chmod(0o600)
        log.warning(
            "created a new pseudonym key in %s; keep it private and keep it to get the same "
            "pseudonyms on later runs (or set %s)",
            key_file,
            privacy.key_env,
        )
    return key_file.read_text().strip().encode()


def pseudonymise(values: pd.Series, level: str, key: bytes) -> pd.Series:
    """Replace raw ids by keyed hashes (HMAC-SHA256), stable for a given key and level."""
    prefix = level[:1].upper()
    mapping = {
        raw: f"{prefix}-{hmac.new(key, f'{level}:{raw}'.encode(), hashlib.sha256).hexdigest()[:12]}"
        for raw in values.unique()
    }
    return values.map(mapping)


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
    joined = Joined(read_table(cohort.data, options), {}, {"sessions": cohort.data.name})
    problems: list[Problem] = []
    # Innermost level first: sessions carry client ids, clients carry therapist ids.
    for level in reversed(cohort.grouping_levels):
        if level not in cohort.unit_data:
            continue
        path, key = cohort.unit_data[level], cohort.levels[level]
        joined.files[level] = path.name
        units = read_table(path, options)
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
        joined = Joined(table, joined.origin, joined.files)
        file, count, rows = joined.where(key, table[LINE + level].isna().to_numpy())
        if count:
            message = f"{level} ids with no row in {path.name}"
            fix = f"Add those {level}s to {path.name}, or correct the ids."
            problems.append(Problem(file, key, rows, count, message, fix))
        joined.origin.update({c: level for c in new if c != key})
    return joined, problems


def _as_code(value: Any) -> str:
    """Codes from YAML (1, 1.0, True, 'Y') compared with cell text."""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def to_canonical(
    raw: pd.DataFrame | Joined, cohort: Cohort, key: bytes, found: list[Problem] | None = None
) -> tuple[pd.DataFrame, Validation]:
    """Map a raw (or joined) table to the canonical session table and validate it.

    Returns the table (meaningful only when validation is ok) and the validation record,
    which starts with the problems already found (joins).
    """
    joined = raw if isinstance(raw, Joined) else Joined(raw, {}, {"sessions": cohort.data.name})
    raw = joined.table
    files = ", ".join(str(f) for f in cohort.data_files)
    check = Validation(cohort=cohort.name, file=files, problems=list(found or []))

    def problem(column, mask, message, fix):
        file, count, rows = joined.where(column, np.asarray(mask))
        if count:
            check.problems.append(Problem(file, column, rows, count, message, fix))

    missing_codes = {_as_code(m) for m in cohort.missing}
    text = raw.drop(columns=[c for c in raw.columns if c.startswith(LINE)])
    text = text.apply(lambda col: col.str.strip())
    is_missing = text.isin(missing_codes) | (text == "")

    table = pd.DataFrame(index=raw.index)
    # Identifiers: present, unique sessions, each unit inside one parent.
    for level, source in cohort.levels.items():
        problem(
            source,
            is_missing[source].to_numpy(),
            f"the {level} id is empty or a missing code",
            "Every session needs an id at every level; fix the file.",
        )
    session_source = cohort.levels[cohort.session_level]
    problem(
        session_source,
        text[session_source].duplicated(keep=False).to_numpy(),
        "duplicate session ids",
        "Each row must be one session with its own id.",
    )
    sources = list(cohort.levels.values())
    for parent, child in zip(sources[:-2], sources[1:-1], strict=False):
        parents_per_child = text.groupby(child)[parent].transform("nunique")
        problem(
            child,
            (parents_per_child > 1).to_numpy(),
            f"a {child} appears under more than one {parent}",
            f"Levels must nest: give such units distinct ids in {child!r}.",
        )

    # Outcome: union of its source codes.
    positive = {_as_code(v) for v in cohort.outcome.positive}
    negative = {_as_code(v) for v in cohort.outcome.negative}
    outcome = pd.Series(np.nan, index=raw.index)
    any_positive = np.zeros(len(raw), bool)
    all_negative = np.ones(len(raw), bool)
    for source in cohort.outcome.sources:
        col, miss = text[source], is_missing[source]
        bad = ~(col.isin(positive) | col.isin(negative) | miss)
        seen = sorted(col[bad].unique())[:5]
        problem(
            source,
            bad.to_numpy(),
            f"outcome code(s) {seen} are neither positive "
            f"{sorted(positive)} nor negative {sorted(negative)}",
            "List them under outcome.positive or outcome.negative, or under missing.",
        )
        any_positive |= col.isin(positive).to_numpy()
        all_negative &= col.isin(negative).to_numpy()
    outcome[all_negative] = 0.0
    outcome[any_positive] = 1.0
    table[cohort.outcome.name] = outcome

    # Predictors named by any model, after renaming and code mapping.
    source_of = {c: c for c in raw.columns} | cohort.columns
    # Every predictor a model names, and every declared variable (checked even if unused).
    predictors = list(dict.fromkeys([*cohort.predictors, *cohort.variables]))
    for column in predictors:
        source = source_of[column]
        col, miss = text[source], is_missing[source]
        if column in cohort.codes:
            codes = {_as_code(k): v for k, v in cohort.codes[column].items()}
            bad = ~(col.isin(codes) | miss)
            seen = sorted(col[bad].unique())[:5]
            problem(
                source,
                bad.to_numpy(),
                f"value(s) {seen} are not in codes.{column}",
                f"Add them under codes.{column} in {cohort.config_file.name}, or under missing.",
            )
            mapped = col.map(codes).where(~miss)
            table[column] = mapped
        else:
            table[column] = col.where(~miss)
        numeric = pd.to_numeric(table[column], errors="coerce")
        declared = cohort.variables.get(column, {})
        if declared.get("type") == "numeric":
            not_number = (numeric.isna() & table[column].notna()).to_numpy()
            seen = sorted(table[column][not_number].astype(str).unique())[:5]
            problem(source, not_number, f"value(s) {seen} are not numbers",
                    f"variables.{column} says numeric: correct them, or list them under "
                    "missing (or codes).")  # fmt: skip
            table[column] = numeric.astype(float)
        elif (
            numeric.notna().sum() == table[column].notna().sum()
            and declared.get("type") != "categorical"
        ):
            table[column] = numeric.astype(float)
        else:
            table[column] = table[column].astype("string")
        for bound, outside in (("min", numeric < declared.get("min", -np.inf)),
                               ("max", numeric > declared.get("max", np.inf))):  # fmt: skip
            seen = [f"{v:g}" for v in sorted(numeric[outside].unique())[:5]]
            problem(source, outside.to_numpy(),
                    f"value(s) {seen} are outside the range [{declared.get('min', '-inf')}, "
                    f"{declared.get('max', 'inf')}]",
                    f"Correct them, or widen variables.{column}.{bound}.")  # fmt: skip
        level = declared.get("level")
        if level in cohort.grouping_levels:
            unit = text[cohort.levels[level]]
            values = table[column].astype("string")
            varies = values.groupby(unit).transform("nunique").to_numpy() > 1
            problem(source, varies, f"takes more than one value within a {level}",
                    f"variables.{column}.level says {level}: each {level} must have one value; "
                    "correct the file or set the level it varies at.")  # fmt: skip
    for column, level in cohort.reference.items():
        if column in table and (table[column].astype("string") != _as_code(level)).all():
            present = sorted(table[column].dropna().astype(str).unique())[:8]
            problem(
                source_of.get(column, column),
                np.ones(len(raw), bool),
                f"reference level {level!r} never occurs (values: {present})",
                f"Set reference.{column} to one of the values present.",
            )

    check.problems += _check_size(cohort, text, table)
    if cohort.missing_data == "stop":
        for column in [cohort.outcome.name, *cohort.predictors]:
            source = source_of.get(column, cohort.outcome.sources[0])
            problem(source, table[column].isna().to_numpy(), f"{column} is missing",
                    "The cohort sets missing_data: stop; fill these in, or set missing_data: "
                    "listwise to leave such sessions out of the models that use the "
                    "variable.")  # fmt: skip
    for level, source in cohort.levels.items():
        table.insert(0, level, pseudonymise(text[source], level, key))
    table = table[list(cohort.levels) + [cohort.outcome.name, *predictors]]
    return table.reset_index(drop=True), check


MIN_UNITS = 10  # fewer units than this at a level cannot support an estimate of its variance


def _check_size(cohort: Cohort, text: pd.DataFrame, table: pd.DataFrame) -> list[Problem]:
    """Problems of a cohort too small to estimate what every model estimates, with counts."""
    file = cohort.data.name
    found = []
    outcome = table[cohort.outcome.name].dropna()
    if len(outcome) and outcome.nunique() < 2:
        found.append(Problem(
            file, cohort.outcome.name, (), len(outcome),
            f"the outcome takes the single value {outcome.iloc[0]:g} in every session",
            "Check outcome.positive and outcome.negative: nothing can be estimated.",
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
    return to_canonical(joined, cohort, pseudonym_key(privacy), found)
