"""Likelihood-ratio tests and information criteria across a cohort's ml fits."""

import pytest
from scipy import stats

from sessionmlm.compare import information_criteria, likelihood_ratio_tests


def info(terms, loglik, rows="r1", units=("therapist", "client"), converged=True, outcome="y"):
    k = len(terms) + len(units)
    return {"terms": ["Intercept", *terms], "loglik": loglik, "n_params": k + 1, "n_obs": 680,
            "rows_hash": rows, "units": dict.fromkeys(units, 10), "converged": converged,
            "aic": -2 * loglik + 2 * (k + 1), "bic": 0.0,
            "formula": f"{outcome} ~ {' + '.join(['1', *terms])} + (1 | therapist/client)"}  # fmt: skip


def test_nested_pairs_get_a_chi_square_test_in_either_order():
    fits = {"full": info(["a", "b", "c"], -400.0), "null": info([], -410.0),
            "controls": info(["a"], -405.0)}  # fmt: skip
    tests = likelihood_ratio_tests(fits).set_index(["smaller", "larger"])
    assert len(tests) == 3
    row = tests.loc[("null", "full")]
    assert row["statistic"] == pytest.approx(20.0) and row["df"] == 3
    assert row["p_value"] == pytest.approx(stats.chi2.sf(20.0, 3))
    assert tests.loc[("controls", "full"), "df"] == 2


def test_pairs_that_are_not_comparable_are_left_out():
    fits = {
        "a": info(["x"], -400.0),
        "b": info(["y"], -399.0),  # not nested in a
        "c": info(["x", "y"], -398.0, rows="r2"),  # other sessions (missing values differ)
        "d": info(["x", "y"], -397.0, units=("therapist",)),  # other grouping
        "e": info(["x", "y", "z"], -396.0, converged=False),  # failed fits take no part
        "f": info(["x", "y", "z"], -395.0, outcome="rating"),  # another outcome
        # a random slope more: its variance is tested on its boundary, not chi-square
        "g": info(["x", "y", "w"], -394.0) | {"slopes": {"therapist": ["x"]}},
    }
    assert likelihood_ratio_tests(fits).empty


def test_information_criteria_list_converged_fits_only():
    fits = {"null": info([], -410.0), "bad": info(["a"], -400.0, converged=False)}
    table = information_criteria(fits)
    assert list(table["model"]) == ["null"]
    assert table["aic"].iloc[0] == pytest.approx(2 * 410 + 2 * 3)
