"""The engine seam: nothing outside engines/ names an engine, and a fourth engine plugs in.

The fourth engine (tests/flat_logistic_engine.py, ordinary logistic regression ignoring the
levels) lives only in the tests: it reaches the workflow, the report, the index and pooling
through the registry, with no change outside its own file.
"""

import copy
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sessionmlm import engines
from sessionmlm.config import load_config
from sessionmlm.pooling import pooling_engine
from sessionmlm.report import load_fit, render_cohort_report
from sessionmlm.simulate import TrueParameters, simulate_cohort
from sessionmlm.stages.describe import run_describe
from sessionmlm.stages.fit import run_fit
from sessionmlm.stages.ingest import run_ingest

from . import flat_logistic_engine
from .conftest import ROOT, TINY, TINY_COHORT, write_project

# The same check as the project's stop hook: an engine's name in quotes.
ENGINE_LITERAL = re.compile(r"[\"'](bayes|ml|gee)[\"']")
PLUGIN = "tests.flat_logistic_engine"
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))


def engine_literals(root: Path) -> list[str]:
    """Every quoted engine name in src/sessionmlm outside engines/ and in workflow/ (.py, .smk)."""
    package = root / "src" / "sessionmlm"
    files = [p for p in package.rglob("*.py") if (package / "engines") not in p.parents]
    files += [p for p in (root / "workflow").rglob("*") if p.suffix in (".py", ".smk")]
    return [
        f"{path.relative_to(root)}:{number}: {found.group(0)}"
        for path in sorted(files)
        for number, line in enumerate(path.read_text().splitlines(), 1)
        for found in ENGINE_LITERAL.finditer(line)
    ]


def test_no_engine_is_named_outside_engines():
    assert engine_literals(ROOT) == []


def test_the_literal_check_finds_names_where_they_are_not_allowed(tmp_path):
    (tmp_path / "src" / "sessionmlm" / "engines").mkdir(parents=True)
    (tmp_path / "workflow" / "rules").mkdir(parents=True)
    (tmp_path / "src" / "sessionmlm" / "engines" / "ml.py").write_text('NAME = "ml"\n')
    (tmp_path / "src" / "sessionmlm" / "report.py").write_text("if engine == 'gee':\n    pass\n")
    (tmp_path / "workflow" / "rules" / "fit.smk").write_text('THREADS = {"bayes": 4}\n')
    assert engine_literals(tmp_path) == [
        "src/sessionmlm/report.py:1: 'gee'",
        'workflow/rules/fit.smk:1: "bayes"',
    ]


def plugin_environment() -> dict[str, str]:
    """Jobs run this checkout's package and find the fourth engine in tests/."""
    return os.environ | {
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
        "SESSIONMLM_ENGINES": PLUGIN,
        "SESSIONMLM_KEY": "test-key",
    }


def test_an_engine_module_named_in_the_environment_is_registered():
    code = "from sessionmlm import engines; print(engines.engine_names())"
    run = subprocess.run([sys.executable, "-c", code], env=plugin_environment(),
                         capture_output=True, text=True)  # fmt: skip
    assert run.stdout.strip() == "['bayes', 'flat', 'gee', 'ml']", run.stderr
    wrong = plugin_environment() | {"SESSIONMLM_ENGINES": "tests.conftest"}
    run = subprocess.run([sys.executable, "-c", code], env=wrong, capture_output=True, text=True)
    assert run.returncode != 0
    assert "SESSIONMLM_ENGINES names module 'tests.conftest', which defines no ENGINE" in run.stderr


@pytest.fixture
def flat(monkeypatch):
    """The fourth engine, registered for this test only."""
    monkeypatch.setattr(engines, "_REGISTRY", dict(engines.registered()))
    return engines.register(flat_logistic_engine.ENGINE, PLUGIN)


def flat_cohort(name: str) -> dict:
    cohort = copy.deepcopy(TINY_COHORT) | {"name": name, "data": f"data/{name}/sessions.csv"}
    del cohort["bayes"]
    return cohort | {"engines": ["flat"], "flat": {"max_iter": 30}}


def test_a_registered_engine_is_checked_typed_ranked_and_refused_by_name(
    flat, tmp_path, monkeypatch
):
    table = simulate_cohort(TINY, TrueParameters(), seed=3)
    write_project(tmp_path, {"one": flat_cohort("one")}, {"data/one/sessions.csv": table})
    monkeypatch.chdir(tmp_path)
    config = {"cohorts_dir": "config/cohorts", "meta_analysis": {"engine": "flat"}}
    loaded = load_config(config, workdir=tmp_path)
    assert loaded.meta_analysis["engine"] == "flat"  # an engine kept outside may be pooled
    cohort = loaded.cohorts["one"]
    assert cohort.engine_settings == {"flat": flat_logistic_engine.FlatSettings(max_iter=30)}
    assert engines.by_rank(["gee", "flat", "bayes", "ml"]) == ["ml", "bayes", "gee", "flat"]
    bad = flat_cohort("one") | {"flat": {"max_iters": 30}}
    write_project(tmp_path, {"one": bad}, {})
    with pytest.raises(
        ValueError, match=r"one.yaml: flat: unknown flat setting\(s\) \['max_iters'\]"
    ):
        load_config(config, workdir=tmp_path)


def test_a_fourth_engine_fits_reports_and_pools_in_process(flat, tmp_path, monkeypatch):
    tables = {f"data/{n}/sessions.csv": simulate_cohort(TINY, TrueParameters(), seed=s)
              for n, s in (("one", 3), ("two", 4))}  # fmt: skip
    write_project(tmp_path, {n: flat_cohort(n) for n in ("one", "two")}, tables)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SESSIONMLM_KEY", "test-key")
    loaded = load_config({"cohorts_dir": "config/cohorts"}, workdir=tmp_path)
    cohort = loaded.cohorts["one"]
    results = tmp_path / "results" / "one"
    results.mkdir(parents=True)
    privacy = loaded.privacy
    run_ingest(cohort, privacy, str(results / "sessions.parquet"), str(results / "v.json"))
    run_describe(cohort, privacy, str(results / "sessions.parquet"), str(results / "d.json"))
    for model, spec in cohort.models.items():
        folder = results / model / "flat"
        folder.mkdir(parents=True)
        outputs = {k: str(folder / f) for k, f in
                   [("estimates", "estimates.csv"), ("variance", "variance.csv"),
                    ("thresholds", "thresholds.csv"), ("fit", "fit.json")]}  # fmt: skip
        run_fit("one", spec, cohort.reference, "flat", cohort.engine_settings["flat"],
                str(results / "sessions.parquet"), outputs, threads=1, privacy=privacy,
                levels=tuple(cohort.levels))  # fmt: skip
    fits = [load_fit(results, m, "flat") for m in cohort.models]
    assert fits[-1].info["converged"] and "predicted" not in fits[-1].info
    # Its after-fit step's keys are merged into fit.json.
    assert 0 < fits[-1].info["base_rate"] < 1
    desc = json.loads((results / "d.json").read_text())
    html, tables_out = render_cohort_report(cohort, desc, {"input_hash": "x"}, fits)
    for text in ["engine <code>flat</code>", "Priors: none (ordinary logistic regression)",
                 "ordinary logistic-regression estimates with naive 95% Wald intervals",
                 "sessions are treated as independent", "Newton iterations",
                 "Odds ratios are population-averaged"]:  # fmt: skip
        assert text in html, text
    assert tables_out["predicted"].empty and tables_out["loo"].empty
    assert pooling_engine(loaded.cohorts) == "flat"


@pytest.mark.slow
def test_a_fourth_engine_runs_through_the_workflow_report_index_and_pooling(tmp_path):
    # Nothing outside the engine's own file names it.
    named = re.compile(r"[\"']flat[\"']")
    assert not [p for folder in ("src", "workflow") for p in (ROOT / folder).rglob("*")
                if p.suffix in (".py", ".smk", ".json", ".yaml") and named.search(p.read_text())]  # fmt: skip
    tables = {f"data/{n}/sessions.csv": simulate_cohort(TINY, TrueParameters(), seed=s)
              for n, s in (("one", 3), ("two", 4))}  # fmt: skip
    write_project(tmp_path, {n: flat_cohort(n) for n in ("one", "two")}, tables)
    run = subprocess.run(
        [SNAKEMAKE, "-s", str(ROOT / "Snakefile"), "--directory", str(tmp_path), "--cores", "2"],
        capture_output=True, text=True, timeout=900, env=plugin_environment(),
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    results = tmp_path / "results"
    for name in ("one", "two"):
        for model in ("null", "small"):
            info = json.loads((results / name / model / "flat" / "fit.json").read_text())
            assert info["engine"] == "flat" and info["converged"]
            assert info["settings"] == {"max_iter": 30, "tolerance": 1e-10}
        report = (results / name / "report.html").read_text()
        assert "engine <code>flat</code>" in report and "Newton iterations" in report
    index = (results / "index.html").read_text()
    assert "fitted with the <code>flat</code> engine" in index
    pooled = pd.read_csv(results / "cohort_comparison.csv", keep_default_na=False)
    assert set(pooled.engine) == {"flat"}
    assert set(pooled[pooled.cohort == "pooled (random effects)"].term) == {
        "caregiver_present", "child_age", "licensed"
    }  # fmt: skip


def test_settings_of_an_engine_kept_outside_must_be_a_mapping(flat, tmp_path):
    cohort = flat_cohort("one") | {"flat": 30, "engines": ["flat", "data"]}
    table = simulate_cohort(TINY, TrueParameters(), seed=3)
    write_project(tmp_path, {"one": cohort}, {"data/one/sessions.csv": table})
    with pytest.raises(ValueError) as error:
        load_config({"cohorts_dir": str(tmp_path / "config" / "cohorts")}, workdir=tmp_path)
    assert "one.yaml: flat: settings must be a mapping, not 30." in str(error.value)
    assert "unknown engine 'data'. Valid engines: bayes, flat, gee, ml." in str(error.value)
