"""Hostile and broken input: every malformed table or config ends in a clear error, never a
traceback and never a partial result (hypothesis generates the cases)."""

from __future__ import annotations

import copy
import json

import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from sessionmlm.config import ConfigError, load_config
from sessionmlm.ingest import ValidationError
from sessionmlm.privacy import Privacy
from sessionmlm.simulate import TrueParameters, simulate_cohort
from sessionmlm.stages.ingest import run_ingest
from sessionmlm.tables import TableError

from .conftest import TINY, TINY_COHORT, write_project

BASE = simulate_cohort(TINY, TrueParameters(), seed=3).head(120)
COLUMNS = list(BASE.columns)
PRIVACY = Privacy()
INJECTIONS = [
    "__import__('os').system('echo pwned')", "`rm -rf /`", "homework ~ __import__('os')",
    "homework ~ caregiver_present + eval('1') + (1 | therapist/client)",
    "homework ~ `caregiver_present` + (1 | therapist/client)", "homework ~ ; import os",
    "homework ~ caregiver_present + (1 | therapist/client) # ${HOME}", "", "~", "homework ~",
]  # fmt: skip
ODD = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["1e999", "-inf", "nan", "NaN", "1" * 400, "0x1F", "١٢", "ｙｅｓ", "\u202e1"]),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)


@st.composite
def broken_tables(draw) -> tuple[str, bytes]:
    """A damaged export of the tiny cohort: how, and the file's bytes."""
    table = BASE.copy().astype(str)
    how = draw(st.sampled_from(["cells", "ids", "header", "truncate", "drop", "empty", "bytes"]))
    if how == "cells":
        for _ in range(draw(st.integers(1, 6))):
            column = draw(st.sampled_from(COLUMNS))
            rows = draw(st.lists(st.integers(0, len(table) - 1), min_size=1, max_size=5))
            table.loc[rows, column] = draw(ODD)
    elif how == "ids":
        column = draw(st.sampled_from(["therapist_id", "client_id", "session_id"]))
        table[column] = [draw(st.text(min_size=1, max_size=8)) for _ in range(len(table))]
    elif how == "header":
        names = COLUMNS.copy()
        i, j = draw(st.integers(0, len(names) - 1)), draw(st.integers(0, len(names) - 1))
        names[i] = names[j] if draw(st.booleans()) else draw(st.text(max_size=10))
        table.columns = names  # duplicated or mangled header
    elif how == "drop":
        table = table.drop(columns=draw(st.sampled_from(COLUMNS)))
    data = table.to_csv(index=False).encode("utf-8")
    if how == "truncate":
        data = data[: draw(st.integers(0, len(data)))]
    elif how == "empty":
        data = b"" if draw(st.booleans()) else data.splitlines()[0] + b"\n"
    elif how == "bytes":
        cut = draw(st.integers(0, len(data)))
        data = data[:cut] + draw(st.binary(min_size=1, max_size=40)) + data[cut:]
    return how, data


@st.composite
def broken_configs(draw) -> dict:
    """The tiny cohort's config with one part replaced by something wrong."""
    cohort = copy.deepcopy(TINY_COHORT)
    what = draw(st.sampled_from(["formula", "levels", "outcome", "codes", "engines", "key",
                                 "settings", "reference", "missing"]))  # fmt: skip
    if what == "formula":
        text = draw(st.one_of(st.sampled_from(INJECTIONS), st.text(max_size=60)))
        cohort["models"] = {"m": text}
    elif what == "levels":
        cohort["levels"] = draw(st.one_of(st.text(max_size=5), st.lists(st.text(), max_size=3),
                                          st.dictionaries(st.text(max_size=6), st.text(max_size=6),
                                                          max_size=4)))  # fmt: skip
    elif what == "outcome":
        cohort["outcome"] = draw(st.one_of(st.none(), st.text(max_size=6), st.fixed_dictionaries(
            {"name": st.text(max_size=6), "column": st.text(max_size=8)})))  # fmt: skip
    elif what == "codes":
        cohort["codes"] = {draw(st.text(max_size=8)): {draw(ODD): draw(ODD)}}
    elif what == "engines":
        cohort["engines"] = draw(st.lists(st.text(max_size=6), max_size=3))
    elif what == "key":
        cohort[draw(st.text(min_size=1, max_size=10))] = draw(ODD)
    elif what == "settings":
        engine = draw(st.sampled_from(["bayes", "ml", "gee"]))
        cohort[engine] = {draw(st.text(max_size=8)): draw(st.one_of(ODD, st.integers()))}
    elif what == "reference":
        cohort["reference"] = {"ebp": draw(ODD)}
    else:
        cohort["missing"] = draw(st.lists(st.one_of(ODD, st.integers()), max_size=4))
    return cohort


def configured(folder, cohort):
    config = yaml.safe_load((folder / "config" / "config.yaml").read_text())
    config["cohorts_dir"] = str(folder / "config" / "cohorts")
    return load_config(config, workdir=folder)


def ingest_or_explain(folder, cohort_doc) -> str:
    """Run config checking and ingest as the workflow does; return how it ended.

    Only the errors meant for users may escape; each must name where the problem is, and a
    failed ingest must leave no staged table behind.
    """
    staged, validation = folder / "staged.parquet", folder / "validation.json"
    try:
        cohort = configured(folder, cohort_doc).cohorts["tiny"]
        run_ingest(cohort, PRIVACY, str(staged), str(validation))
    except ConfigError as error:
        # Every problem says which file to change: the cohort's or the global config.
        assert error.problems and all(
            "tiny.yaml" in p or "config.yaml" in p for p in error.problems
        ), error.problems
        return "config"
    except TableError as error:
        assert "sessions.csv" in str(error)
        return "table"
    except ValidationError:
        assert not staged.exists()
        record = json.loads(validation.read_text())
        assert not record["ok"] and record["problems"]
        assert all(p["file"] and p["column"] is not None and p["fix"] for p in record["problems"])
        return "validation"
    assert staged.exists() and json.loads(validation.read_text())["ok"]
    assert len(pd.read_parquet(staged)) > 0
    return "ok"


HOSTILE = settings(max_examples=300, deadline=None, database=None,
                   suppress_health_check=[HealthCheck.function_scoped_fixture,
                                          HealthCheck.too_slow])  # fmt: skip


@HOSTILE
@given(case=broken_tables())
def test_broken_tables_end_in_a_clear_error(tmp_path_factory, monkeypatch, case):
    how, data = case
    folder = tmp_path_factory.mktemp("t")
    write_project(folder, {"tiny": TINY_COHORT}, {})
    (folder / "data" / "tiny").mkdir(parents=True, exist_ok=True)
    (folder / "data" / "tiny" / "sessions.csv").write_bytes(data)
    monkeypatch.chdir(folder)
    monkeypatch.setenv("SESSIONMLM_KEY", "k")
    event(f"{how}: {ingest_or_explain(folder, TINY_COHORT)}")


@settings(max_examples=250, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])  # fmt: skip
@given(cohort=broken_configs())
def test_broken_configs_end_in_a_clear_error(tmp_path_factory, monkeypatch, cohort):
    folder = tmp_path_factory.mktemp("c")
    write_project(folder, {"tiny": cohort}, {"data/tiny/sessions.csv": BASE})
    monkeypatch.chdir(folder)
    monkeypatch.setenv("SESSIONMLM_KEY", "k")
    event(ingest_or_explain(folder, cohort))


@pytest.mark.parametrize("formula", INJECTIONS)
def test_formula_injection_is_refused_at_config_time(tmp_path, monkeypatch, formula):
    cohort = copy.deepcopy(TINY_COHORT) | {"models": {"m": formula}}
    write_project(tmp_path, {"tiny": cohort}, {"data/tiny/sessions.csv": BASE})
    monkeypatch.setenv("SESSIONMLM_KEY", "k")
    with pytest.raises(ConfigError, match="models.m"):
        configured(tmp_path, cohort)
