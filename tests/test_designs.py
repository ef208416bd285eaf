"""Designs: validation of the designs: section, the grid, and the problems named."""

from __future__ import annotations

import pytest

from sessionmlm.designs import load_design, planned_counts

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


PROGRAMS = "homework ~ licensed + (1 | program/therapist/client)"


def test_a_program_design_plans_therapists_per_program_and_may_vary_programs():
    d = design(
        formula=PROGRAMS,
        study={"programs": 25, "therapists_per_program": {"mean": 4, "min": 2, "max": 8},
               "sd_program": 0.5},
        grid={"programs": [10, 30], "sd_program": [0.3, 0.6]},
    )  # fmt: skip
    assert d.spec.groups == ("program", "therapist", "client")
    assert len(d.points) == 4 and d.points[3] == {"programs": 30, "sd_program": 0.6}
    assert planned_counts(d.study_at(0)) == (40, 106, 263)  # 10 programs x 4 therapists ...
    assert planned_counts(d.study_at(3))[0] == 120
    # Without programs, nothing changes: therapists is the top count.
    assert planned_counts(design().study) == (103, 274, 680)
    assert design().study["programs"] is None and design().study["sd_program"] == 0


@pytest.mark.parametrize(
    "raw, message",
    [
        ({"formula": PROGRAMS}, "study.programs: the formula has programs; set how many"),
        ({"formula": SMALL, "study": {"sd_program": 0.5}},
         "study.sd_program: the study has no programs"),
        ({"formula": PROGRAMS, "study": {"programs": 20, "therapists": 80}},
         "with programs, the therapists are programs x therapists_per_program.mean"),
        ({"formula": PROGRAMS, "grid": {"programs": [10, 20], "therapists": [40, 80]}},
         "with programs, the therapists are programs x therapists_per_program.mean"),
        ({"formula": PROGRAMS, "study": {"programs": 10},
          "grid": {"therapists_per_program.mean": [0.5]}},
         "therapists_per_program needs 1 <= min <= mean <= max"),
        ({"formula": "homework ~ licensed + (1 | program/client)"},
         "formula: use (1 | program/therapist/client), (1 | program/therapist), "
         "(1 | therapist/client), (1 | therapist) or (1 | client)."),
    ],
)  # fmt: skip
def test_program_design_problems(raw, message):
    found, problems = load_design("plan", raw, {})
    assert found is None
    assert any(message in p for p in problems), problems
