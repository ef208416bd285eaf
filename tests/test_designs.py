"""Designs: validation of the designs: section, the grid, and the problems named."""

from __future__ import annotations

import pytest

from sessionmlm.designs import load_design

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
        ({"formula": "visits ~ licensed + (1 | therapist)"},
         "the simulated outcomes are 'homework' (binary) and 'extensiveness' (ordinal, 5 "
         "categories), not 'visits'"),
        ({"formula": "extensiveness ~ licensed + (1 | therapist)",
          "study": {"thresholds": [1.0, 0.5, 2.0]}},
         "study.thresholds: [1.0, 0.5, 2.0] must increase"),
    ],
)  # fmt: skip
def test_design_problems_name_the_key_and_the_fix(raw, message):
    found, problems = load_design("plan", raw, {})
    assert found is None
    assert any(
        message in p and p.startswith("config/config.yaml: designs.plan") for p in problems
    ), problems
