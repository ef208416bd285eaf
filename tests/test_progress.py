"""Progress lines of long fits: what they say, and that a job's log and terminal get them.

The reporting interval is lowered to 0 s (every chance to report does), never the fits.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from sessionmlm import progress
from sessionmlm.engines import ml
from sessionmlm.engines.bayes import BayesSettings
from sessionmlm.engines.bayes import fit as bayes_fit
from sessionmlm.engines.bayes.progress import ChainState, sampling_line
from sessionmlm.formula import parse_formula
from sessionmlm.model_data import build_model_data
from sessionmlm.simulate import CohortShape, canonical, simulate_cohort
from sessionmlm.stages import job

ML_LINE = re.compile(
    r"ml fit, (?P<stage>.+): (?P<evaluations>[\d,]+) likelihood evaluations so far, "
    r"log-likelihood (?P<loglik>-?[\d.]+), .+ elapsed"
)
BAYES_LINE = re.compile(
    r"sampling \((?P<phase>warm-up|draws after warm-up)\): (?P<done>[\d,]+) of "
    r"(?P<total>[\d,]+) draws \(2 chains, warm-up counted\), (?P<divergences>.+?), "
    r"(?:about \d.* left|under 1 s left|time left not known yet)"
)


def number(text: str) -> int:
    return int(text.replace(",", ""))


@pytest.fixture(scope="module")
def small_data():
    table = canonical(simulate_cohort(CohortShape(30, 80, 200), seed=11))
    spec = parse_formula("homework ~ caregiver_present + (1 | therapist/client)", "small")
    return build_model_data(table, spec, {"ebp": "MAP"})


@pytest.fixture
def every_chance(monkeypatch):
    monkeypatch.setattr(progress, "INTERVAL_SECONDS", 0.0)


@contextmanager
def job_logging(log_file: Path) -> Iterator[None]:
    """A workflow job's logging (stages/job.py), the test's own restored afterwards.

    Entered in the test's body, where sys.stderr is capsys's: the job's terminal handler
    writes to the sys.stderr of the moment it is made.
    """
    excepthook, root = sys.excepthook, logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        job.setup_logging(log_file)
        yield
    finally:
        logging.captureWarnings(False)
        for handler in root.handlers:
            handler.close()
        root.handlers[:], root.level, sys.excepthook = handlers, level, excepthook


def test_sampling_line_counts_every_chain_and_estimates_time_left_from_the_rate():
    warming = [ChainState(600, 2000, 0, True), ChainState(400, 2000, 0, False)]
    # 1,000 draws in 10 s: the 3,000 left take 30 s at that rate.
    assert sampling_line(warming, 10.0) == (
        "sampling (warm-up): 1,000 of 4,000 draws (2 chains, warm-up counted), divergences "
        "are counted after warm-up, about 30 s left"
    )
    after = [ChainState(1500, 2000, 2, False), ChainState(1500, 2000, 1, False)]
    assert sampling_line(after, 60.0) == (
        "sampling (draws after warm-up): 3,000 of 4,000 draws (2 chains, warm-up counted), "
        "3 divergences so far, about 20 s left"
    )
    assert sampling_line([ChainState(0, 2000, 0, True)], 0.2).endswith("time left not known yet")


def test_a_line_is_due_once_per_interval_and_durations_read_plainly(monkeypatch):
    ticker = progress.Ticker()
    assert ticker.interval == 5.0 and not ticker.due()  # a fit under 5 s prints no line
    monkeypatch.setattr(progress, "INTERVAL_SECONDS", 0.0)
    assert progress.Ticker().due()
    texts = [progress.seconds_text(s) for s in (0.2, 42.4, 185, 4320)]
    assert texts == ["under 1 s", "42 s", "3 min 5 s", "1 h 12 min"]


def test_ml_fit_reports_each_stage_and_every_evaluation(small_data, every_chance, caplog):
    caplog.set_level(logging.INFO, logger="sessionmlm")
    result = ml.fit(small_data, {"points": 5})
    assert result.converged
    lines = [r.getMessage() for r in caplog.records if r.name == "sessionmlm.engines.ml.progress"]
    parsed = [ML_LINE.fullmatch(line) for line in lines]
    assert all(parsed), lines[:3]
    stages = list(dict.fromkeys(m["stage"] for m in parsed))
    assert stages == [
        "Laplace",
        "quadrature (5 points)",
        "Newton polish and Hessian",
        "quadrature check (13 points)",
        "profile of sd therapist, 1 of 2",
        "profile of sd client, 2 of 2",
    ]  # the summary evaluates the estimates, whose value the fit kept: no evaluation there
    # At an interval of 0 s every evaluation prints: the counts run 1, 2, 3, ...
    counts = [number(m["evaluations"]) for m in parsed]
    assert counts == list(range(1, len(counts) + 1))
    # ... and agree with what the fit counts itself: the optimisation's and each profile's.
    before_check = sum(m["stage"] in stages[:3] for m in parsed)
    assert before_check == result.info["diagnostics"]["function_evaluations"]
    for group, k in (("therapist", 1), ("client", 2)):
        in_profile = sum(m["stage"] == f"profile of sd {group}, {k} of 2" for m in parsed)
        closing = [r.getMessage() for r in caplog.records
                   if r.getMessage().startswith(f"profile interval for sd {group}:")]  # fmt: skip
        assert closing and closing[0].endswith(f"({in_profile} evaluations)")


def test_ml_progress_reaches_the_jobs_log_file_and_the_terminal(
    small_data, every_chance, tmp_path, capsys
):
    with job_logging(tmp_path / "job.log"):
        ml.fit(small_data, {"points": 1, "profile": False})
    in_file = [
        line
        for line in (tmp_path / "job.log").read_text().splitlines()
        if "ml fit, Laplace: " in line
    ]
    on_terminal = [line for line in capsys.readouterr().err.splitlines()
                   if line.startswith("[sessionmlm.engines.ml.progress] ml fit, Laplace: ")]  # fmt: skip
    assert in_file and len(on_terminal) == len(in_file)
    assert " INFO sessionmlm.engines.ml.progress: ml fit, Laplace: 1 likelihood" in in_file[0]


@pytest.mark.slow
def test_bayes_fit_reports_draws_and_divergences_in_the_jobs_log_and_on_the_terminal(
    small_data, every_chance, tmp_path, capsys
):
    settings = BayesSettings(chains=2, draws=1000, tune=500, min_ess=50, max_attempts=1)
    with job_logging(tmp_path / "job.log"):
        result = bayes_fit(small_data, settings)
    text = (tmp_path / "job.log").read_text()
    lines = [line.split(": ", 1)[1] for line in text.splitlines() if " sampling (" in line]
    parsed = [BAYES_LINE.fullmatch(line) for line in lines]
    assert len(parsed) >= 3 and all(parsed), lines
    done = [number(m["done"]) for m in parsed]
    assert done == sorted(done) and done[0] < done[-1] <= 3000
    assert {number(m["total"]) for m in parsed} == {3000}  # (500 + 1,000) draws x 2 chains
    phases = [m["phase"] for m in parsed]
    assert phases == sorted(phases, key=lambda p: p != "warm-up")  # warm-up lines come first
    after = [m["divergences"] for m in parsed if m["phase"] == "draws after warm-up"]
    assert after and all(re.fullmatch(r"\d+ divergences so far", d) for d in after)
    divergences = [int(d.split()[0]) for d in after]
    assert divergences == sorted(divergences)
    assert divergences[-1] <= result.info["diagnostics"]["divergences"]
    terminal = capsys.readouterr().err
    assert terminal.count("[sessionmlm.engines.bayes.progress] sampling (") == len(lines)
    # The closing line of totals follows the progress lines.
    assert text.rindex("attempt 1/1: 2 chains x 1000 of 1000 draws") > text.rindex(" sampling (")
