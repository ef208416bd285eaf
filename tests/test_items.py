"""Coded items: model templates written once and fitted per item (items.py, config.py)."""

import copy

import pytest

from sessionmlm.config import ConfigError, load_config
from sessionmlm.items import expand_items, expansion_summary
from sessionmlm.simulate import TrueParameters, simulate_cohort

from .conftest import TINY, TINY_COHORT, write_project

ITEMS = {
    "hw_assigned": {"column": "hw_assigned", "positive": [1], "negative": [0]},
    "hw_reviewed": {"column": "hw_reviewed", "positive": [1], "negative": [0]},
    "extent": {"column": "hw_extensiveness", "order": [0, 1, 2, 3, 4]},
}


def coding_cohort(**changes):
    cohort = copy.deepcopy(TINY_COHORT)
    cohort.update(
        items=copy.deepcopy(ITEMS),
        models={
            "null": "homework ~ 1 + (1 | therapist/client)",
            "bare": "item ~ 1 + (1 | therapist/client)",
            "small": "item ~ caregiver_present + licensed + (1 | therapist/client)",
        },
        engines=["ml", "gee"],
    )
    cohort.update(changes)
    return cohort


def load(tmp_path, cohort):
    table = simulate_cohort(TINY, TrueParameters(), seed=3)
    write_project(tmp_path, {"tiny": cohort}, {"data/tiny/sessions.csv": table})
    return load_config({"cohorts_dir": "config/cohorts"}, workdir=tmp_path)


def test_each_template_is_fitted_for_each_item(tmp_path):
    tiny = load(tmp_path, coding_cohort()).cohorts["tiny"]
    assert list(tiny.models) == [
        "null",
        "hw_assigned-bare", "hw_reviewed-bare", "extent-bare",
        "hw_assigned-small", "hw_reviewed-small", "extent-small",
    ]  # fmt: skip
    assert tiny.items == ("hw_assigned", "hw_reviewed", "extent")
    assert tiny.item_models["extent-small"] == ("extent", "small")
    assert "null" not in tiny.item_models
    small = tiny.models["hw_reviewed-small"]
    assert small.outcome == "hw_reviewed" and small.predictors == ("caregiver_present", "licensed")
    assert small.formula.startswith("hw_reviewed ~")
    assert tiny.outcomes["extent"].ordinal and tiny.outcomes["extent"].key == "items.extent"
    # The ingest cohort keeps the items (outcomes to code) but not the models.
    ingest = tiny.for_ingest()
    assert ingest.items == tiny.items and not ingest.models and not ingest.item_models


def test_expansion_summary_counts_templates_and_items():
    raw = coding_cohort()
    _, item_models, problems = expand_items(raw, "tiny.yaml")
    assert not problems
    assert expansion_summary(item_models) == "2 templates (bare, small) x 3 items = 6 models"


def test_within_between_may_name_a_template(tmp_path):
    cohort = coding_cohort(
        within_between={"predictors": ["caregiver_present"], "models": ["small"]}
    )
    tiny = load(tmp_path, cohort).cohorts["tiny"]
    assert tiny.models["extent-small"].within_between == ("caregiver_present",)
    assert not tiny.models["null"].within_between


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"items": None}, "`item ~` stands for each coded item, but the cohort lists no items"),
        ({"models": {"null": "homework ~ 1 + (1 | therapist/client)"}},
         "items: no model is written for them"),
        ({"outcome": None, "outcomes": {"hw_assigned": ITEMS["hw_assigned"]}},
         "items.hw_assigned: also defined under outcomes; define it once."),
        ({"items": {"item": ITEMS["hw_assigned"]}}, "`item` is the placeholder of templates"),
    ],
)  # fmt: skip
def test_item_mistakes_are_named(tmp_path, changes, message):
    cohort = coding_cohort()
    for key, value in changes.items():
        if value is None:
            cohort.pop(key)
        else:
            cohort[key] = value
    with pytest.raises(ConfigError) as raised:
        load(tmp_path, cohort)
    assert message in str(raised.value)


def test_an_item_with_a_misspelt_column_is_named_under_items(tmp_path):
    cohort = coding_cohort()
    cohort["items"]["extent"]["column"] = "hw_extensivness"
    with pytest.raises(ConfigError) as raised:
        load(tmp_path, cohort)
    assert "items.extent: column 'hw_extensivness' is not in sessions.csv" in str(raised.value)
    assert "Closest: 'hw_extensiveness'" in str(raised.value)


def test_a_cohort_may_have_items_and_no_other_outcome(tmp_path):
    cohort = coding_cohort(models={"small": "item ~ licensed + (1 | therapist/client)"})
    cohort.pop("outcome")
    tiny = load(tmp_path, cohort).cohorts["tiny"]
    assert list(tiny.outcomes) == ["hw_assigned", "hw_reviewed", "extent"]
    assert len(tiny.models) == 3
