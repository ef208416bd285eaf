"""The power summary and report of a design: summaries by hand, edge cases, missing chunks."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest

from sessionmlm.intervals import wilson
from sessionmlm.power_report import render_power_report
from sessionmlm.power_summary import read_replicates, smallest_sufficient, summarise
from sessionmlm.replicates import simulate_chunk

from .test_designs import design


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
    chunk = simulate_chunk(d, 0, 0, 4)
    path = tmp_path / "chunk.csv"
    chunk.to_csv(path, index=False)
    with pytest.raises(ValueError, match="hold 4 replicates, expected 6"):
        read_replicates([str(path)], d)
    rest = tmp_path / "rest.csv"
    simulate_chunk(d, 0, 3, 6).to_csv(rest, index=False)  # replicate 3 is in both files
    with pytest.raises(ValueError, match="hold 6 replicates, some of them twice, expected 6"):
        read_replicates([str(path), str(rest)], d)
