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
