"""Shared fixtures: seeded synthetic cohorts written the way users store them."""

from __future__ import annotations

import os
import re
import sys
import tempfile
from pathlib import Path

import pytest
import yaml

from sessionmlm.simulate import CohortShape, TrueParameters, simulate_cohort

ROOT = Path(__file__).resolve().parents[1]
TINY = CohortShape(n_therapists=30, n_clients=80, n_sessions=200)

TINY_COHORT = {
    "name": "tiny",
    "data": "data/tiny/sessions.csv",
    "levels": {"therapist": "therapist_id", "client": "client_id", "session": "session_id"},
    "outcome": {"name": "homework", "any_of": ["hw_assigned", "hw_reviewed"], "positive": [1], "negative": [0]},
    "codes": {"caregiver_present": {"Y": 1, "N": 0}},
    "reference": {"ebp": "MAP"},
    "missing": [-99, "NA", ""],
    "models": {
        "null": "homework ~ 1 + (1 | therapist/client)",
        "small": "homework ~ caregiver_present + child_age + licensed + (1 | therapist/client)",
    },
    "engines": ["bayes", "ml", "gee"],
    # Few draws keep the test quick; the thresholds are loosened to match, on purpose. A first
    # attempt that misses them is retried with twice the draws, as the engine does by default
    # (one attempt missed R-hat 1.05 at 1.052 in a full run).
    "bayes": {"chains": 2, "draws": 300, "tune": 300, "min_ess": 50, "max_rhat": 1.05, "max_attempts": 2},
}  # fmt: skip


def write_project(folder: Path, cohorts: dict[str, dict], tables: dict[str, object]) -> Path:
    """Lay out a project folder: config/config.yaml, config/cohorts/*.yaml and data files."""
    (folder / "config" / "cohorts").mkdir(parents=True, exist_ok=True)
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    (folder / "config" / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    for name, cohort in cohorts.items():
        (folder / "config" / "cohorts" / f"{name}.yaml").write_text(
            yaml.safe_dump(cohort, sort_keys=False)
        )
    for relative, table in tables.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(path, index=False)
    return folder


def machine_path_lines(root: Path) -> list[str]:
    """Lines of the text files under root that name a machine path, as "file: line".

    Outputs name files relative to the project (src/sessionmlm/machine_paths.py): never the
    folder itself, this checkout, the temporary folder, a home folder or a Python environment.
    """
    root = root.resolve()
    folders = {str(root), str(ROOT), str(ROOT.resolve()), sys.prefix,
               tempfile.gettempdir() + "/"}  # fmt: skip
    pattern = re.compile(
        "|".join(re.escape(f) for f in folders) + r"|/root\b|/home/|/Users/|(?<!<)site-packages"
    )
    found = []
    for path in sorted(root.rglob("*")):
        try:
            text = path.read_text() if path.is_file() else ""
        except UnicodeDecodeError:  # a binary table (parquet): checked by its text outputs
            continue
        found += [f"{path.relative_to(root)}: {line[:300]}"
                  for line in text.splitlines() if pattern.search(line)]  # fmt: skip
    return found


@pytest.fixture(autouse=True, scope="session")
def jobs_import_this_checkout():
    """Snakemake jobs started by a test import this checkout's package.

    A job unpickles its params (a Cohort, a ModelSpec) before workflow/scripts/sessionmlm_path.py
    puts src/ first on its path, so it would otherwise import whichever sessionmlm the Python
    environment has installed: another checkout's, in a git worktree.
    """
    paths = [str(ROOT / "src"), *filter(None, [os.environ.get("PYTHONPATH")])]
    with pytest.MonkeyPatch.context() as session:  # for module-scoped fixtures' runs too
        session.setenv("PYTHONPATH", os.pathsep.join(paths))
        yield


@pytest.fixture
def tiny_table():
    return simulate_cohort(TINY, TrueParameters(), seed=3)


@pytest.fixture
def tiny_project(tmp_path, tiny_table, monkeypatch):
    """A project with the tiny cohort; the working directory is the project folder."""
    write_project(tmp_path, {"tiny": TINY_COHORT}, {"data/tiny/sessions.csv": tiny_table})
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SESSIONMLM_KEY", "test-key")
    return tmp_path


@pytest.fixture
def ordinal_engines(monkeypatch):
    """For this test, the flat test engine (binary only) and `flat_ordinal`, which says it fits
    ordinal outcomes too, so that ordinal cohorts load whichever built-in engines fit them.

    flat_ordinal only loads configs: its fit is flat's binary one.
    """
    from dataclasses import replace

    from sessionmlm import engines

    from . import flat_logistic_engine

    monkeypatch.setattr(engines, "_REGISTRY", dict(engines.registered()))
    flat = engines.register(flat_logistic_engine.ENGINE, "tests.flat_logistic_engine")
    both = replace(flat, name="flat_ordinal", outcome_types=("binary", "ordinal"))
    return flat, engines.register(both, "tests.flat_logistic_engine")


@pytest.fixture(autouse=True)
def no_slurm_cluster(request, monkeypatch):
    """Every test but the SLURM one tells a SLURM client on this machine that no cluster is meant.

    snakemake-executor-plugin-slurm runs `scontrol show config` whenever snakemake starts; where
    a SLURM client has no controller to answer, that waits 10 s (docs/upstream/).
    """
    if request.module.__name__.rpartition(".")[2] != "test_slurm":
        monkeypatch.setenv("SLURM_CONF", os.devnull)


@pytest.fixture
def demo_config():
    return yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
