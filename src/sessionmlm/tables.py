"""Read a cohort's data file, in any supported format, as a table of text cells.

Codes are compared as written, so every format is turned into text the same way: integers as
"1" (never "1.0"), empty cells and system-missing values as "". The format follows the file's
extension; reading options come from the cohort file's `read:` mapping.
"""

from __future__ import annotations

import csv
import logging
import math
import zipfile
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import pandas as pd

from sessionmlm.errors import UserError
from sessionmlm.machine_paths import scrub, this_machine

log = logging.getLogger(__name__)
DELIMITED = (".csv", ".tsv", ".txt")
EXACT = 2.0**53  # floats below this are whole numbers exactly; above, written as floats
SUFFIXES = (*DELIMITED, ".parquet", ".xlsx", ".sav", ".dta")


class TableError(UserError):
    """A data file cannot be read; the message names the file and what to do."""


@dataclass(frozen=True)
class ReadOptions:
    """How to read a file; None means detect. Documented in config/README.md under `read`."""

    delimiter: str | None = None  # delimited text: detected from ",", ";", tab and "|"
    encoding: str | None = None  # delimited text: UTF-8 if it decodes, else the likeliest
    sheet: str | int | None = None  # Excel: sheet name or 0-based position (default: first)
    value_labels: bool = True  # SPSS and Stata: cells hold value labels rather than numbers
    decimal: str = "."  # "," when numbers are written 12,5 (typing reads them; see variables.py)

    @classmethod
    def from_config(cls, raw: dict[str, Any] | None) -> ReadOptions:
        """Build from the cohort's `read:` mapping (checked against the schema already)."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in (raw or {}).items() if k in known})


def _cell_text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return ""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, float) and value.is_integer() and abs(value) < EXACT:
        return str(int(value))
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Every cell as text the way a CSV of the same data would hold it."""
    out = pd.DataFrame(index=frame.index)
    for column in frame.columns:
        series = frame[column]
        if pd.api.types.is_bool_dtype(series) and not series.isna().any():
            text = series.astype(int).astype(str)
        elif pd.api.types.is_integer_dtype(series) and not series.isna().any():
            text = series.astype(str)
        elif pd.api.types.is_float_dtype(series):
            # Whole numbers as "1", others as Python writes them, missing as "".
            whole = series.notna() & (series.abs() < EXACT) & (series % 1 == 0)
            text = series.astype(str).where(series.notna(), "")
            text[whole] = series[whole].astype("int64").astype(str)
        elif pd.api.types.is_string_dtype(series) and not series.isna().any():
            text = series.astype(str)
        else:  # mixed, dates, labels with gaps: cell by cell
            text = [_cell_text(v) for v in series.astype(object)]
        out[str(column)] = text
    return out


def detect_encoding(path: Path) -> str:
    """UTF-8 (with or without a byte-order mark) when the bytes decode, else a guess.

    The guess is Windows-1252 (Western European, what most Windows exports use) when it
    decodes the bytes, else charset-normalizer's best match; a single accented letter cannot
    tell code pages apart, so the guess is logged and read.encoding overrides it.
    """
    data = path.read_bytes()
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if encoding != "utf-8-sig":
            log.warning(
                "%s is not UTF-8; reading it as %s. If accented letters look wrong, set "
                "read.encoding in the cohort file.", path.name, encoding,
            )  # fmt: skip
        return encoding
    from charset_normalizer import from_bytes

    best = from_bytes(data[: 1 << 20]).best()
    if best is None:
        raise TableError(
            f"{path.name}: cannot tell the text encoding; set read.encoding in the cohort file "
            "(for example latin-1 or cp1252)."
        )
    log.warning("%s is not UTF-8; reading it as %s (a guess; set read.encoding to choose).",
                path.name, best.encoding)  # fmt: skip
    return best.encoding


def detect_delimiter(path: Path, encoding: str) -> str:
    """The field delimiter of a text file: tab for .tsv, else sniffed from the first lines."""
    if path.suffix.lower() == ".tsv":
        return "\t"
    with open(path, encoding=encoding, newline="") as handle:
        sample = handle.read(1 << 16)
    if not sample.strip():
        raise TableError(f"{path.name}: the file is empty; export the session table again.")
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","  # one column, or nothing to tell from: the usual CSV


def read_table(path: Path, options: ReadOptions | None = None, nrows: int | None = None):
    """The file as a DataFrame of text cells (header row as column names).

    A header naming a column twice and a file without data rows are errors; what reading had to
    handle (a byte-order mark, Windows line ends, a non-UTF-8 encoding) is listed in
    frame.attrs["quirks"] as (what, count) pairs.
    """
    options = options or ReadOptions()
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise TableError(
            f"{path.name}: cannot read {suffix or 'files without an extension'}; "
            f"supported: {', '.join(SUFFIXES)}."
        )
    quirks: list[tuple[str, int]] = []
    try:
        if suffix in DELIMITED:
            encoding = options.encoding or detect_encoding(path)
            delimiter = options.delimiter or detect_delimiter(path, encoding)
            quirks = _text_quirks(path, encoding)
            _check_header(_first_row(path, encoding, delimiter), path)
            frame = pd.read_csv(
                path, sep=delimiter, encoding=encoding, dtype=str, keep_default_na=False,
                nrows=nrows,
            )  # fmt: skip
        elif suffix == ".parquet":
            frame = pd.read_parquet(path)
        elif suffix == ".xlsx":
            sheet = options.sheet or 0
            _check_header(pd.read_excel(path, sheet_name=sheet, header=None, nrows=1).iloc[0], path)
            # Cells as written: pandas would silently read "NA", "#N/A" or "NULL" as missing.
            frame = pd.read_excel(path, sheet_name=sheet, nrows=nrows, keep_default_na=False)
            frame = _with_error_cells(frame, path, sheet)
        else:
            import pyreadstat

            reader = pyreadstat.read_sav if suffix == ".sav" else pyreadstat.read_dta
            try:
                frame, _ = reader(
                    str(path), apply_value_formats=options.value_labels, row_limit=nrows or 0
                )
            except (pyreadstat.ReadstatError, pyreadstat.PyreadstatError) as error:
                raise unreadable(path, error) from None
    except TableError:
        raise
    # A damaged .xlsx is a broken zip archive; pyreadstat's own errors are caught above.
    except (ValueError, OSError, pd.errors.ParserError, IndexError, zipfile.BadZipFile) as error:
        raise unreadable(path, error) from None
    if nrows is not None:
        frame = frame.head(nrows)
    if frame.empty:
        raise TableError(
            f"{path.name}: the file has a header ({len(frame.columns)} columns) but no data "
            "rows; export the table again with its rows."
        )
    text = frame if suffix in DELIMITED else as_text(frame)
    text.attrs["quirks"] = quirks
    return text


def unreadable(path: Path, error: Exception) -> TableError:
    """A reader's error as a TableError naming the file, with what to do.

    Readers' messages may hold the file's absolute path: it is written as the project names it.
    """
    said = scrub(str(error), this_machine()).rstrip(".")
    return TableError(
        f"{path.name}: cannot be read as {path.suffix.lower()}: {said}. If the file is damaged "
        "or cut short (an interrupted copy, download or export), export it again."
    )


def _with_error_cells(frame: pd.DataFrame, path: Path, sheet: str | int) -> pd.DataFrame:
    """Formula errors (#N/A, #DIV/0!) as their text: pandas reads them as empty cells.

    Validation then names them instead of their passing as missing values unseen.
    """
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True, data_only=True)
    try:
        sheets = book.worksheets
        ws = book[sheet] if isinstance(sheet, str) else sheets[sheet]
        found = [
            (cell.row - 2, cell.column - 1, str(cell.value))
            for row in ws.iter_rows(min_row=2, max_row=len(frame) + 1)
            for cell in row
            if cell.data_type == "e"
        ]
    finally:
        book.close()
    if found:
        frame = frame.astype({frame.columns[c]: object for _, c, _ in found})
        for r, c, value in found:
            frame.iat[r, c] = value
    return frame


def _first_row(path: Path, encoding: str, delimiter: str) -> list[str]:
    with open(path, encoding=encoding, newline="") as handle:
        return next(csv.reader(handle, delimiter=delimiter), [])


def _check_header(names, path: Path) -> None:
    """A column named twice is an error: the tool will not choose between them."""
    positions: dict[str, list[int]] = {}
    for i, name in enumerate(names):
        if isinstance(name, str) or not pd.isna(name):
            positions.setdefault(str(name).strip(), []).append(i + 1)
    twice = {name: at for name, at in positions.items() if len(at) > 1}
    if twice:
        listed = "; ".join(
            f"{name!r} (columns {', '.join(map(str, at))})" for name, at in twice.items()
        )
        raise TableError(
            f"{path.name}: the header names a column more than once: {listed}. Rename or remove "
            "the copies in the export; sessionmlm will not choose between them."
        )


def _text_quirks(path: Path, encoding: str) -> list[tuple[str, int]]:
    """Byte-order mark, Windows line ends and a non-UTF-8 encoding, each read as such."""
    with open(path, "rb") as handle:
        head = handle.read(1 << 16)
    quirks = []
    if head.startswith(b"\xef\xbb\xbf"):
        quirks.append(("a UTF-8 byte-order mark at the start, skipped", 1))
    if b"\r\n" in head:
        quirks.append(("Windows line ends (CRLF), read as line ends", head.count(b"\r\n")))
    if encoding.replace("_", "-").lower() not in ("utf-8", "utf-8-sig", "utf8"):
        quirks.append((f"not UTF-8: read as {encoding}", 1))
    return quirks


def read_columns(path: Path, options: ReadOptions | None = None) -> list[str]:
    """Column names of a data file, reading as little of it as the format allows."""
    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        try:
            names = pq.read_schema(path).names
        except (ValueError, OSError) as error:  # pyarrow's ArrowInvalid is a ValueError
            raise unreadable(path, error) from None
        return [str(c) for c in names if not c.startswith("__index")]
    return list(read_table(path, options, nrows=1).columns)
