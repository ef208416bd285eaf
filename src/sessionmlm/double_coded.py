"""The double-coded table: sessions rated by more than one coder, read and checked.

One row per (session, coder), with the coded items' columns, as a coding study's reliability
sample is kept. The cohort file declares it under `double_coded:`; the config check sees that
its columns exist, and `load_double_coded` checks its cells when the reliability job reads it:
a coder not among those declared, a code outside an item's scale, a session missing from the
sessions table, a session coded twice by one coder. Every problem is reported at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sessionmlm.cells import CodeMatcher, as_code
from sessionmlm.documents import closest
from sessionmlm.outcomes import Outcome
from sessionmlm.problems import Problem
from sessionmlm.tables import ReadOptions, TableError, read_columns, read_table

# Below these an item is flagged beside its models. Kappa .40: the upper bound of "fair"
# (Landis & Koch 1977); alpha .667: Krippendorff's (2004) lowest for tentative conclusions;
# ICC .40: the upper bound of "poor" (Cicchetti 1994).
DEFAULT_THRESHOLDS = {"kappa": 0.40, "alpha": 0.667, "icc": 0.40}
SOURCES = ("primary", "consensus")  # models_use values other than a coder id


@dataclass(frozen=True)
class DoubleCoding:
    """Where the double-coded table is and how to read it."""

    data: Path
    session: str  # its session id column
    coder: str  # its coder id column
    primary: str | None = None  # the sessions table's column naming each session's coder
    coders: tuple[str, ...] = ()  # every coder id (as text); empty: not declared
    models_use: str = "primary"  # whose codes feed the models
    all_codes: bool = False  # item models fitted again with every code and a coder intercept
    thresholds: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_THRESHOLDS))
    sources: dict[str, tuple[str, ...]] = field(default_factory=dict)  # name -> coder ids


def read_double_coding(
    raw: dict[str, Any],
    outcomes: dict[str, Outcome],
    levels: dict[str, str],
    header: list[str],
    where: str,
    workdir: Path,
) -> tuple[DoubleCoding | None, list[str]]:
    """The cohort's double_coded setting, its file and columns checked (not yet its cells)."""
    entry = raw.get("double_coded")
    if entry is None:
        return None, []
    key = f"{where}: double_coded"
    path = Path(entry["data"])
    path = path if path.is_absolute() else workdir / path
    if not path.exists():
        return None, [f"{key}.data: file {entry['data']!r} does not exist; give its path "
                      "relative to the project folder (as data:)."]  # fmt: skip
    try:
        columns = read_columns(path, ReadOptions.from_config(raw.get("read", {})))
    except TableError as error:
        return None, [f"{key}.data: {error}"]
    session = entry.get("session", list(levels.values())[-1])
    items = [name for name in raw.get("items", {}) if name in outcomes] or list(outcomes)
    needed = {"session": session, "coder": entry["coder"]}
    needed |= {f"column of {name}": s for name in items for s in outcomes[name].sources}
    problems = [
        f"{key}: {path.name} has no column {column!r} ({what}); add it to the table or name "
        f"the right column in the cohort file.{closest(column, columns)}"
        for what, column in needed.items()
        if column not in columns
    ]
    primary = entry.get("primary")
    if primary is not None and primary not in header:
        problems.append(f"{key}.primary: the sessions table has no column {primary!r}."
                        f"{closest(primary, header)}")  # fmt: skip
    coders = tuple(as_code(c) for c in entry.get("coders", []))
    use = str(entry.get("models_use", "primary"))
    if use not in SOURCES and coders and as_code(use) not in coders:
        problems.append(f"{key}.models_use: {use!r} is neither primary, consensus nor a coder "
                        f"in double_coded.coders.{closest(use, list(coders))}")  # fmt: skip
    grouped = [as_code(c) for ids in entry.get("sources", {}).values() for c in ids]
    twice = sorted({c for c in grouped if grouped.count(c) > 1})
    if twice:
        problems.append(f"{key}.sources: coders {twice} are in more than one source.")
    if use != "primary" and primary is None:
        problems.append(f"{key}.models_use: {use} replaces the codes of double-coded sessions; "
                        "name the sessions table's coder column under primary.")  # fmt: skip
    all_codes = bool(entry.get("all_codes", False))
    if all_codes and primary is None:
        problems.append(f"{key}.all_codes: every code enters the models with its coder, so the "
                        "sessions table's coder column must be named under primary.")  # fmt: skip
    if all_codes and use != "primary":
        problems.append(f"{key}.all_codes: the sessions table's codes must be the primary "
                        f"coder's; models_use {use} replaces them. Leave models_use out, or "
                        "all_codes.")  # fmt: skip
    coding = DoubleCoding(
        path, session, entry["coder"], primary, coders, use,
        all_codes=all_codes, thresholds={**DEFAULT_THRESHOLDS, **entry.get("thresholds", {})},
        sources={n: tuple(as_code(c) for c in ids) for n, ids in entry.get("sources", {}).items()},
    )  # fmt: skip
    return (None if problems else coding), problems


@dataclass(frozen=True)
class Coded:
    """The double-coded table checked: per item, a sessions x coders table of scale positions."""

    ratings: dict[str, pd.DataFrame]  # item -> rows: session id (as given), columns: coder
    scales: dict[str, tuple[str, ...]]  # item -> its codes, lowest first
    kinds: dict[str, str]  # item -> binary or ordinal
    sessions: int
    coders: tuple[str, ...]


def _scale(outcome: Outcome) -> tuple[tuple[str, ...], dict[str, int]]:
    """An item's codes lowest first, and each code's position: binary items are 0/1."""
    if outcome.ordinal or outcome.at_least is not None:
        codes = [as_code(c) for c in outcome.order]
        return tuple(codes), {c: i for i, c in enumerate(codes)}
    return ("0", "1"), {**{as_code(c): 0 for c in outcome.negative},
                        **{as_code(c): 1 for c in outcome.positive}}  # fmt: skip


def load_double_coded(
    coding: DoubleCoding,
    items: dict[str, Outcome],
    sessions: pd.DataFrame,
    session_column: str,
    missing: tuple[Any, ...],
    read: dict[str, Any] | None = None,
) -> tuple[Coded | None, list[Problem]]:
    """Read and check the double-coded table against the items and the sessions table.

    sessions is the sessions table as read (text cells); missing the cohort's missing codes.
    """
    table = read_table(coding.data, ReadOptions.from_config(read or {}))
    name, line = coding.data.name, np.arange(len(table)) + 2
    problems: list[Problem] = []

    def problem(column: str, mask: np.ndarray, message: str, fix: str) -> None:
        if mask.any():
            rows = tuple(int(r) for r in line[mask][:5])
            problems.append(Problem(name, column, rows, int(mask.sum()), message, fix))

    coder = table[coding.coder].str.strip()
    known = list(coding.coders)
    if not known and coding.primary is not None:
        known = sorted(set(sessions[coding.primary].dropna().str.strip()) - {""})
    if known:
        unknown = ~coder.isin(known).to_numpy()
        problem(coding.coder, unknown, f"coder ids {sorted(set(coder[unknown]))[:5]} are not "
                f"among the known coders ({', '.join(known)})",
                "Correct the ids, or list every coder under double_coded.coders.")  # fmt: skip
    session = table[coding.session].str.strip()
    absent = ~session.isin(set(sessions[session_column].str.strip())).to_numpy()
    problem(coding.session, absent, "sessions not in the sessions table",
            "Correct the session ids, or add the sessions to the sessions table.")  # fmt: skip
    twice = (pd.DataFrame({"s": session, "c": coder}).duplicated(keep=False)).to_numpy()
    problem(coding.coder, twice, "the same coder coded the same session more than once",
            "Keep one row per session and coder.")  # fmt: skip
    is_missing = CodeMatcher(missing)
    ratings, scales, kinds = {}, {}, {}
    for item, outcome in items.items():
        codes, position = _scale(outcome)
        column = outcome.sources[0]
        cells = table[column].str.strip()
        absent_code = (cells.isna() | (cells == "")).to_numpy() | (
            is_missing.match(cells.fillna(""))[0].notna().to_numpy()
        )
        cells = cells.where(~absent_code)
        values = cells.map(lambda c, at=position: at.get(as_code(c)), na_action="ignore")
        outside = (cells.notna() & values.isna()).to_numpy()
        problem(column, outside, f"codes {sorted(set(cells[outside]))[:5]} are outside the "
                f"item's scale ({', '.join(codes)}) and not missing codes",
                f"Correct the codes, or add them to {outcome.defined_by} or missing.")  # fmt: skip
        frame = pd.DataFrame({"session": session, "coder": coder, "value": values})
        ratings[item] = frame.drop_duplicates(["session", "coder"]).pivot(
            index="session", columns="coder", values="value"
        ).astype(float)  # fmt: skip
        scales[item], kinds[item] = codes, ("ordinal" if len(codes) > 2 else "binary")
    if problems:
        return None, problems
    return Coded(ratings, scales, kinds, int(session.nunique()), tuple(sorted(set(coder)))), []


def codes_for_models(
    sessions: pd.DataFrame,
    coding: DoubleCoding,
    coded: Coded,
    items: dict[str, Outcome],
    session_column: str,
) -> tuple[pd.DataFrame, str]:
    """The sessions table with the double-coded sessions' item codes from models_use.

    consensus: each item's most frequent code among the session's coders (a tie keeps the
    sessions table's code); a coder id: that coder's code where they coded the session.
    Returns the table and a sentence saying what was replaced, for validation.json.
    """
    if coding.models_use == "primary":
        return sessions, ""
    table = sessions.copy()
    ids = table[session_column].str.strip()
    changed, ties = 0, 0
    for item, outcome in items.items():
        ratings, codes = coded.ratings[item], coded.scales[item]
        if coding.models_use == "consensus":
            counts = ratings.apply(lambda row: row.value_counts(), axis=1).fillna(0)
            top = counts.max(axis=1)
            tied = counts.eq(top, axis=0).sum(axis=1) > 1
            ties += int(tied.sum())
            chosen = counts.idxmax(axis=1).where(~tied)
        else:
            coder = as_code(coding.models_use)
            chosen = ratings[coder] if coder in ratings else pd.Series(dtype=float)
        chosen = chosen.dropna()
        column = outcome.sources[0]
        new = ids.map(chosen.map(lambda v, at=codes: at[int(v)]))
        if outcome.from_codes:  # binary from codes: the first code of each side
            sides = {"0": as_code(outcome.negative[0]), "1": as_code(outcome.positive[0])}
            new = new.map(sides, na_action="ignore")
        replace = new.notna() & (new != table[column].str.strip())
        changed += int(replace.sum())
        table.loc[new.notna(), column] = new[new.notna()]
    what = ("the most frequent code of each double-coded session (ties keep the sessions "
            f"table's code: {ties} item codes)" if coding.models_use == "consensus"
            else f"coder {coding.models_use}'s codes where they coded the session")  # fmt: skip
    return table, (f"double_coded.models_use: the models use {what}; {changed} item codes of "
                   "the sessions table were replaced.")  # fmt: skip


def source_ratings(ratings: pd.DataFrame, sources: dict[str, tuple[str, ...]]) -> pd.DataFrame:
    """One column per source: each session's code from that source's coders (their first code).

    Sessions coded by one source only have a single rating and are left out by the statistics.
    """
    columns = {
        name: ratings[[c for c in ids if c in ratings]].bfill(axis=1).iloc[:, 0]
        if any(c in ratings for c in ids) else pd.Series(np.nan, index=ratings.index)
        for name, ids in sources.items()
    }  # fmt: skip
    return pd.DataFrame(columns, index=ratings.index)
