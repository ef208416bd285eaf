"""The workflow on a real SLURM: two cohorts through snakemake-executor-plugin-slurm.

tests/slurm/local_slurm.sh installs Debian's slurm-wlm and munge when they are missing and
starts a single-node cluster on this machine (root needed); the fixture stops it afterwards
unless it was already running. Every job must go through SLURM, and the results must equal
those of a local run with the same seeds.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest

from sessionmlm.simulate import TrueParameters, simulate_cohort

from .conftest import ROOT, TINY, TINY_COHORT, write_project
from .test_items import coding_cohort
from .test_workflow import SNAKEMAKE

pytestmark = pytest.mark.slow
SCRIPT = ROOT / "tests" / "slurm" / "local_slurm.sh"
# This cluster has no accounting database: the plugin polls squeue (sacct would hang), and
# checks often because the jobs are short; it keeps SLURM's log of every job as evidence.
LOCAL_CLUSTER = ["--default-resources", "slurm_partition=debug",
                 "--slurm-status-command", "squeue", "--slurm-init-seconds-before-status-checks",
                 "1", "--seconds-between-status-checks", "2", "--jobs", "4",
                 "--slurm-keep-successful-logs"]  # fmt: skip


@pytest.fixture(scope="module")
def slurm():
    if os.geteuid() != 0:
        pytest.fail("the SLURM test starts a cluster and needs root (CI runs as root)")
    was_running = (
        subprocess.run(["bash", str(SCRIPT), "status"], capture_output=True).returncode == 0
    )
    started = subprocess.run(
        ["bash", str(SCRIPT), "start"], capture_output=True, text=True, timeout=900
    )
    assert started.returncode == 0, started.stderr[-6000:]
    yield
    if not was_running:
        stopped = subprocess.run(
            ["bash", str(SCRIPT), "stop"], capture_output=True, text=True, timeout=300
        )
        assert stopped.returncode == 0, stopped.stderr[-3000:]


# North runs all three engines (bayes uses 2 CPUs), south ml and gee. Coded has three items
# fitted by two templates (tests/test_items.py) with ml and gee: its item models go in batches.
ENGINES = {"north": ["bayes", "ml", "gee"], "south": ["ml", "gee"]}
CODED = coding_cohort(name="coded", data="data/coded/sessions.csv")


def project(folder: Path) -> Path:
    """Three cohorts: two with ENGINES and the tiny cohort's models, and CODED."""
    tables = {f"data/{name}/sessions.csv": simulate_cohort(TINY, TrueParameters(), seed=seed)
              for seed, name in [(11, "north"), (12, "south"), (13, "coded")]}  # fmt: skip
    cohorts = {
        name: TINY_COHORT | {"name": name, "data": f"data/{name}/sessions.csv", "engines": engines}
        for name, engines in ENGINES.items()
    }
    return write_project(folder, cohorts | {"coded": CODED}, tables)


def expected_jobs() -> dict[str, int]:
    """Jobs per rule of project(): five per cohort, a check per model, a fit and a manuscript
    table per model and engine, index and all; coded's item models are checked in a job per
    template (2), and fitted and tabled in a job per template and engine (ml's batch_items and
    gee's exceed its 3 items): 4 fit batches, 4 table batches."""
    cohorts = len(ENGINES) + 1
    per_cohort = {rule: cohorts for rule in ("ingest", "accept", "describe", "table1", "report")}
    checks = len(TINY_COHORT["models"]) * len(ENGINES) + 1  # coded: its one named model
    fits = sum(len(TINY_COHORT["models"]) * len(engines) for engines in ENGINES.values()) + 2
    batches = {f"{rule}_{n}": 1 for rule, count in [("check_batch", 2), ("fit_batch", 4),
                                                    ("model_table_batch", 4)]
               for n in range(1, count + 1)}  # fmt: skip
    return per_cohort | batches | {"check_model": checks, "fit": fits, "model_table": fits,
                                   "index": 1, "all": 1}  # fmt: skip


def job_stats(log: str) -> dict[str, int]:
    """Snakemake's first "Job stats" table: jobs per rule."""
    table = log.split("Job stats:", 1)[1].split("\ntotal", 1)[0]
    return {rule: int(n) for rule, n in re.findall(r"^(\w+)\s+(\d+)$", table, re.M)}


def run(folder: Path, profile: str, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [SNAKEMAKE, "-s", str(ROOT / "Snakefile"), "--directory", str(folder),
         "--profile", str(ROOT / "workflow" / "profiles" / profile), *extra],
        capture_output=True, text=True, timeout=1800,
    )  # fmt: skip


def outputs(folder: Path) -> dict[str, object]:
    """Every result a user reads, minus what must differ between runs (times, host)."""
    found = {}
    for path in sorted((folder / "results").rglob("*")):
        name = str(path.relative_to(folder))
        if path.suffix == ".csv":
            found[name] = path.read_bytes()
        elif path.name == "fit.json":
            info = json.loads(path.read_text())
            info.pop("wall_seconds")
            if "summary" in info:  # ml: statsmodels' summary prints the date and time
                info["summary"] = [
                    x for x in info["summary"] if not x.startswith(("Date:", "Time:"))
                ]
            if "attempts" in info:  # bayes: per-attempt timings
                info["attempts"] = [{k: v for k, v in a.items() if "seconds" not in k}
                                    for a in info["attempts"]]  # fmt: skip
            found[name] = info
        elif path.suffix == ".parquet":
            found[name] = pd.read_parquet(path)
        elif path.name == "descriptives.json":
            found[name] = json.loads(path.read_text())
    return found


def test_two_cohorts_through_slurm_equal_a_local_run(slurm, tmp_path, monkeypatch):
    monkeypatch.setenv("SESSIONMLM_KEY", "test-key")
    local = project(tmp_path / "local")
    done = run(local, "default", "--cores", "2")
    assert done.returncode == 0, done.stderr[-3000:]

    cluster = project(tmp_path / "cluster")
    start = time.perf_counter()
    done = run(cluster, "slurm", *LOCAL_CLUSTER)
    print(f"the SLURM run took {time.perf_counter() - start:.0f} s")  # pytest -s shows it
    log = done.stdout + done.stderr
    assert done.returncode == 0, log[-4000:]

    # Every job but the target rule `all` (no action, always local) went through sbatch.
    expected = expected_jobs()
    assert job_stats(log) == expected, log[-4000:]
    total = int(re.search(r"^total\s+(\d+)$", log, re.M).group(1))
    submitted = re.findall(r"has been submitted with SLURM jobid (\d+) \(log: (.+?)\)", log)
    assert len(submitted) == total - 1 and total == sum(expected.values()), log[-4000:]
    assert re.findall(r"^localrule (\w+):", log, re.M) == ["all"]
    for _, slurm_log in submitted:
        assert Path(slurm_log).is_file(), slurm_log  # SLURM's own log of the job
    # The bayes fits asked SLURM for one CPU per chain.
    assert re.search(r"rule fit:\n(?:.*\n)*?\s+wildcards: cohort=north, model=\w+, engine=bayes\n"
                     r"\s+threads: 2", log)  # fmt: skip

    mine, theirs = outputs(local), outputs(cluster)
    assert mine.keys() == theirs.keys() and len(mine) > 30
    for name in mine:
        if isinstance(mine[name], pd.DataFrame):
            pd.testing.assert_frame_equal(mine[name], theirs[name])
        else:
            assert mine[name] == theirs[name], name
    pooled = pd.read_csv(cluster / "results" / "cohort_comparison.csv")
    assert "pooled (random effects)" in set(pooled.cohort)
    # The coded cohort's item fits, made in batches on the cluster, are whole fits.
    for model in ("hw_assigned-small", "extent-small"):
        for engine in ("ml", "gee"):
            info = theirs[f"results/coded/{model}/{engine}/fit.json"]
            assert info["model"] == model and info["n_obs"] == 200, (model, engine)
            assert "error" not in info, (model, engine, info.get("error"))
