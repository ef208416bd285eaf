"""What the predicted probabilities vary and hold: the cohort's setting, else chosen from the data.

Column and level names here are deliberately not the demo's.
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest

from sessionmlm.formula import parse_formula
from sessionmlm.model_data import build_model_data, reference_levels
from sessionmlm.prediction_plan import (
    PredictionPlan,
    PredictionProblem,
    PredictionSetting,
    check_setting,
    plan_predictions,
    x_grid,
)

from .conftest import TINY_COHORT
from .test_config import problems_for

FORMULA = "y ~ female + visits + region + dose + urban + smoker + (1 | site/household)"
WHERE = "config/cohorts/other.yaml"


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    rng = np.random.default_rng(4)
    n = 300
    return pd.DataFrame(
        {
            "site": rng.integers(0, 12, n).astype(str),
            "household": np.arange(n).astype(str),
            "y": rng.integers(0, 2, n),
            "female": rng.integers(0, 2, n),
            "visits": rng.integers(2, 9, n),  # whole numbers: 7 distinct values
            "region": rng.choice(["north", "south", "east"], n),
            "dose": rng.uniform(0.5, 3.0, n).round(3),  # continuous: most distinct values
            "urban": rng.integers(0, 2, n),
            "smoker": rng.integers(0, 2, n),
        }
    )


def plan_for(table, setting=None, formula=FORMULA, reference=None):
    spec = parse_formula(formula, "main")
    reference = {"region": "south"} if reference is None else reference
    data = build_model_data(table, spec, reference)
    references = reference_levels(table.iloc[data.rows], spec, reference)
    return plan_predictions(setting or PredictionSetting(WHERE, "main"), data, references), data


# --- defaults, and the report told they are defaults ------------------------------------------


def test_defaults_come_from_the_model_and_say_so(table):
    plan, _ = plan_for(table)
    assert plan.x == "dose"  # more distinct values than visits
    assert plan.lines == ("female", "urban")  # the first two 0/1 predictors in the formula
    assert plan.held == {
        "visits": pytest.approx(table.visits.mean()),
        # its sample mix: each non-reference level at its share, as the model's columns' means
        "region": {r: pytest.approx((table.region == r).mean()) for r in ("east", "north")},
        "smoker": pytest.approx(table.smoker.mean()),
    }
    assert all("by default" in plan.how[k] for k in ["model", "x", "lines", *plan.held])
    assert plan.x_values[0] == table.dose.min() and plan.x_values[-1] == table.dose.max()
    assert len(plan.x_values) == 21


def test_an_unset_reference_level_is_the_first_in_sorted_order(table):
    plan, _ = plan_for(table, reference={})
    assert set(plan.held["region"]) == {"north", "south"}  # east, first in order, is the reference


def test_held_at_the_sample_mix_the_rows_are_the_column_means(table):
    plan, data = plan_for(table)
    rows = plan.model_rows(["Intercept", *data.terms], {"female": 0, "urban": 1})
    held = [j for j, t in enumerate(data.terms) if t.startswith("region[") or t == "visits"]
    assert np.allclose(rows[:, [j + 1 for j in held]], data.X[:, held].mean(axis=0))


def test_the_setting_overrides_each_default_and_is_credited_to_the_file(table):
    setting = PredictionSetting(
        WHERE, "main", False, x="visits", lines=("smoker",), at={"region": "north", "dose": 2}
    )
    plan, data = plan_for(table, setting)
    assert (plan.x, plan.lines) == ("visits", ("smoker",))
    assert plan.x_values == tuple(float(v) for v in range(2, 9))  # every whole number
    assert plan.held["region"] == "north" and plan.held["dose"] == 2.0
    assert plan.held["female"] == pytest.approx(table.female.mean())
    assert plan.how["x"] == plan.how["lines"] == plan.how["region"] == f"set in {WHERE}"
    assert "by default" in plan.how["female"]
    # Design rows: the held level is the one dummy set, the line takes its value, x varies.
    terms = ["Intercept", *data.terms]
    rows = plan.model_rows(terms, {"smoker": 1})
    column = dict(zip(terms, rows.T, strict=True))
    assert (column["region[north]"] == 1).all() and (column["region[east]"] == 0).all()
    assert (column["smoker"] == 1).all() and (column["dose"] == 2.0).all()
    assert list(column["visits"]) == list(range(2, 9))
    assert plan.line_settings() == [{"smoker": 0}, {"smoker": 1}]


def test_no_lines_gives_one_line(table):
    plan, _ = plan_for(table, PredictionSetting(WHERE, "main", False, lines=()))
    assert plan.lines == () and plan.line_settings() == [{}]


def test_a_plan_survives_fit_json():
    plan = PredictionPlan("m", "dose", (1.0, 2.0), ("urban",), {"region": "east"}, {"x": "set"})
    assert PredictionPlan.from_record(plan.record()) == plan


# --- what the data shows to be wrong: named with the file, the key and the valid choices --------


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        (dict(x="female"), f"{WHERE}: predictions.x: 'female' is binary in the data; the x-axis "
                           "needs a numeric predictor with more than two values: visits, dose."),
        (dict(x="region"), "predictions.x: 'region' is categorical in the data"),
        (dict(lines=("visits", "urban")), "predictions.lines: 'visits' not 0/1 in the data; lines "
                                          "need 0/1 predictors: female, urban, smoker."),
        (dict(at={"region": "west"}), "predictions.at.region: 'west' is not a level of 'region'; "
                                      "levels: south, east, north."),
        (dict(at={"visits": "many"}), "predictions.at.visits: 'many' is not a number"),
    ],
)  # fmt: skip
def test_a_setting_the_data_cannot_give_is_a_problem_saying_what_to_change(table, setting, message):
    with pytest.raises(PredictionProblem) as error:
        plan_for(table, PredictionSetting(WHERE, "main", False, **setting))
    assert message in str(error.value)


def test_a_model_without_a_numeric_predictor_has_no_x_axis(table):
    with pytest.raises(PredictionProblem, match="no numeric predictor with more than two values"):
        plan_for(table, formula="y ~ female + region + (1 | site)")


def test_x_grid_is_whole_numbers_for_a_short_integer_range_else_21_points():
    assert x_grid(np.array([3.0, 5.0, 4.0])) == (3.0, 4.0, 5.0)
    assert len(x_grid(np.arange(0.0, 100.0))) == 21
    assert len(x_grid(np.array([0.25, 0.5]))) == 21


# --- names checked when the config loads -------------------------------------------------------

MODELS = {
    "null": parse_formula("y ~ 1 + (1 | site)", "null"),
    "main": parse_formula(FORMULA, "main"),
    "small": parse_formula("y ~ dose + (1 | site)", "small"),
}


def test_the_default_model_is_the_last_with_a_predictor():
    setting, problems = check_setting(None, {k: MODELS[k] for k in ("main", "null")}, {}, WHERE)
    assert (setting.model, setting.model_by_default, problems) == ("main", True, [])
    assert check_setting(None, {"null": MODELS["null"]}, {}, WHERE)[0].model is None


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"model": "ful"}, f"{WHERE}: predictions.model: no model 'ful'; models: null, main, small."),
        ({"model": "small", "x": "visits"},
         f"{WHERE}: predictions.x: 'visits' is not in the model; the predictors of model 'small' "
         "are dose."),
        ({"lines": ["female", "sex"]}, "predictions.lines: 'sex' is not in the model; the "
                                       "predictors of model 'small' are dose."),
        ({"model": "main", "at": {"dosage": 1}}, "predictions.at.dosage: 'dosage' is not in the "
                                                 "model; the predictors of model 'main' are female, "
                                                 "visits, region, dose, urban, smoker."),
        ({"model": "main", "x": "dose", "at": {"dose": 1}},
         "predictions.at.dose: 'dose' is varied (x or lines)"),
        ({"model": "main", "x": "region"}, "predictions.x: 'region' is declared categorical"),
        ({"model": "main", "at": {"visits": "3"}}, "predictions.at.visits: '3' is not a number"),
    ],
)  # fmt: skip
def test_unknown_names_are_config_errors_listing_the_valid_ones(raw, message):
    declared = {"region": {"type": "categorical"}, "visits": {"type": "numeric"}}
    _, problems = check_setting(raw, MODELS, declared, WHERE)
    assert any(message in p for p in problems), problems


def test_for_model_passes_the_setting_only_to_its_model():
    setting, _ = check_setting({"x": "dose", "lines": ["urban"]}, MODELS, {}, WHERE)
    assert setting.for_model("main") is None
    params = setting.for_model("small")
    assert params["x"] == "dose" and params["lines"] == ["urban"]  # plain types for Snakemake
    assert PredictionSetting.from_params(params) == setting


def test_a_cohort_file_with_a_bad_predictions_key_stops_at_config_load(tmp_path):
    cohort = copy.deepcopy(TINY_COHORT)
    cohort["predictions"] = {"model": "small", "x": "child_ag", "colour": "red"}
    message = problems_for(tmp_path, cohort)
    assert "unknown key 'colour' under predictions" in message
    cohort["predictions"] = {"model": "small", "x": "child_ag"}
    message = problems_for(tmp_path, cohort)
    assert (
        "predictions.x: 'child_ag' is not in the model; the predictors of model 'small'" in message
    )


# --- the engines' after-fit step --------------------------------------------------------------


def test_the_after_fit_step_plans_predicts_or_says_why(table):
    """fit_json_predictions: {} off the predictions model; the plan and rows on it; the reason
    when the plan cannot be made; the plan alone for a failed fit."""
    from types import SimpleNamespace

    from sessionmlm.engines import Fitted
    from sessionmlm.predictions import fit_json_predictions

    spec = parse_formula(FORMULA, "main")
    reference = {"region": "south"}
    data = build_model_data(table, spec, reference)
    setting = PredictionSetting(WHERE, "main")

    def predict(result, data, plan):
        return None if not result.converged else pd.DataFrame({"x": list(plan.x_values)})

    def step(predictions, converged=True):
        result = SimpleNamespace(converged=converged)
        fitted = Fitted(result, data, table, reference, ("site", "household"), 11, predictions)
        return fit_json_predictions(fitted, predict)

    assert step(None) == {}
    made = step(setting.for_model("main"))
    assert made["predicted_for"]["x"] == "dose" and len(made["predicted"]) == 21
    assert set(step(setting.for_model("main"), converged=False)) == {"predicted_for"}
    wrong = PredictionSetting(WHERE, "main", x="region")  # categorical: found by the fit job
    problem = step(wrong.for_model("main"))
    assert set(problem) == {"predicted_problem"} and "region" in problem["predicted_problem"]


def test_interactions_and_within_between_parts_get_their_model_row_values(table):
    from dataclasses import replace

    # Several sessions per household, so a 0/1 predictor varies within households.
    t = table.assign(household=(np.arange(len(table)) // 3).astype(str))
    spec = replace(
        parse_formula("y ~ female*dose + urban + (1 | site/household)", "main"),
        within_between=("urban",),
    )
    data = build_model_data(t, spec, {})
    plan = plan_predictions(PredictionSetting(WHERE, "main", x="dose", lines=("female",)), data, {})
    assert plan.within == {"urban (within household)": "urban"}
    terms = ["Intercept", *data.terms]
    rows = plan.model_rows(terms, {"female": 1})
    col = {term: rows[:, j] for j, term in enumerate(terms)}
    assert np.allclose(col["female:dose"], col["dose"])  # female = 1: the product is dose
    assert np.allclose(col["dose"], plan.x_values)
    # urban held at its mean: its within part 0, its between parts at their means.
    assert np.allclose(col["urban (within household)"], 0.0)
    for part in ("urban (between household)", "urban (between site)"):
        assert np.allclose(col[part], data.X[:, data.terms.index(part)].mean())
    # urban set: the within part is the value minus urban's mean.
    at = plan_predictions(
        PredictionSetting(WHERE, "main", x="dose", lines=("female",), at={"urban": 1}), data, {}
    )
    mean = data.X[:, [data.terms.index(p) for p in dict(data.parts)["urban"]]].sum(axis=1).mean()
    row = at.model_rows(terms, {"female": 0})[0]
    assert row[terms.index("urban (within household)")] == pytest.approx(1 - mean)
    assert PredictionPlan.from_record(at.record()) == at
