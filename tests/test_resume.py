"""Kill a design simulation halfway, start it again: it finishes the rest, redoes nothing done,
and never leaves a half-written file that looks complete."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from .conftest import ROOT, TINY_COHORT, write_project
from .test_workflow import SNAKEMAKE

pytestmark = pytest.mark.slow
PROFILE = str(ROOT / "workflow" / "profiles" / "default")
DESIGN = {
    "formula": "homework ~ caregiver_present + licensed + (1 | therapist/client)",
    "study": {"therapists": 20, "odds_ratios": {"licensed": 0.55, "caregiver_present": 2.1}},
    "grid": {"therapists": [20, 30]},
    "replicates": 12,
    "replicates_per_job": 3,
    "seed": 5,
}
ROWS_PER_REPLICATE = 5  # Intercept, caregiver_present, licensed, sd therapist, sd client
PER_JOB = DESIGN["replicates_per_job"]  # replicates per chunk file (all chunks are full)
CHUNKS = len(DESIGN["grid"]["therapists"]) * -(-DESIGN["replicates"] // PER_JOB)  # chunk files


def project(folder: Path, tiny_table) -> Path:
    write_project(folder, {"tiny": TINY_COHORT}, {"data/tiny/sessions.csv": tiny_table})
    config_file = folder / "config" / "config.yaml"
    config = yaml.safe_load(config_file.read_text())
    config["designs"] = {"plan": DESIGN}
    config_file.write_text(yaml.safe_dump(config, sort_keys=False))
    return folder


def command(folder: Path, cores: int) -> list[str]:
    return [SNAKEMAKE, "-s", str(ROOT / "Snakefile"), "--directory", str(folder),
            "--profile", PROFILE, "--cores", str(cores), "designs"]  # fmt: skip


def chunk_files(folder: Path) -> dict[Path, int]:
    """Chunk outputs that look complete (a .csv name), with their modification times."""
    found = (folder / "results" / "designs" / "plan" / "replicates").glob("*.csv")
    return {p: p.stat().st_mtime_ns for p in found}


def test_killed_run_resumes_without_redoing_finished_jobs(tmp_path, tiny_table, monkeypatch):
    monkeypatch.setenv("SESSIONMLM_KEY", "test-key")
    reference = project(tmp_path / "reference", tiny_table)
    whole = subprocess.run(command(reference, 2), capture_output=True, text=True, timeout=900)
    assert whole.returncode == 0, whole.stderr[-3000:]

    folder = project(tmp_path / "killed", tiny_table)
    run = subprocess.Popen(command(folder, 1), stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    deadline = time.monotonic() + 600
    while len(chunk_files(folder)) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.7)  # well into the next job: it is writing or fitting when the kill comes
    os.killpg(run.pid, signal.SIGKILL)  # no chance to clean up: the worst case
    run.wait()

    before = chunk_files(folder)
    assert 3 <= len(before) < CHUNKS, "the run was not killed halfway"
    for path in before:  # every file that looks complete is complete
        table = pd.read_csv(path)
        assert len(table) == PER_JOB * ROWS_PER_REPLICATE, path
        assert table["replicate"].nunique() == PER_JOB
    assert not (folder / "results" / "designs" / "plan" / "power.csv").exists()

    # After kill -9 Snakemake's lock stays behind; --unlock is the documented first step.
    unlock = subprocess.run([*command(folder, 1), "--unlock"], capture_output=True, text=True)
    assert unlock.returncode == 0, unlock.stderr[-2000:]
    again = subprocess.run(command(folder, 2), capture_output=True, text=True, timeout=900)
    assert again.returncode == 0, again.stderr[-3000:]
    after = chunk_files(folder)
    untouched = [p for p, mtime in before.items() if after[p] == mtime]
    # With one job at a time, at most the job in flight at the kill is redone: Snakemake
    # cannot know that it finished.
    assert len(untouched) >= len(before) - 1
    reran = again.stdout.count("rule simulate_chunk:") + again.stderr.count("rule simulate_chunk:")
    assert reran == CHUNKS - len(untouched), again.stderr[-3000:]
    assert (folder / "results/designs/plan/power.csv").read_bytes() == (
        reference / "results/designs/plan/power.csv"
    ).read_bytes()
