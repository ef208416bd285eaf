"""A corpus of realistic broken and quirky exports of a coded-session table.

Each case is the tiny simulated cohort exported as a real program would (CSV, TSV, Excel, SPSS
or Stata) with one or two mistakes or quirks that real coding projects make, and the result a
careful data manager expects: a named error (file, column, rows and fix, all at once), or a
cohort that reads and fits, with what the tool decided shown.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sessionmlm.simulate import TrueParameters, simulate_cohort

from .conftest import TINY, TINY_COHORT

BASE = simulate_cohort(TINY, TrueParameters(), seed=5).drop(columns="session_number")
MODEL = "homework ~ caregiver_present + child_age + licensed + ebp + (1 | therapist/client)"


@dataclass(frozen=True)
class Case:
    """One export: how it is damaged, how the cohort file reads it, and what must happen."""

    name: str
    suffix: str
    change: Callable[[pd.DataFrame], pd.DataFrame] = lambda t: t
    cohort: dict = field(default_factory=dict)  # merged into the tiny cohort file
    errors: tuple[str, ...] = ()  # regexes the error must all match; empty: it must succeed
    quirks: tuple[str, ...] = ()  # regexes of quirks validation.json must record
    warnings: tuple[str, ...] = ()  # regexes of listed warnings
    types: dict = field(default_factory=dict)  # variable -> (type, level) it must get
    raw: Callable[[pd.DataFrame, Path], None] | None = None  # writes the file itself
    fit: bool = False  # also fit the model with ml and check it converged


def cells(column, rows, value):
    """Set some cells of a column (as text) to a value."""

    def change(t):
        t = t.astype({column: object})
        t.loc[list(rows), column] = value
        return t

    return change


def within_client_numbers(t):
    """Session ids 1, 2, 3 ... restarting in every client, as many coding sheets number them."""
    return t.assign(session_id=t.groupby("client_id").cumcount().add(1).astype(str))


def one_therapist_varies(t):
    """licensed differs in one session of one therapist (a data-entry slip)."""
    t = t.copy()
    first = t.index[t.therapist_id == t.therapist_id.iloc[0]]
    t.loc[first[-1], "licensed"] = 1 - t.loc[first[-1], "licensed"]
    return t


def free_text_ebp(t):
    return t.assign(ebp=[f"note {i}: {e} with family" for i, e in enumerate(t.ebp)])


def latin1(t, path):
    t.assign(ebp=t.ebp.replace({"CPP": "Programa Él"})).to_csv(
        path, index=False, encoding="latin-1"
    )


def bom_crlf(t, path):
    path.write_bytes(b"\xef\xbb\xbf" + t.to_csv(index=False, lineterminator="\r\n").encode())


def header_twice(t, path):
    text = t.to_csv(index=False).splitlines()
    text[0] = text[0].replace("hispanic_latinx", "licensed")
    path.write_text("\n".join(text) + "\n")


def spss_user_missing(t, path):
    """-99 in child_age declared as user-missing in the SPSS file itself."""
    import pyreadstat

    t = t.assign(caregiver_present=t.caregiver_present.map({"Y": 1, "N": 2}))
    t.loc[[5, 6], "child_age"] = -99
    pyreadstat.write_sav(
        t,
        str(path),
        variable_value_labels={"caregiver_present": {1: "Y", 2: "N"}},
        missing_ranges={"child_age": [-99]},
    )


def header_only(t, path):
    path.write_text(",".join(t.columns) + "\n")


def floats(t, path):
    t.astype({"hw_assigned": float, "hw_reviewed": float, "licensed": float}).to_csv(
        path, index=False, float_format="%.1f"
    )


def ages_with_units(t):
    return t.assign(child_age=[f"{a} years" for a in t.child_age])


def decimal_commas(t):
    return t.assign(child_age=[f"{a},5" for a in t.child_age])


def dates(t):
    return t.assign(ebp=pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(len(t)) % 60, "D"))


def age_for_ordinal(t):
    return t.assign(caregiver_present=t.caregiver_present.map({"Y": "often", "N": "never"}))


def ebp_codes(t):
    return t.assign(ebp=t.ebp.astype("category").cat.codes + 1)


def scale_with_99(t):
    rng = np.random.default_rng(1)
    t = t.assign(child_age=rng.integers(0, 101, len(t)))
    t.loc[[3, 40], "child_age"] = 99
    return t


FIX_MISSING = r"add them under missing: in tiny\.yaml"
CASES = [
    # --- CSV: mistakes that must stop the cohort, each named ---
    Case("word_in_numbers", ".csv", cells("child_age", [10], "twelve"),
         errors=(r"s\.csv: column 'child_age', rows 12 \(1 in all\): value\(s\) \['twelve'\] "
                 r"are not numbers \(the rest of the column is numbers\)", r"variables\.child_age\.type: categorical")),
    Case("unlisted_minus_99", ".csv", cells("child_age", [4, 50], "-99"), cohort={"missing": ["NA", ""]},
         errors=(r"column 'child_age', rows 6, 52 \(2 in all\): value -99 looks like a missing-value code",
                 r"add it under missing: in tiny\.yaml")),
    Case("header_twice", ".csv", raw=header_twice,
         errors=(r"s\.csv: the header names a column more than once: 'licensed' \(columns \d+, \d+\)",
                 r"Rename or remove")),
    Case("licensed_varies", ".csv", one_therapist_varies,
         errors=(r"column 'licensed', rows [\d, ]+ and \d+ more \(\d+ in all\): is constant within every therapist but 1 of \d+",
                 r"licensed: \{level: session\}")),
    Case("hash_na", ".csv", cells("child_age", [5, 6, 90], "#N/A"),
         errors=(r"column 'child_age', rows 7, 8, 92 \(3 in all\): value\(s\) \['#N/A'\] look like missing",
                 r"add them under missing")),
    Case("decimal_commas", ".csv", decimal_commas,
         errors=(r"column 'child_age', rows 2, 3, 4, 5, 6 and 195 more \(200 in all\): value\(s\)",
                 r'set read: \{decimal: ","\} in tiny\.yaml')),
    Case("ages_with_units", ".csv", ages_with_units,
         errors=(r"column 'child_age', rows 2, 3, 4, 5, 6 and 195 more", r"Export the number alone")),
    Case("free_text_ebp", ".csv", free_text_ebp,
         errors=(r"column 'ebp': 200 distinct text values in 200 sessions", r"Map them to a few categories under codes\.ebp")),
    Case("empty_column", ".csv", cells("child_age", range(len(BASE)), ""),
         errors=(r"column 'child_age': has no values: every cell is empty or a missing code",)),
    Case("header_only", ".csv", raw=header_only, errors=(r"s\.csv: the file has a header \(17 columns\) but no data rows",)),
    Case("excel_error_text", ".csv", cells("ebp_attitudes", [7], "#DIV/0!"),
         cohort={"models": {"m": "homework ~ ebp_attitudes + (1 | therapist/client)"}},
         errors=(r"column 'ebp_attitudes', rows 9 \(1 in all\): spreadsheet error value\(s\) \['#DIV/0!'\]",
                 r"Correct the formulas")),
    Case("duplicate_session", ".csv", cells("session_id", [20], BASE.session_id[21]),
         errors=(r"column 'session_id', rows 22, 23 \(2 in all\): duplicate session ids",)),
    Case("age_99", ".csv", cells("child_age", [30], "99"),
         errors=(r"column 'child_age', rows 32 \(1 in all\): value 99 looks like a missing-value code",)),
    Case("dates_as_ebp", ".csv", dates, errors=(r"column 'ebp': holds dates",)),
    Case("ebp_minus_99", ".csv", cells("ebp", [15], "-99"), cohort={"missing": ["NA", ""]},
         errors=(r"column 'ebp', rows 17 \(1 in all\): value\(s\) \['-99'\] among text categories",)),
    Case("null_text", ".csv", cells("licensed", [0, 1], "NULL"),
         errors=(r"column 'licensed', rows 2, 3 \(2 in all\): value\(s\) \['NULL'\] look like missing",)),
    Case("declared_binary_is_not", ".csv", cells("licensed", range(0, 200, 7), "2"),
         cohort={"variables": {"licensed": {"type": "binary", "level": "therapist"}}},
         errors=(r"column 'licensed', rows [\d, ]+.*are not 0 or 1, and the variable is binary",)),
    Case("two_mistakes_at_once", ".csv", lambda t: cells("licensed", [0], "NULL")(cells("child_age", [10], "twelve")(t)),
         errors=(r"column 'child_age', rows 12", r"column 'licensed', rows 2", r"2 problem\(s\)")),
    Case("any_of_without_name", ".csv", cohort={"outcome": {"any_of": ["hw_assigned"], "positive": [1], "negative": [0]}},
         errors=(r"outcome: with any_of, give the outcome a name",)),
    # --- CSV: quirks that must be read, and recorded ---
    Case("float_codes", ".csv", raw=floats, quirks=(r"column 'hw_assigned': whole numbers written as floats",),
         types={"licensed": ("binary", "therapist")}, fit=True),
    Case("outcome_column_only", ".csv",
         cohort={"outcome": {"column": "hw_assigned", "positive": [1], "negative": [0]},
                 "models": {"m": "hw_assigned ~ caregiver_present + (1 | therapist/client)"}},
         types={"hw_assigned": ("binary", "session")}, fit=True),
    Case("bom_crlf", ".csv", raw=bom_crlf, quirks=(r"byte-order mark", r"Windows line ends"),
         types={"child_age": ("numeric", "client")}),
    Case("latin1", ".csv", raw=latin1, quirks=(r"not UTF-8: read as cp1252",), types={"ebp": ("categorical", "client")}),
    Case("codes_case_space", ".csv", lambda t: t.assign(caregiver_present=t.caregiver_present.map({"Y": " y", "N": "n "})),
         quirks=(r"codes\.caregiver_present matched ignoring letter case",), types={"caregiver_present": ("binary", "session")},
         fit=True),
    Case("sessions_within_clients", ".csv", within_client_numbers,
         quirks=(r"session ids are numbered within each client: read together with 'client_id'",), fit=True),
    Case("decimal_commas_declared", ".csv", decimal_commas, cohort={"read": {"decimal": ","}},
         types={"child_age": ("numeric", "client")}),
    Case("plausible_99_warns", ".csv", scale_with_99, warnings=(r"value 99 is a common missing-value code",),
         types={"child_age": ("numeric", "session")}),
    Case("free_text_declared", ".csv", free_text_ebp, cohort={"variables": {"ebp": {"type": "categorical"}}, "reference": {}},
         types={"ebp": ("categorical", "session")}),
    Case("ordinal_declared", ".csv", age_for_ordinal,
         cohort={"variables": {"caregiver_present": {"type": "ordinal", "order": ["never", "often"]}}, "codes": {}},
         types={"caregiver_present": ("ordinal", "session")}),
    # --- TSV ---
    Case("tsv_declared_na", ".tsv", cells("child_age", [3], "NA"), types={"child_age": ("numeric", "client")}, fit=True),
    Case("tsv_unlisted_na", ".tsv", cells("child_age", [3], "N/A"), errors=(r"s\.tsv: column 'child_age', rows 5 \(1 in all\)",)),
    # --- Excel ---
    Case("xlsx_clean", ".xlsx", types={"ebp": ("categorical", "client"), "licensed": ("binary", "therapist")}, fit=True),
    Case("xlsx_error_cells", ".xlsx", cells("child_age", [8, 9], "#N/A"),
         errors=(r"s\.xlsx: column 'child_age', rows 10, 11 \(2 in all\)",)),
    Case("xlsx_header_twice", ".xlsx", lambda t: t.rename(columns={"hispanic_latinx": "licensed"}),
         errors=(r"s\.xlsx: the header names a column more than once: 'licensed'",)),
    Case("xlsx_word_in_numbers", ".xlsx", cells("child_age", [0], "unknown"),
         errors=(r"s\.xlsx: column 'child_age', rows 2 \(1 in all\): value\(s\) \['unknown'\] are not numbers",)),
    # --- SPSS ---
    Case("sav_labels", ".sav", types={"caregiver_present": ("binary", "session")}, fit=True),
    Case("sav_user_missing", ".sav", cells("child_age", [1, 2], -99), raw=None,
         cohort={"missing": []}, errors=(r"s\.sav: column 'child_age', rows 3, 4 \(2 in all\): value -99 looks like",)),
    Case("sav_declared_user_missing", ".sav", raw=spss_user_missing, cohort={"missing": []},
         types={"child_age": ("numeric", "client")}, fit=True),
    Case("sav_licensed_varies", ".sav", one_therapist_varies, errors=(r"s\.sav: column 'licensed'",)),
    # --- Stata ---
    Case("dta_labels", ".dta", types={"licensed": ("binary", "therapist")}, fit=True),
    Case("dta_ebp_numbers", ".dta", ebp_codes, types={"ebp": ("numeric", "client")}),
    Case("dta_minus_9", ".dta", cells("child_age", [12], -9), cohort={"missing": []},
         errors=(r"s\.dta: column 'child_age', rows 14 \(1 in all\): value -9 looks like a missing-value code",)),
]  # fmt: skip


def cohort_file(case: Case, data_file: str) -> dict:
    """The tiny cohort's file for a case (model with the variables the cases damage)."""
    cohort = copy.deepcopy(TINY_COHORT) | {"data": data_file, "models": {"m": MODEL}}
    cohort["engines"] = ["ml"]
    cohort.pop("bayes", None)
    for key, value in case.cohort.items():
        cohort[key] = value
    if case.name == "dta_ebp_numbers":
        cohort["reference"] = {}
    return cohort


def write_export(case: Case, path: Path) -> None:
    """The case's file, written as the program it comes from would write it."""
    table = case.change(BASE.copy())
    path.parent.mkdir(parents=True, exist_ok=True)
    if case.raw is not None:
        case.raw(table, path)
    elif case.suffix == ".csv":
        table.to_csv(path, index=False)
    elif case.suffix == ".tsv":
        table.to_csv(path, index=False, sep="\t")
    elif case.suffix == ".xlsx":
        table.to_excel(path, index=False)
    else:
        import pyreadstat

        coded = table.assign(caregiver_present=table.caregiver_present.map({"Y": 1, "N": 2}))
        labels = {"caregiver_present": {1: "Y", 2: "N"}}
        writer = pyreadstat.write_sav if case.suffix == ".sav" else pyreadstat.write_dta
        writer(coded, str(path), variable_value_labels=labels)
