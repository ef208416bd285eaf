"""Manuscript tables: Table 1 by level and each fit's odds ratios, laid out as APA tables.

A table here is plain data (ApaTable): the DOCX writer (docx_tables.py) and the CSV beside it
show the same cells. Table 1 is the report's Table 1 (descriptives.json, whose small counts
are already suppressed); the model tables are numbered 2, 3, ... in the order of the cohort's
models and then engines, so a cohort's numbers do not depend on which jobs ran. The model
tables themselves are made by manuscript_models.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from sessionmlm import apa
from sessionmlm.figures.levels import plural

FOLDER = "tables"  # under results/{cohort}/
TABLE1 = "table1"


@dataclass(frozen=True)
class Row:
    """One row of a table: its cells, or a heading across the table (panel)."""

    cells: tuple[str, ...]
    panel: bool = False  # a heading row ("Random effects"): its one cell spans the table
    indent: bool = False  # a row under the one above (a category of a variable)


@dataclass(frozen=True)
class ApaTable:
    """A table as APA lays it out: number, title, header, rows, note.

    unavailable says why there are no rows (a fit that failed its checks or was not fitted);
    the DOCX then says so in place of the table.
    """

    number: int
    title: str
    header: tuple[str, ...]
    rows: tuple[Row, ...]
    note: str
    unavailable: str = ""


def model_stem(model: str, engine: str) -> str:
    """The file name (without suffix) of a model's table under one engine."""
    return f"{model}_{engine}"


def table_files(models: Iterable[str], engines: Iterable[str], suffix: str) -> list[str]:
    """Every manuscript table of a cohort, relative to results/{cohort}/, Table 1 first."""
    engines = list(engines)
    stems = [TABLE1] + [model_stem(m, e) for m in models for e in engines]
    return [f"{FOLDER}/{stem}.{suffix}" for stem in stems]


def every_file(cohort: Any) -> list[str]:
    """A cohort's (config.Cohort) manuscript tables as DOCX and CSV, under results/{cohort}/."""
    return [name for suffix in ("docx", "csv")
            for name in table_files(cohort.models, cohort.engines, suffix)]  # fmt: skip


def table_number(models: Iterable[str], engines: Iterable[str], model: str, engine: str) -> int:
    """A model table's number: 2 for the first model's first engine, then on (Table 1 is 1)."""
    pairs = [(m, e) for m in models for e in list(engines)]
    return 2 + pairs.index((model, engine))


def as_frame(table: ApaTable) -> pd.DataFrame:
    """The table's rows as the CSV beside the DOCX: each row under its panel (section).

    A table without rows has one row saying why (section "not reported").
    """
    columns = ["section", *table.header]
    if table.unavailable:
        return pd.DataFrame([["not reported", table.unavailable]], columns=columns[:2]).reindex(
            columns=columns, fill_value=""
        )
    section, rows = "", []
    for row in table.rows:
        if row.panel:
            section = row.cells[0]
        else:
            rows.append([section, *row.cells])
    return pd.DataFrame(rows, columns=columns)


def _count(cell: dict[str, Any], min_cell: int, share: float | None = None) -> str:
    """A Table 1 count as the report shows it: "<11" when suppressed, else n (and %)."""
    if cell["suppressed"]:
        return f"<{min_cell}"
    return f"{cell['n']} ({apa.percent(share)})" if share is not None else str(cell["n"])


TABLE1_HEADER = ("Variable", "Type", "n (%) or M (SD)", "Mdn [IQR]", "Missing")


def _variable_rows(name: str, entry: dict[str, Any], min_cell: int) -> list[Row]:
    """One variable's rows of Table 1, with the same cells the report shows."""
    kind, missing = entry.get("type", entry["kind"]), str(entry["missing"])
    if entry["kind"] == "binary":
        yes = _count(entry["yes"], min_cell, entry["share"])
        return [Row((f"{name}: yes", kind, yes, "", missing))]
    if entry["kind"] == "numeric":
        if entry.get("suppressed"):
            return [Row((name, kind, f"<{min_cell} units: suppressed", "", missing))]
        spread = apa.interval(entry["q1"], entry["q3"])
        return [Row((name, kind, f"{apa.number(entry['mean'])} ({apa.number(entry['sd'])})",
                     f"{apa.number(entry['median'])} {spread}", missing))]  # fmt: skip
    categories = [Row((str(k), "", _count(v, min_cell), "", ""), indent=True)
                  for k, v in entry["categories"].items()]  # fmt: skip
    return [Row((name, kind, "", "", missing)), *categories]


def table1(desc: dict[str, Any]) -> ApaTable:
    """Table 1 by level from descriptives.json: each variable over the units of its level."""
    min_cell, counts = desc["min_cell"], desc["counts"]
    rows: list[Row] = []
    inferred = []
    for level, variables in desc["table1"].items():
        if not variables:
            continue
        rows.append(Row((f"{level.capitalize()} characteristics "
                         f"(n = {counts[level]} {plural(level)})",), panel=True))  # fmt: skip
        for name, entry in variables.items():
            rows += _variable_rows(name, entry, min_cell)
            if entry.get("inferred"):
                inferred.append(f"{name} ({' and '.join(entry['inferred'])})")
    note = (
        "Each variable is summarised over the units of its level. Counts from 1 to "
        f"{min_cell - 1} are suppressed (<{min_cell}). Binary variables: n (%) of units with the "
        "value 1 (the percentage is left out when either count is suppressed). Mdn = median; "
        "IQR = interquartile range (first to third quartile)."
    )
    if inferred:
        note += (
            " Type or level read off the data, not declared under variables: in the cohort "
            f"file: {'; '.join(inferred)}."
        )
    levels = [plural(level).capitalize() for level, vs in desc["table1"].items() if vs]
    return ApaTable(
        number=1,
        title=f"Characteristics of {_listed(levels)}, by Level" if levels else "Characteristics",
        header=TABLE1_HEADER,
        rows=tuple(rows),
        note=note,
        unavailable="" if rows else "The cohort's table has no predictor columns to describe.",
    )


def _listed(words: list[str]) -> str:
    """["a", "b", "c"] -> "a, b and c"."""
    return " and ".join([", ".join(words[:-1]), words[-1]] if len(words) > 1 else words)
