"""Editing a package module reruns exactly the jobs that run it (code_deps.py), no others.

The workflow and the package are copied into the project folder, so that making a module
newer touches nothing the other tests use.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from .conftest import ROOT, TINY_COHORT, write_project
from .test_items import coding_cohort
from .test_workflow import SNAKEMAKE

pytestmark = pytest.mark.slow
# ml and gee only: the bayes fits would add a minute and show nothing more.
COHORT = TINY_COHORT | {"engines": ["ml", "gee"]}


def snakemake(folder: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [SNAKEMAKE, "-s", str(folder / "Snakefile"), "--directory", str(folder), "--cores", "2",
         *args],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip


def planned(folder: Path) -> dict[str, int]:
    """Jobs per rule that `snakemake -n` would run; {} when everything is up to date."""
    plan = snakemake(folder, "-n")
    assert plan.returncode == 0, plan.stderr[-3000:]
    if "Job stats:" not in plan.stdout:
        assert "Nothing to be done" in plan.stdout + plan.stderr, plan.stdout[-2000:]
        return {}
    table = plan.stdout.split("Job stats:", 1)[1].split("\ntotal", 1)[0]
    return {rule: int(n) for rule, n in re.findall(r"^(\w+)\s+(\d+)$", table, re.M)}


def fits_planned(folder: Path) -> set[str]:
    plan = snakemake(folder, "-n").stdout
    return set(re.findall(r"output: results/tiny/(\w+/\w+)/estimates\.csv", plan))


@pytest.fixture
def project(tmp_path, tiny_table, monkeypatch):
    return copy_and_run(tmp_path, {"tiny": COHORT}, tiny_table, monkeypatch)


def copy_and_run(tmp_path, cohorts, tiny_table, monkeypatch) -> Path:
    """A project with the workflow and package copied in, run once; nothing left to do."""
    write_project(tmp_path, cohorts, {"data/tiny/sessions.csv": tiny_table})
    shutil.copy(ROOT / "Snakefile", tmp_path / "Snakefile")
    shutil.copytree(ROOT / "workflow", tmp_path / "workflow")
    shutil.copytree(ROOT / "envs", tmp_path / "envs")  # the rules' conda env file
    shutil.copytree(
        ROOT / "src" / "sessionmlm",
        tmp_path / "src" / "sessionmlm",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    monkeypatch.setenv("SESSIONMLM_KEY", "test-key")
    run = snakemake(tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    assert planned(tmp_path) == {}
    return tmp_path


@contextmanager
def edited(folder: Path, module: str) -> Iterator[None]:
    """A package module changed as saving an edit does (newer, other content), then undone.

    Snakemake reruns a job for an input newer than its outputs whose checksum differs from the
    one recorded: touching a file is not enough, and undoing the edit undoes the rerun.
    """
    path = folder / "src" / "sessionmlm" / module
    original = path.read_text()
    path.write_text(original + "# edited\n")
    later = time.time() + 5  # certainly newer than every result, whatever the clock's grain
    os.utime(path, (later, later))
    try:
        yield
    finally:
        path.write_text(original)


def test_a_module_change_reruns_exactly_the_jobs_that_run_it(project):
    downstream = {"report": 1, "index": 1, "all": 1}  # rerun because their inputs are rewritten

    # Only the report imports report/posterior.py.
    with edited(project, "report/posterior.py"):
        assert planned(project) == downstream

    # An engine reruns its own fits (both models) and their manuscript tables, not the other
    # engine's, not ingest or check_model; the report uses every engine's wording, so it reruns.
    with edited(project, "engines/gee/fitting.py"):
        assert planned(project) == {"fit": 2, "model_table": 2} | downstream
        assert fits_planned(project) == {"null/gee", "small/gee"}

    # A module inside an engine's folder reruns that engine's fits only.
    with edited(project, "engines/ml/quadrature.py"):
        assert fits_planned(project) == {"null/ml", "small/ml"}

    # Modules the hand-kept lists missed: variance.py (ml, bayes), and describe's and
    # ingest's own code (tables.py reads the data files).
    with edited(project, "variance.py"):
        assert fits_planned(project) == {"null/ml", "small/ml"}
    with edited(project, "model_data.py"):
        assert planned(project)["check_model"] == 2
    with edited(project, "describe.py"):
        assert planned(project) == {"describe": 1, "table1": 1} | downstream
    with edited(project, "tables.py"):
        assert planned(project)["ingest"] == 1

    # The design simulations' own code is no cohort job's; an undone edit reruns nothing.
    with edited(project, "replicates.py"):
        assert planned(project) == {}
    assert planned(project) == {}


def test_a_settings_change_reruns_that_engines_fits_only(project):
    """Engine settings (bayes priors, ml points, gee covariance) are recorded with each fit.

    Snakemake leaves a typed settings param out of its record; the fit's `recorded` param
    (its repr) is what reruns it. Undoing the change reruns nothing.
    """
    config = project / "config" / "config.yaml"
    original = config.read_text()
    config.write_text(original + "ml:\n  points: 9\n")
    assert fits_planned(project) == {"null/ml", "small/ml"}
    config.write_text(original)
    assert planned(project) == {}
    cohort_file = project / "config" / "cohorts" / "tiny.yaml"
    cohort = cohort_file.read_text()
    cohort_file.write_text(cohort + "gee:\n  covariance: bias_reduced\n")
    assert fits_planned(project) == {"null/gee", "small/gee"}
    cohort_file.write_text(cohort)
    assert planned(project) == {}


def test_item_batches_rerun_for_their_engine_code_and_their_template(tmp_path, tiny_table,
                                                                     monkeypatch):  # fmt: skip
    """Batches rerun as their fits would: an engine's code reruns its batches, a template's
    formula its own check, fit and table batches, nothing of the other template's."""
    project = copy_and_run(tmp_path, {"tiny": coding_cohort()}, tiny_table, monkeypatch)
    downstream = {"report": 1, "index": 1, "all": 1}
    # Batches (batches.py): checks per template (1 bare, 2 small); fits and tables per engine,
    # then template: 1 ml-bare, 2 ml-small, 3 gee-bare, 4 gee-small. null is a named model.
    with edited(project, "engines/gee/fitting.py"):
        assert planned(project) == {"fit": 1, "model_table": 1, "fit_batch_3": 1,
                                    "fit_batch_4": 1, "model_table_batch_3": 1,
                                    "model_table_batch_4": 1} | downstream  # fmt: skip
    cohort_file = project / "config" / "cohorts" / "tiny.yaml"
    original = cohort_file.read_text()
    small = "item ~ caregiver_present + licensed + (1 | therapist/client)"
    assert small in original
    # The same predictors in another order: another formula, the same columns to ingest.
    cohort_file.write_text(
        original.replace(small, "item ~ licensed + caregiver_present + (1 | therapist/client)")
    )
    assert planned(project) == {"check_batch_2": 1, "fit_batch_2": 1, "fit_batch_4": 1,
                                "model_table_batch_2": 1, "model_table_batch_4": 1} | downstream  # fmt: skip
    cohort_file.write_text(original)
    assert planned(project) == {}
