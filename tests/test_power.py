"""Design simulations: validation, seeds independent of chunking, summaries, and truth."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest

from sessionmlm.intervals import wilson
from sessionmlm.power import (
    generating_model,
    load_design,
    replicate_seed,
    run_chunk,
    sessions_of,
)
from sessionmlm.power_report import render_power_report
from sessionmlm.power_summary import read_replicates, smallest_sufficient, summarise

SMALL = "homework ~ caregiver_present + child_age + licensed + (1 | therapist/client)"


def design(**overrides):
    raw = {"formula": SMALL, "replicates": 6, "replicates_per_job": 4} | overrides
    found, problems = load_design("plan", raw, {})
    assert not problems, problems
    return found


def test_grid_is_the_cartesian_product_and_fills_the_study():
    d = design(grid={"therapists": [20, 40], "odds_ratios.licensed": [0.5, 0.7]},
               study={"odds_ratios": {"licensed": 0.55}})  # fmt: skip
    assert d.points == [
        {"therapists": 20, "odds_ratios.licensed": 0.5},
        {"therapists": 20, "odds_ratios.licensed": 0.7},
        {"therapists": 40, "odds_ratios.licensed": 0.5},
        {"therapists": 40, "odds_ratios.licensed": 0.7},
    ]
    study = d.study_at(3)
    assert study["therapists"] == 40 and study["odds_ratios"] == {"licensed": 0.7}
    assert d.study["therapists"] == 103  # the base study is left as it was
    assert d.chunks() == [(0, 4), (4, 6)]
    assert d.points is d.points  # expanded once, not on every use


def test_generating_model_matches_the_planned_study():
    study = design(study={"therapists": 50, "odds_ratios": {"licensed": 0.55}}).study
    sim, truth = generating_model(study)
    assert (sim.n_therapists, sim.n_clients, sim.n_sessions) == (50, 133, 330)
    assert sessions_of(study) == 330
    assert truth.licensed == pytest.approx(math.log(0.55))
    assert truth.caregiver_present == 0 and all(v == 0 for v in truth.ebp.values())
    assert (truth.sd_therapist, truth.sd_client) == (0.8, 0.9)


@pytest.mark.parametrize(
    "raw, message",
    [
        ({"formula": "homework ~ caregiver + (1 | therapist/client)"},
         "'caregiver' is not simulated"),
        ({"formula": SMALL, "study": {"odds_ratios": {"ebp_attitudes": 1.2}}},
         "odds_ratios.ebp_attitudes: not in the formula, so every fit would omit a real effect"),
        ({"formula": SMALL, "study": {"odds_ratios": {"homework": 2}}},
         "odds_ratios.homework: not a simulated predictor"),
        ({"formula": SMALL, "grid": {"clients": [1, 2]}}, "grid.clients: cannot vary this"),
        ({"formula": SMALL, "grid": {"clients_per_therapist.mean": [0.5, 2]}},
         "grid point 1: {'clients_per_therapist.mean': 0.5}): clients_per_therapist needs "
         "1 <= min <= mean <= max"),
        ({"formula": "visits ~ licensed + (1 | therapist)"}, "the simulated outcome is 'homework'"),
    ],
)  # fmt: skip
def test_design_problems_name_the_key_and_the_fix(raw, message):
    found, problems = load_design("plan", raw, {})
    assert found is None
    assert any(
        message in p and p.startswith("config/config.yaml: designs.plan") for p in problems
    ), problems


def test_replicates_do_not_depend_on_how_they_are_chunked():
    d = design(study={"therapists": 25, "odds_ratios": {"licensed": 0.55}})
    whole = run_chunk(d, 0, 0, 6)
    parts = pd.concat([run_chunk(d, 0, 0, 2), run_chunk(d, 0, 2, 6)], ignore_index=True)
    pd.testing.assert_frame_equal(whole, parts)
    assert len({replicate_seed(1, p, r) for p in range(3) for r in range(1000)}) == 3000


def test_summary_by_hand():
    d = design(grid={"therapists": [20]})
    rows = pd.DataFrame(
        {
            "point": 0, "replicate": [0, 1, 2, 3], "seed": 0,
            "converged": [True, True, True, False], "quantity": "licensed", "truth": -0.5,
            "estimate": [-0.9, -0.4, -0.2, np.nan], "std_error": [0.3, 0.3, 0.3, np.nan],
            "ci_low": [-1.5, -1.0, -0.4, np.nan], "ci_high": [-0.3, 0.2, 0.0, np.nan],
            "p_value": [0.003, 0.18, 0.5, np.nan], "singular": [False, True, False, False],
        }
    )  # fmt: skip
    s = summarise(rows, d).iloc[0]
    assert s["failed"] == 1 and s["replicates"] == 4 and s["therapists"] == 20
    assert s["power"] == pytest.approx(1 / 3)
    assert s["power_mc_se"] == pytest.approx(math.sqrt(1 / 3 * 2 / 3 / 3))
    assert s["bias"] == pytest.approx((-0.4 + 0.1 + 0.3) / 3)
    assert s["rmse"] == pytest.approx(math.sqrt((0.16 + 0.01 + 0.09) / 3))
    assert s["coverage"] == pytest.approx(2 / 3)  # the third interval misses -0.5
    assert s["singular_rate"] == pytest.approx(1 / 3)
    assert s["true_odds_ratio"] == pytest.approx(math.exp(-0.5))


def test_sd_estimates_all_equal_leave_the_se_ratio_empty_not_a_crash():
    """Every converged fit singular (SD estimated at 0): no spread, and an SD has no SE."""
    d = design(grid={"therapists": [20]})
    rows = pd.DataFrame(
        {
            "point": 0, "replicate": [0, 1, 2], "seed": 0, "converged": True,
            "quantity": ["sd therapist"] * 3, "truth": 0.8, "estimate": 0.0, "std_error": np.nan,
            "ci_low": 0.0, "ci_high": [1.1, 1.3, 0.9], "p_value": np.nan, "singular": True,
        }
    )  # fmt: skip
    summary = summarise(rows, d)
    s = summary.iloc[0]
    assert s["empirical_sd"] == 0 and np.isnan(s["mean_std_error"])
    assert s["singular_rate"] == 1 and s["bias"] == pytest.approx(-0.8)
    html = render_power_report(d, summary)
    row = next(r for r in html.split("<tr") if ">sd therapist<" in r)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row)
    assert cells[-3:] == ["–", "100.0%", "0"]  # mean SE / empirical SD, singular, failed


def test_smallest_sufficient_grid_value():
    summary = pd.DataFrame(
        {"therapists": [40, 80, 120, 160], "quantity": "licensed", "power": [0.3, 0.6, 0.82, 0.9]}
    )
    assert smallest_sufficient(summary, "therapists", "licensed", 0.8) == 120
    assert smallest_sufficient(summary, "therapists", "licensed", 0.95) is None


def test_wilson_interval_matches_its_formula_at_the_edges():
    low, high = wilson(0.0, 100)
    assert low == pytest.approx(0.0, abs=1e-12) and high == pytest.approx(0.037, abs=1e-3)
    low, high = wilson(0.5, 100)
    assert (low, high) == pytest.approx((0.4038, 0.5962), abs=1e-4)


def test_a_missing_chunk_is_an_error_not_a_smaller_study(tmp_path):
    d = design()
    chunk = run_chunk(d, 0, 0, 4)
    path = tmp_path / "chunk.csv"
    chunk.to_csv(path, index=False)
    with pytest.raises(ValueError, match="hold 4 replicates, expected 6"):
        read_replicates([str(path)], d)
    rest = tmp_path / "rest.csv"
    run_chunk(d, 0, 3, 6).to_csv(rest, index=False)  # replicate 3 is in both files
    with pytest.raises(ValueError, match="hold 6 replicates, some of them twice, expected 6"):
        read_replicates([str(path), str(rest)], d)


@pytest.mark.slow
def test_false_positive_rate_is_the_significance_level():
    """With no licensure effect, 400 replicates reject at about alpha = 0.05 (truth)."""
    d = design(
        formula="homework ~ licensed + (1 | therapist/client)",
        study={"therapists": 40},
        replicates=400,
    )
    table = run_chunk(d, 0, 0, 400)
    summary = summarise(table, d)
    licensed = summary.set_index("quantity").loc["licensed"]
    rate, fits = licensed["power"], 400 - licensed["failed"]
    assert fits >= 390
    se = math.sqrt(0.05 * 0.95 / fits)
    assert abs(rate - 0.05) < 3 * se, rate
    assert abs(licensed["coverage"] - 0.95) < 3 * se
    html = render_power_report(d, summary)
    assert "false-positive rate" in html and "<svg" not in html  # no grid, no curve
