"""The simulator's program level and caregiver parts are in the data: a quick ml fit finds them."""

from __future__ import annotations

import dataclasses

import pytest

from sessionmlm.engines import ml
from sessionmlm.formula import parse_formula
from sessionmlm.model_data import build_model_data
from sessionmlm.simulate import DEMO_TRUTH, CohortShape, canonical, simulate_cohort

WB = (
    "homework ~ caregiver_present + child_age + licensed + stressful_event + n_ebps_trained"
    " + ebp + (1 | therapist/client)"
)
PARTS = ("within client", "between client", "between therapist")


def fit(table, formula, within_between=(), settings=None):
    spec = dataclasses.replace(parse_formula(formula, "m"), within_between=within_between)
    result = ml.fit(build_model_data(table, spec, {"ebp": "MAP"}), settings or {})
    assert result.converged, result.info["problems"]
    return result


def test_within_and_between_client_effects_are_recovered_and_the_blend_lies_between():
    # The demo's truth without program variance (the ml engine fits two nested levels), on
    # about eight times the demo: caregiver presence has effect 0.3 within clients and 1.2
    # between them. The split model recovers each part within 2 SE (seed 8, fixed before the
    # first run); the model without the split estimates one coefficient between the two.
    truth = dataclasses.replace(DEMO_TRUTH, sd_program=0.0)
    table = canonical(simulate_cohort(CohortShape(600, 1800, 5400), truth, seed=8))
    split = fit(table, WB, ("caregiver_present",), {"profile": False})
    est = split.estimates.set_index("term")
    true_parts = dict(zip(PARTS, truth.caregiver_parts(), strict=True))
    for part, value in true_parts.items():
        term = f"caregiver_present ({part})"  # as model_terms.part_names names it
        z = (est.loc[term, "estimate"] - value) / est.loc[term, "std_error"]
        assert abs(z) < 2, (term, est.loc[term, "estimate"], z)
    within, between = (est.loc[f"caregiver_present ({p})", "estimate"] for p in PARTS[:2])
    assert between - within > 2 * est.loc["caregiver_present (between client)", "std_error"]
    whole = fit(table, WB, (), {"profile": False}).estimates.set_index("term")
    assert within < whole.loc["caregiver_present", "estimate"] < between
    for term in ("child_age", "licensed", "ebp[CPP]"):  # the other effects stay honest
        z = (est.loc[term, "estimate"] - truth.coefficients()[term]) / est.loc[term, "std_error"]
        assert abs(z) < 3, (term, z)


def test_the_program_sd_is_recovered():
    # Two nested levels the ml engine fits: programs and therapists, with no client variance
    # (so the model is the generating one). 200 programs of about 5 therapists; the truth lies
    # within 3.5 profile half-widths of the estimate, as the ml engine's own recovery tests.
    truth = dataclasses.replace(DEMO_TRUTH, sd_client=0.0)
    shape = CohortShape(1000, 2700, 6800, n_programs=200)
    table = canonical(simulate_cohort(shape, truth, seed=9))
    result = fit(
        table, "homework ~ caregiver_present + child_age + licensed + (1 | program/therapist)"
    )
    var = result.variance.set_index("level")
    assert list(var.index) == ["program", "therapist"] and var.loc["program", "units"] == 200
    for level, true in [("program", truth.sd_program), ("therapist", truth.sd_therapist)]:
        sd, low, high = var.loc[level, ["sd", "sd_low", "sd_high"]]
        half_width = (high - sd) if true > sd else (sd - low)
        assert abs(true - sd) < 3.5 * half_width / 1.96, (level, sd, low, high)
    assert var.loc["program", "sd_low"] > 0.1  # programs differ, and the fit sees it
    assert truth.sd_program == pytest.approx(0.5)
