"""Replicates: the generating model of a planned study, seeds independent of chunking, truth."""

from __future__ import annotations

import dataclasses
import math

import pandas as pd
import pytest

from sessionmlm.designs import sessions_of
from sessionmlm.engines.ml import ENGINE as ML
from sessionmlm.errors import UserError
from sessionmlm.model_data import build_model_data
from sessionmlm.power_report import render_power_report
from sessionmlm.power_summary import summarise
from sessionmlm.replicates import generating_model, replicate_seed, simulate_chunk
from sessionmlm.simulate import REFERENCE, canonical, simulate_cohort

from .test_designs import design


def test_generating_model_matches_the_planned_study():
    study = design(study={"therapists": 50, "odds_ratios": {"licensed": 0.55}}).study
    sim, truth = generating_model(study)
    assert (sim.n_therapists, sim.n_clients, sim.n_sessions) == (50, 133, 330)
    assert sessions_of(study) == 330
    assert truth.licensed == pytest.approx(math.log(0.55))
    assert truth.caregiver_present == 0 and all(v == 0 for v in truth.ebp.values())
    assert (truth.sd_therapist, truth.sd_client) == (0.8, 0.9)


def test_an_ordinal_design_simulates_and_fits_the_ordinal_outcome():
    # The same effects and SDs drive the ordinal item, with the study's thresholds.
    d = design(
        formula="extensiveness ~ licensed + caregiver_present + (1 | therapist/client)",
        study={"therapists": 40, "odds_ratios": {"licensed": 0.5},
               "thresholds": [-1.0, 0.0, 1.0, 2.0]},
    )  # fmt: skip
    _, truth = generating_model(d.study)
    assert truth.extensiveness.licensed == pytest.approx(math.log(0.5))
    assert truth.extensiveness.thresholds == (-1.0, 0.0, 1.0, 2.0)
    assert truth.extensiveness.sd_client == 0.9
    table = simulate_chunk(d, 0, 0, 2)
    rows = table[table.quantity == "licensed"]
    assert list(rows.truth) == pytest.approx([math.log(0.5)] * 2)
    assert rows.converged.all() and (rows.ci_low < rows.estimate).all()
    assert "Intercept" not in set(table.quantity)  # thresholds in its place
    assert set(table.quantity) == {"licensed", "caregiver_present", "sd therapist", "sd client"}


def test_replicates_do_not_depend_on_how_they_are_chunked():
    d = design(study={"therapists": 25, "odds_ratios": {"licensed": 0.55}})
    whole = simulate_chunk(d, 0, 0, 6)
    parts = pd.concat([simulate_chunk(d, 0, 0, 2), simulate_chunk(d, 0, 2, 6)], ignore_index=True)
    pd.testing.assert_frame_equal(whole, parts)
    assert len({replicate_seed(1, p, r) for p in range(3) for r in range(1000)}) == 3000


@pytest.mark.slow
def test_false_positive_rate_is_the_significance_level():
    """With no licensure effect, 400 replicates reject at about alpha = 0.05 (truth)."""
    d = design(
        formula="homework ~ licensed + (1 | therapist/client)",
        study={"therapists": 40},
        replicates=400,
    )
    table = simulate_chunk(d, 0, 0, 400)
    summary = summarise(table, d)
    licensed = summary.set_index("quantity").loc["licensed"]
    rate, fits = licensed["power"], 400 - licensed["failed"]
    assert fits >= 390
    se = math.sqrt(0.05 * 0.95 / fits)
    assert abs(rate - 0.05) < 3 * se, rate
    assert abs(licensed["coverage"] - 0.95) < 3 * se
    html = render_power_report(d, summary)
    assert "false-positive rate" in html and "<svg" not in html  # no grid, no curve


def test_a_program_design_simulates_programs_and_fits_once_the_ml_engine_can():
    d = design(
        formula="homework ~ licensed + (1 | program/therapist/client)",
        study={"programs": 12, "therapists_per_program": {"mean": 4, "min": 2, "max": 6},
               "sd_program": 0.5, "odds_ratios": {"licensed": 0.55}},
    )  # fmt: skip
    shape, truth = generating_model(d.study)
    assert (shape.programs, shape.program_bounds, shape.n_therapists) == (12, (2, 6), 48)
    assert truth.sd_program == 0.5 and truth.extensiveness.sd_program == 0.5
    # The simulation side: the replicate's data have the planned programs, nested.
    table = canonical(simulate_cohort(shape, truth, seed=replicate_seed(d.seed, 0, 0)))
    assert table.program.nunique() == 12 and table.therapist.nunique() == 48
    assert table.groupby("program").therapist.nunique().between(2, 6).all()
    data = build_model_data(table, d.spec, REFERENCE)
    assert [len(ids) for ids in data.unit_ids] == [12, 48, len(table.client.unique())]
    reason = ML.cannot_fit(d.spec)
    if reason:  # the ml engine fits two nested levels: the job stops, naming why
        with pytest.raises(UserError, match="fits one or two nested grouping levels"):
            simulate_chunk(d, 0, 0, 1)
    else:  # three levels: the program SD is a quantity with its truth
        rows = simulate_chunk(d, 0, 0, 1).set_index("quantity")
        assert rows.loc["sd program", "truth"] == 0.5


def test_designs_without_programs_simulate_as_before():
    # One program holding every therapist, with no variance: the replicates' other columns
    # are what they were before programs existed (the simulator's program stream is its own).
    shape, truth = generating_model(design(study={"therapists": 30}).study)
    assert shape.programs == 1 and truth.sd_program == 0
    with_programs = simulate_cohort(shape, truth, seed=4)
    before = simulate_cohort(dataclasses.replace(shape, n_programs=None), truth, seed=4)
    rest = [c for c in before.columns if c != "program_id"]
    assert with_programs[rest].equals(before[rest])
