"""The report's predicted-probability section for a cohort with other names and levels."""

from __future__ import annotations

import re
from html import unescape
from types import SimpleNamespace

import numpy as np
import pandas as pd

from sessionmlm.prediction_plan import PredictionPlan
from sessionmlm.predictions import ML_DRAWS, probabilities_from_draws
from sessionmlm.report import Fit
from sessionmlm.report.predictions import (
    predicted_table,
    prediction_source,
    predictions_section,
)

TERMS = ["Intercept", "kid2p", "mom25p", "pcInd81", "ethn[N]"]
PLAN = PredictionPlan(
    model="full",
    x="pcInd81",
    x_values=tuple(np.linspace(0.0, 0.9, 21)),
    lines=("kid2p", "mom25p"),
    held={"ethn": "L"},
    how={
        "model": "chosen by default: the last model with a predictor",
        "x": "chosen by default: the numeric predictor with the most distinct values",
        "lines": "set in config/cohorts/guatemala.yaml",
        "ethn": "by default: its reference level",
    },
)


def fit(engine: str = "ml", model: str = "full", predicted: bool = True) -> Fit:
    info = {"converged": True}
    if predicted:
        beta = np.random.default_rng(1).normal([-0.3, 0.8, 0.1, -1.2, 0.4], 0.1, size=(200, 5))
        table = probabilities_from_draws(TERMS, beta, np.full((200, 2), 0.9), PLAN)
        info |= {
            "predicted": table.to_dict("records"),
            "predicted_for": PLAN.record(),
        }
    variance = pd.DataFrame({"level": ["comm", "mom"], "sd": [0.9, 0.9]})
    return Fit(model, engine, pd.DataFrame(), variance, info)


def section(source, fits, labels=None) -> str:
    return predictions_section(source, fits, "full", "immun", labels or {}, "kid")


def test_the_section_names_this_cohorts_variables_levels_and_defaults():
    html = section(fit(), [fit()], {"immun": "the child was immunised"})
    text = unescape(re.sub(r"<[^>]+>", "", html))
    assert (
        "The chance that the child was immunised in a kid, across pcInd81, for each "
        "combination of kid2p and mom25p (model full, ml engine)." in text
    )
    assert "for an average comm and mom" in text and "averaged over comms and moms" in text
    # How the intervals were made is the engine's own wording.
    assert f"95% intervals from {ML_DRAWS:,} draws of the coefficients" in text
    # What was chosen by default is said, and what the file set is credited to it.
    assert "the x-axis pcInd81 (chosen by default: the numeric predictor with the most " in text
    assert "the lines kid2p, mom25p (set in config/cohorts/guatemala.yaml)" in text
    assert "ethn at L (by default: its reference level)" in text
    assert "3 of these were chosen by default; set predictions: in the cohort file" in text
    # Two figures (conditional, averaged), four lines each, and the table at 4 values of x.
    assert html.count("<figure>") == 2
    assert "kid2p no, mom25p no" in text and "kid2p yes, mom25p yes" in text
    assert "Predicted probabilities at 4 values of pcInd81" in text
    rows = re.findall(r"<tr><td>(for an average|averaged over)", html)
    assert len(rows) == 2 * 4 * 4
    for word in ("therapist", "client", "session", "homework", "caregiver", "child_age"):
        assert word not in text


def test_the_table_beside_the_report_has_the_cohorts_own_columns():
    table = predicted_table(fit())
    assert list(table.columns) == ["model", "engine", "kind", "kid2p", "mom25p", "pcInd81",
                                   "probability", "low", "high"]  # fmt: skip
    assert len(table) == 2 * 4 * 21 and set(table.kind) == {"conditional", "averaged"}
    assert list(predicted_table(None).columns) == [
        "model", "engine", "kind", "probability", "low", "high"
    ]  # fmt: skip


def test_the_lead_engine_is_preferred_and_a_fit_without_predictions_skipped():
    def cohort(engines, model="full"):
        return SimpleNamespace(engines=engines, predictions=SimpleNamespace(model=model))

    fits = [fit("bayes", predicted=False), fit("ml")]
    assert prediction_source(cohort(["bayes", "ml"]), fits).engine == "ml"
    assert prediction_source(cohort(["bayes", "ml"]), [fit("ml"), fit("bayes")]).engine == "bayes"
    # Without the lead engine's, the highest-ranked engine's predictions are shown.
    assert prediction_source(cohort(["gee", "bayes", "ml"]), [fit("bayes"), fit("ml")]).engine == (
        "bayes"
    )
    assert prediction_source(cohort(["gee"]), [fit("gee", predicted=False)]) is None
    # Only the cohort's predictions model is shown.
    assert prediction_source(cohort(["ml"], "other"), [fit("ml")]) is None


def test_no_predictions_is_never_silent():
    problem = fit(predicted=False)
    problem.info["predicted_problem"] = "model 'full' has no numeric x"
    html = section(None, [problem])
    assert "No predicted probabilities: model &#x27;full&#x27; has no numeric x" in html
    gee_only = section(None, [fit("gee", predicted=False)])
    assert "No predicted probabilities" in gee_only and "gee passed" in gee_only
    # A cohort whose models have no predictor has nothing to predict, and no section.
    assert predictions_section(None, [], None, "immun", {}, "kid") == ""
