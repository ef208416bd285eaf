"""Realistic broken and quirky exports (tests/export_corpus.py): each ends in its expected result.

A failure names the file, the column, the rows and the fix, every problem at once; a success
reads, records what it handled, types every model variable as expected and, where asked, fits.
"""

from __future__ import annotations

import re

import pytest
import yaml

from sessionmlm import engines
from sessionmlm.config import ConfigError, load_config
from sessionmlm.formula import parse_formula
from sessionmlm.ingest import ValidationError, ingest
from sessionmlm.model_data import build_model_data, model_problems
from sessionmlm.privacy import Privacy

from .conftest import write_project
from .export_corpus import BASE, CASES, Case, cohort_file, write_export

PRIVACY = Privacy()  # the defaults
ML = engines.get("ml")


def run_case(case: Case, folder):
    """Load the case's cohort and ingest it: (error text or None, cohort, table, validation)."""
    data_file = f"data/s{case.suffix}"
    write_project(folder, {"tiny": cohort_file(case, data_file)}, {})
    write_export(case, folder / data_file)
    config = yaml.safe_load((folder / "config" / "config.yaml").read_text())
    config["cohorts_dir"] = str(folder / "config" / "cohorts")
    try:  # the only cohort: its problems stop the run at config time
        loaded = load_config(config, workdir=folder)
    except ConfigError as error:
        return str(error), None, None, None
    cohort = loaded.cohorts["tiny"]
    table, check = ingest(cohort, PRIVACY)
    if not check.ok:
        return str(ValidationError(check)), cohort, table, check
    return None, cohort, table, check


def test_the_corpus_is_broad():
    formats = {c.suffix for c in CASES}
    assert len(CASES) >= 30 and formats == {".csv", ".tsv", ".xlsx", ".sav", ".dta"}
    assert sum(not c.errors for c in CASES) >= 10  # some must succeed


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_each_export_ends_as_expected(case, tmp_path, monkeypatch):
    monkeypatch.setenv("SESSIONMLM_KEY", "corpus")
    error, cohort, table, check = run_case(case, tmp_path)
    if case.errors:
        assert error is not None, f"{case.name}: read without complaint"
        for pattern in case.errors:
            assert re.search(pattern, error), f"{case.name}: {pattern!r} not in:\n{error}"
        assert "Traceback" not in error
        if check is not None:  # validation.json and the job's message: no machine paths
            assert str(tmp_path) not in error and str(tmp_path) not in str(check.to_dict())
        return
    assert error is None, f"{case.name}: {error}"
    record = check.to_dict()
    quirks = "\n".join(q["text"] for q in record["quirks"])
    for pattern in case.quirks:
        assert re.search(pattern, quirks), f"{case.name}: quirk {pattern!r} not in:\n{quirks}"
    warnings = "\n".join(w["text"] for w in record["warnings"])
    for pattern in case.warnings:
        assert re.search(pattern, warnings), f"{case.name}: {pattern!r} not in:\n{warnings}"
    # Every model variable has a type and a level, declared or marked inferred.
    spec = next(iter(cohort.models.values()))
    for name in [spec.outcome, *spec.predictors]:
        variable = record["variables"][name]
        assert variable["type"] in ("binary", "numeric", "ordinal", "categorical")
        assert variable["level"] in cohort.levels
    for name, (kind, level) in case.types.items():
        assert (record["variables"][name]["type"], record["variables"][name]["level"]) == (
            kind,
            level,
        )
    assert table.attrs["variables"] == record["variables"]
    if case.fit:
        assert model_problems(table, spec, cohort.reference) == []
        result = ML.fit(build_model_data(table, spec, cohort.reference), ML.settings({}))
        assert result.converged, result.info["status"]
        assert len(result.estimates) == 1 + len(
            build_model_data(table, spec, cohort.reference).terms
        )


def test_a_model_with_a_level_emptied_by_listwise_deletion_is_named_before_any_fit():
    table = BASE.assign(
        homework=BASE.hw_assigned.astype(float), child_age=BASE.child_age.astype(float)
    )
    table = table.rename(columns={"therapist_id": "therapist", "client_id": "client"})
    table.loc[table.ebp == "Seeking Safety", "child_age"] = None  # every such session lacks an age
    table.loc[table.index[:3], "licensed"] = None
    spec = parse_formula("homework ~ child_age + ebp + (1 | therapist/client)", "full")
    problems = model_problems(table, spec, {"ebp": "MAP"})
    assert problems == [
        f"model 'full': in its {len(table) - 7} complete sessions (7 dropped for missing values), "
        "level(s) ['Seeking Safety'] of 'ebp' have no session; merge them with another level "
        "under codes.ebp, or fill in the missing values."
    ]
    constant = table.assign(licensed=1.0)
    spec = parse_formula("homework ~ licensed + (1 | therapist/client)", "lic")
    assert "'licensed' takes the single value 1" in model_problems(constant, spec, {})[0]
    spec = parse_formula("homework ~ ebp + (1 | therapist/client)", "ref")
    gone = table.assign(ebp=table.ebp.where(table.ebp != "MAP"))
    assert (
        "the reference level 'MAP' of 'ebp' has no session"
        in model_problems(gone, spec, {"ebp": "MAP"})[0]
    )
