"""Absolute paths in text rewritten so that no output names a machine's folders."""

import logging
import sys
import warnings

import pytest

from sessionmlm.machine_paths import machine_folders, scrub, scrub_strings, this_machine
from sessionmlm.stages import job

from .conftest import machine_path_lines

FOLDERS = machine_folders(
    project="/srv/study/project",
    checkout="/opt/code/sessionmlm",
    site_packages=["/opt/code/sessionmlm/.venv/lib/python3.12/site-packages"],
    python="/usr/lib/python3.12",
    venv="/opt/code/sessionmlm/.venv",
    home="/home/alice",
)


@pytest.mark.parametrize(
    ("text", "written"),
    [
        # The project's files relative to it, the project itself as ".".
        ("reading /srv/study/project/data/x.csv", "reading data/x.csv"),
        ("cd /srv/study/project && make", "cd . && make"),
        ("file /srv/study/project2/x.csv", "file …/x.csv"),  # another folder, not the project
        ('File "/opt/code/sessionmlm/src/sessionmlm/ingest.py", line 3',
         'File "<sessionmlm>/src/sessionmlm/ingest.py", line 3'),
        # The longest folder wins: the venv's site-packages lie inside the checkout.
        ("/opt/code/sessionmlm/.venv/lib/python3.12/site-packages/pymc/x.py:12: UserWarning",
         "<site-packages>/pymc/x.py:12: UserWarning"),
        ("/opt/code/sessionmlm/.venv/bin/python", "<venv>/bin/python"),
        ("/usr/lib/python3.12/warnings.py", "<python>/warnings.py"),
        # Another machine's environment and another user's home: no folder, no user name.
        ("/scratch/u/bob/envs/smk/lib/python3.11/site-packages/numpy/core.py",
         "<site-packages>/numpy/core.py"),
        ("/home/alice/study/data.sav and /home/bob/x.csv and /Users/Jane/y.dta",
         "~/study/data.sav and ~/x.csv and ~/y.dta"),
        ("/root/.cache/numba", "~/.cache/numba"),
        ("/tmp/pytest-of-root/pytest-3/test_a0/results", "…/results"),  # pytest names it by user
        ("looked at /work/elsewhere/data/sessions.csv.", "looked at …/sessions.csv."),
        ("[Errno 2] No such file: '/mnt/share/a.csv'", "[Errno 2] No such file: '…/a.csv'"),
        # A space ends a path outside the known folders: the rest is relative, no folder above.
        ("/mnt/my share/a.csv", "…/my share/a.csv"),
    ],
)  # fmt: skip
def test_absolute_paths_are_rewritten(text, written):
    assert scrub(text, FOLDERS) == written
    assert not names_a_test_folder(written)


@pytest.mark.parametrize(
    "text",
    [
        "homework ~ caregiver_present + (1 | therapist/client)",
        "data/demo/sessions.csv: column 'ebp', rows 3, 4",
        "see https://snakemake.readthedocs.io/en/stable/ and and/or 1/2",
        "<site-packages>/numpy/core.py, ~/x.csv, …/y.csv, <venv>/z",  # already rewritten
        "ratio 3 / 4",
    ],
)
def test_text_without_absolute_paths_is_unchanged(text):
    assert scrub(text, FOLDERS) == text


def test_a_symlinked_folder_matches_as_written_and_resolved(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    folders = machine_folders(project=tmp_path / "link")
    assert scrub(f"{real}/data/x.csv and {tmp_path}/link/y.csv", folders) == "data/x.csv and y.csv"


def test_json_values_are_rewritten_throughout():
    value = {"problems": ["/srv/study/project/config/cohorts/a.yaml: bad"], "n": 3,
             "nested": {"/home/alice/k": ("/tmp/x",)}}  # fmt: skip
    assert scrub_strings(value, FOLDERS) == {
        "problems": ["config/cohorts/a.yaml: bad"],
        "n": 3,
        "nested": {"~/k": ["…/x"]},
    }


def test_this_machine_names_the_project_and_the_environment(tmp_path):
    folders = dict(this_machine(tmp_path))
    assert folders[str(tmp_path)] == "."
    text = scrub(f"{tmp_path}/a.csv {logging.__file__} {pytest.__file__}", this_machine(tmp_path))
    assert text.split() == [
        "a.csv",
        "<python>/logging/__init__.py",
        "<site-packages>/pytest/__init__.py",
    ]


def names_a_test_folder(text: str) -> list[str]:
    return [
        line for line in text.splitlines() if "/srv/" in line or "/opt/" in line or "alice" in line
    ]


def test_a_jobs_log_names_no_machine_path(tmp_path, monkeypatch):
    """Log lines, a logger named by its file (pytensor's), warnings and a crash's traceback."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # restored afterwards
    log_file = tmp_path / "logs" / "job.log"
    log_file.parent.mkdir()
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        job.setup_logging(log_file)
        logging.getLogger(__name__).info("reading %s", tmp_path / "data" / "x.csv")
        logging.getLogger(pytest.__file__).info("compiling")  # pytensor names loggers so
        with warnings.catch_warnings():
            warnings.simplefilter("always")  # shown, not raised as pytest's settings say
            warnings.warn("a warning from a module", UserWarning, stacklevel=1)
        try:
            raise RuntimeError(f"cannot open {tmp_path / 'results' / 'x.json'}")
        except RuntimeError as error:
            sys.excepthook(type(error), error, error.__traceback__)
    finally:
        logging.captureWarnings(False)
        for handler in root.handlers:
            handler.close()
        root.handlers[:], root.level = handlers, level
    text = log_file.read_text()
    assert "reading data/x.csv" in text
    assert "<site-packages>/pytest/__init__.py: compiling" in text
    assert "tests/test_machine_paths.py" in text and "a warning from a module" in text
    assert "Traceback" in text and "cannot open results/x.json" in text
    assert machine_path_lines(tmp_path / "logs") == []
