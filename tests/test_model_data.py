import numpy as np
import pandas as pd
import pytest

from sessionmlm.formula import parse_formula
from sessionmlm.model_data import ModelDataError, build_model_data


def table():
    return pd.DataFrame(
        {
            "therapist": ["a", "a", "a", "b", "b", "c"],
            "client": ["x", "x", "y", "z", "w", "v"],
            "homework": [1.0, 0, 1, 0, 1, np.nan],
            "ebp": pd.array(["MAP", "CPP", "MAP", "TF-CBT", "CPP", "MAP"], dtype="string"),
            "age": [5.0, np.nan, 9, 7, 12, 7],
        }
    )


def test_treatment_coding_with_configured_reference_and_listwise_deletion():
    spec = parse_formula("homework ~ ebp + age + (1 | therapist/client)", "m")
    data = build_model_data(table(), spec, {"ebp": "MAP"})
    assert data.terms == ("ebp[CPP]", "ebp[TF-CBT]", "age")
    # Row 1 (age missing) and row 5 (outcome missing) are dropped, each counted by variable.
    assert data.n_dropped == 2 and data.dropped == {"homework": 1, "age": 1}
    assert np.array_equal(data.X, [[0, 0, 5], [0, 0, 9], [0, 1, 7], [1, 0, 12]])
    assert np.array_equal(data.y, [1, 1, 0, 1])
    assert data.n_units == (2, 4)
    assert np.array_equal(data.unit_of_session[0], [0, 0, 1, 1])
    # Units of a nested level are identified within their parent.
    pairs = set(zip(data.unit_of_session[0], data.unit_of_session[1], strict=True))
    assert len({c for _, c in pairs}) == len(pairs)


def test_without_reference_the_first_sorted_level_is_reference():
    spec = parse_formula("homework ~ ebp + (1 | therapist)", "m")
    data = build_model_data(table(), spec, {})
    assert data.terms == ("ebp[MAP]", "ebp[TF-CBT]")


def test_same_client_id_under_two_therapists_makes_two_units_when_nested():
    t = table().assign(client=["x", "x", "y", "x", "w", "v"], age=5.0 + np.arange(6))
    data = build_model_data(t, parse_formula("homework ~ age + (1 | therapist/client)", "m"), {})
    assert data.n_units[1] == 4


def test_constant_predictor_and_constant_outcome_are_refused():
    t = table().assign(age=3.0)
    with pytest.raises(
        ModelDataError, match="5 complete sessions .*'age' takes the single value 3"
    ):
        build_model_data(t, parse_formula("homework ~ age + (1 | therapist)", "m"), {})
    t = table().assign(homework=1.0)
    with pytest.raises(ModelDataError, match="outcome 'homework' has no variation"):
        build_model_data(t, parse_formula("homework ~ 1 + (1 | therapist)", "m"), {})


def rated(extent: list[float]) -> pd.DataFrame:
    """The table with an ordinal outcome `extent` (category indices) recorded as ingest does."""
    t = table().assign(extent=extent)
    t.attrs["variables"] = {"extent": {"type": "ordinal", "categories": ["none", "some", "all"]}}
    return t


def test_an_ordinal_outcome_keeps_its_categories():
    spec = parse_formula("extent ~ age + (1 | therapist)", "m")
    data = build_model_data(rated([0.0, 1, 2, 1, 0, np.nan]), spec, {})
    assert data.outcome_type == "ordinal" and data.categories == ("none", "some", "all")
    assert np.array_equal(data.y, [0, 2, 1, 0])  # row 1 (age) and row 5 (outcome) left out
    assert data.threshold_names == ("none|some", "some|all")
    assert data.record()["category_shares"] == {"none": 0.5, "some": 0.25, "all": 0.25}


def test_an_ordinal_category_without_sessions_in_the_model_is_a_model_problem():
    from sessionmlm.model_data import model_problems

    spec = parse_formula("extent ~ age + (1 | therapist)", "m")
    # The only session rated "all" lacks age: the model keeps none.
    problems = model_problems(rated([0.0, 2, 1, 1, 0, 1]), spec, {})
    assert problems == [
        "model 'm': in its 5 complete sessions (1 dropped for missing values), category "
        "['all'] of the ordinal outcome 'extent' (categories ['none', 'some', 'all']) has no "
        "session, so the thresholds beside it cannot be estimated; merge it with a "
        "neighbouring category: map its code to the neighbour's under codes.extent and take "
        "it out of the outcome's order."
    ]
    with pytest.raises(ModelDataError, match="category \\['all'\\]"):
        build_model_data(rated([0.0, 2, 1, 1, 0, 1]), spec, {})


def test_outcome_values_that_are_not_category_indices_are_refused():
    spec = parse_formula("extent ~ 1 + (1 | therapist)", "m")
    with pytest.raises(ModelDataError, match="holds values other than 0 to 2"):
        build_model_data(rated([0.0, 1, 2, 3, 1, 0]), spec, {})
    with pytest.raises(ModelDataError, match="binary outcome 'homework' holds values other"):
        homework = parse_formula("homework ~ 1 + (1 | therapist)", "m")
        build_model_data(table().assign(homework=[0.0, 1, 2, 1, 0, 1]), homework, {})
