"""Every supported file format reads to the same text table and the same canonical cohort."""

from __future__ import annotations

import copy
import re

import pandas as pd
import pytest
import yaml

from sessionmlm.config import ConfigError, load_config
from sessionmlm.ingest import ingest
from sessionmlm.privacy import Privacy
from sessionmlm.stages.job import user_errors
from sessionmlm.tables import ReadOptions, TableError, read_columns, read_table

from .conftest import TINY_COHORT, write_project

PRIVACY = Privacy()


def write_as(table: pd.DataFrame, path, **kwargs):
    """Write table the way another program would export it, by the path's extension."""
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix
    if suffix == ".csv":
        table.to_csv(path, index=False, **kwargs)
    elif suffix == ".tsv":
        table.to_csv(path, index=False, sep="\t")
    elif suffix == ".parquet":
        table.to_parquet(path, index=False)
    elif suffix == ".xlsx":
        with pd.ExcelWriter(path) as writer:
            pd.DataFrame({"note": ["cover sheet"]}).to_excel(writer, sheet_name="about")
            table.to_excel(writer, sheet_name="coded", index=False)
    elif suffix in (".sav", ".dta"):
        import pyreadstat

        # As SPSS and Stata store it: caregiver presence as numbers 1/2 with value labels.
        coded = table.assign(caregiver_present=table.caregiver_present.map({"Y": 1, "N": 2}))
        labels = {"caregiver_present": {1: "Y", 2: "N"}}
        writer = pyreadstat.write_sav if suffix == ".sav" else pyreadstat.write_dta
        writer(coded, str(path), variable_value_labels=labels)
    return path


def cohort_with(folder, table, data_file, read=None):
    cohort = copy.deepcopy(TINY_COHORT) | {"data": data_file}
    if read:
        cohort["read"] = read
    write_project(folder, {"tiny": cohort}, {})
    write_as(table, folder / data_file)
    config = yaml.safe_load((folder / "config" / "config.yaml").read_text())
    config["cohorts_dir"] = str(folder / "config" / "cohorts")
    return load_config(config, workdir=folder).cohorts["tiny"]


@pytest.mark.parametrize(
    "data_file, read",
    [
        ("data/s.tsv", None),
        ("data/s.parquet", None),
        ("data/s.xlsx", {"sheet": "coded"}),
        ("data/s.sav", None),
        ("data/s.dta", None),
    ],
)
def test_each_format_gives_the_same_canonical_cohort(
    tmp_path, tiny_table, monkeypatch, data_file, read
):
    monkeypatch.setenv("SESSIONMLM_KEY", "k")
    reference, check = ingest(cohort_with(tmp_path / "csv", tiny_table, "data/s.csv"), PRIVACY)
    assert check.ok
    table, check = ingest(cohort_with(tmp_path / "other", tiny_table, data_file, read), PRIVACY)
    assert check.ok, [str(p) for p in check.problems]
    pd.testing.assert_frame_equal(table, reference)


def test_semicolon_latin1_export_is_detected(tmp_path, tiny_table):
    # A European spreadsheet export: semicolons, decimal values, an accented category.
    table = tiny_table.assign(ebp=tiny_table.ebp.replace("MAP", "Niños MAP"))
    path = write_as(table, tmp_path / "s.csv", sep=";", encoding="latin-1")
    text = read_table(path)
    assert list(text.columns) == list(table.columns)
    assert "Niños MAP" in set(text.ebp)
    assert text.ebp_attitudes.iloc[0] == str(table.ebp_attitudes.iloc[0])
    # Code pages cannot be told apart by one letter: the cohort file can say which it is.
    greek = read_table(path, ReadOptions(encoding="iso-8859-7"))
    assert "Niρos MAP" in set(greek.ebp)


def test_numbers_are_text_as_a_csv_would_hold_them(tmp_path):
    frame = pd.DataFrame({"id": ["a", "b"], "n": [1.0, None], "x": [0.25, 2.0],
                          "flag": [True, False], "big": [1e300, float("inf")]})  # fmt: skip
    path = tmp_path / "t.parquet"
    frame.to_parquet(path)
    text = read_table(path)
    assert text.to_dict("list") == {
        "id": ["a", "b"], "n": ["1", ""], "x": ["0.25", "2"], "flag": ["1", "0"],
        "big": ["1e+300", "inf"],
    }  # fmt: skip
    assert read_columns(path) == ["id", "n", "x", "flag", "big"]


def test_spss_codes_without_value_labels(tmp_path, tiny_table):
    path = write_as(tiny_table, tmp_path / "s.sav")
    assert set(read_table(path).caregiver_present) == {"Y", "N"}
    raw = read_table(path, ReadOptions(value_labels=False))
    assert set(raw.caregiver_present) == {"1", "2"}


def test_unreadable_files_are_named_with_what_to_do(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(TableError, match="empty.csv: the file is empty"):
        read_table(empty)
    with pytest.raises(TableError, match=r"cannot read \.json; supported: \.csv, \.tsv"):
        read_table(tmp_path / "s.json")
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"not a spreadsheet")
    with pytest.raises(TableError, match="broken.xlsx: cannot be read as .xlsx"):
        read_table(broken)


@pytest.mark.parametrize("suffix", [".sav", ".dta", ".xlsx", ".parquet"])
def test_a_file_cut_short_is_named_with_what_to_do(tmp_path, tiny_table, suffix):
    """An interrupted copy: the project's TableError naming the file, not the reader's own."""
    path = write_as(tiny_table, tmp_path / f"s{suffix}")
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(TableError) as error:
        read_table(path)
    assert str(error.value).startswith(f"s{suffix}: cannot be read as {suffix}: ")
    assert str(error.value).endswith("export it again.") and str(tmp_path) not in str(error.value)


@pytest.mark.parametrize(
    "suffix, when",
    # Stata writes its value labels after the data, so a cut file fails on its first row; an
    # SPSS file's header and first rows read, and reading every row finds it short.
    [(".dta", "config"), (".sav", "ingest")],
)
def test_a_damaged_spss_or_stata_file_stops_plainly(
    tmp_path, tiny_table, monkeypatch, suffix, when
):
    monkeypatch.setenv("SESSIONMLM_KEY", "k")
    cohort = cohort_with(tmp_path, tiny_table, f"data/s{suffix}")  # the intact file loads
    data = tmp_path / "data" / f"s{suffix}"
    data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])
    config = yaml.safe_load((tmp_path / "config" / "config.yaml").read_text())
    config["cohorts_dir"] = str(tmp_path / "config" / "cohorts")
    said = re.escape(f"s{suffix}: cannot be read as {suffix}: ") + ".*export it again"
    if when == "config":
        with pytest.raises(ConfigError, match=f"data: {said}"):
            load_config(config, workdir=tmp_path)
        return
    assert load_config(config, workdir=tmp_path).cohorts["tiny"] == cohort
    with pytest.raises(SystemExit, match=f"^sessionmlm: {said}"):
        with user_errors():  # what the ingest job does: the message, no traceback
            ingest(cohort, PRIVACY)


def test_a_wrong_sheet_or_format_stops_at_config_time(tmp_path, tiny_table):
    with pytest.raises(ConfigError, match="data: s.xlsx: cannot be read as .xlsx"):
        cohort_with(tmp_path, tiny_table, "data/s.xlsx", read={"sheet": "no such sheet"})


CLIENT_COLUMNS = ["client_id", "therapist_id", "ebp", "child_age"]
THERAPIST_COLUMNS = ["therapist_id", "licensed", "hispanic_latinx", "ebp_attitudes",
                     "emotional_exhaustion", "direct_hours", "n_ebps_trained"]  # fmt: skip


def split_by_level(table: pd.DataFrame):
    """The way coding projects store a cohort: a table per level, joined on ids."""
    sessions = table.drop(columns=CLIENT_COLUMNS[1:] + THERAPIST_COLUMNS[1:])
    clients = table[CLIENT_COLUMNS].drop_duplicates()
    therapists = table[THERAPIST_COLUMNS].drop_duplicates()
    return sessions, clients, therapists


def separate_cohort(folder, sessions, clients, therapists, codes=None):
    files = {"sessions": "data/sessions.csv", "clients": "data/clients.xlsx",
             "therapists": "data/therapists.parquet"}  # fmt: skip
    cohort = copy.deepcopy(TINY_COHORT) | {"data": files}
    cohort["codes"] |= codes or {}
    write_project(folder, {"tiny": cohort}, {})
    for name, frame in [("sessions", sessions), ("clients", clients), ("therapists", therapists)]:
        path = folder / files[name]
        if path.suffix == ".xlsx":
            path.parent.mkdir(parents=True, exist_ok=True)
            frame.to_excel(path, index=False)
        else:
            write_as(frame, path)
    config = yaml.safe_load((folder / "config" / "config.yaml").read_text())
    config["cohorts_dir"] = str(folder / "config" / "cohorts")
    return load_config(config, workdir=folder).cohorts["tiny"]


def test_separate_level_tables_join_to_the_same_cohort(tmp_path, tiny_table, monkeypatch):
    monkeypatch.setenv("SESSIONMLM_KEY", "k")
    reference, _ = ingest(cohort_with(tmp_path / "one", tiny_table, "data/s.csv"), PRIVACY)
    cohort = separate_cohort(tmp_path / "three", *split_by_level(tiny_table))
    assert [p.name for p in cohort.data_files] == ["sessions.csv", "clients.xlsx",
                                                    "therapists.parquet"]  # fmt: skip
    table, check = ingest(cohort, PRIVACY)
    assert check.ok, [str(p) for p in check.problems]
    pd.testing.assert_frame_equal(table, reference)


def test_join_problems_point_at_the_file_and_line_to_fix(tmp_path, tiny_table, monkeypatch):
    monkeypatch.setenv("SESSIONMLM_KEY", "k")
    sessions, clients, therapists = split_by_level(tiny_table)
    clients = clients[clients.client_id != "C00002"]  # its session loses its client row
    therapists = pd.concat([therapists, therapists.iloc[[4]]]).astype({"licensed": str})
    therapists.iloc[1, therapists.columns.get_loc("licensed")] = (
        "maybe"  # a therapist twice, a bad value
    )
    codes = {"licensed": {"1": 1, "0": 0}}
    cohort = separate_cohort(tmp_path, sessions, clients, therapists, codes)
    _, check = ingest(cohort, PRIVACY)
    text = [str(p) for p in check.problems]
    assert any(t.startswith("sessions.csv: column 'client_id', rows 4 (1 in all)") and
               "client ids with no row in clients.xlsx" in t for t in text), text  # fmt: skip
    assert any(t.startswith("therapists.parquet: column 'therapist_id', rows 6, 32 (2 in all)")
               and "duplicate therapist ids" in t for t in text), text  # fmt: skip
    # The bad value is one therapist row (line 3 of its file), not each of its sessions.
    assert any(t.startswith("therapists.parquet: column 'licensed', rows 3 (1 in all)")
               for t in text), text  # fmt: skip


def test_a_level_table_without_its_id_is_a_config_error(tmp_path, tiny_table):
    sessions, clients, therapists = split_by_level(tiny_table)
    with pytest.raises(ConfigError, match=r"data.therapists: therapists.parquet lacks the "
                                          r"therapist id column 'therapist_id'"):  # fmt: skip
        separate_cohort(tmp_path, sessions, clients, therapists.drop(columns="therapist_id"))
