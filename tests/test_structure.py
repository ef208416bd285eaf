"""Model structure from formula and cohort file: parts, interactions, crossed levels, depth."""

import copy

import numpy as np
import pandas as pd
import pytest
import yaml

from sessionmlm import engines
from sessionmlm.config import load_config
from sessionmlm.formula import parse_formula
from sessionmlm.ingest import to_canonical
from sessionmlm.model_data import ModelDataError, build_model_data
from sessionmlm.structure import complete_spec

from .conftest import TINY_COHORT, write_project

GROUPING = ("program", "therapist", "client")


def four_levels():
    """Two programs, client ids reused across therapists (identified within their parent)."""
    return pd.DataFrame(
        {
            "program": ["p", "p", "p", "p", "q", "q", "q", "q"],
            "therapist": ["a", "a", "b", "b", "c", "c", "d", "d"],
            "client": ["1", "1", "1", "2", "1", "1", "1", "1"],
            "y": [1.0, 0, 1, 0, 1, 1, 0, 0],
            "x": [1.0, 0, 1, 1, 0, 1, 0, 0],
            "age": [5.0, 5, 7, 9, 6, 6, 8, 8],
            "ebp": pd.array(
                ["MAP", "CPP", "MAP", "CPP", "MAP", "CPP", "CPP", "MAP"], dtype="string"
            ),
        }
    )


def spec_for(formula, raw=None):
    spec, problems = complete_spec(parse_formula(formula, "m"), raw or {}, GROUPING, "c.yaml")
    assert problems == []
    return spec


def test_units_of_every_level_are_identified_within_all_their_parents():
    # (1 | program/client): clients named "1" under different therapists stay apart.
    data = build_model_data(four_levels(), spec_for("y ~ x + (1 | program) + (1 | client)"), {})
    assert data.groups == ("program", "client")
    assert data.n_units == (2, 5)
    assert data.nested
    deep = build_model_data(four_levels(), spec_for("y ~ x + (1 | program/therapist/client)"), {})
    assert deep.n_units == (2, 4, 5)


def test_a_crossed_level_is_identified_by_its_own_id():
    spec = spec_for("y ~ x + (1 | therapist) + (1 | client)", {"crossed": ["client"]})
    assert spec.crossed and spec.unit_keys == (("program", "therapist"), ("client",))
    data = build_model_data(four_levels(), spec, {})
    assert data.n_units == (4, 2)  # clients "1" and "2", shared by therapists
    assert not data.nested


def test_within_between_parts_add_up_to_the_predictor():
    spec = spec_for("y ~ age + x + (1 | therapist/client)", {"within_between": ["x"]})
    table = four_levels().assign(x=[1.0, 0, 1, 0, 0, 1, 0, 0])
    data = build_model_data(table, spec, {})
    parts = ["x (within client)", "x (between client)", "x (between therapist)"]
    assert data.terms == ("age", *parts)
    assert data.parts == (("x", tuple(parts)),)
    X = data.X[:, 1:]
    assert np.allclose(X.sum(axis=1), table["x"])  # within + between + between = x
    # Therapist a: sessions x = 1, 0 (one client): client mean .5, therapist mean .5.
    assert np.allclose(X[:2], [[0.5, 0, 0.5], [-0.5, 0, 0.5]])
    # Therapist b: clients 1 (x = 1) and 2 (x = 0), one session each: none within clients.
    assert np.allclose(X[2:4], [[0, 0.5, 0.5], [0, -0.5, 0.5]])


def test_a_part_that_does_not_vary_stops_the_model_naming_it():
    spec = spec_for("y ~ age + (1 | therapist/client)", {"within_between": ["age"]})
    with pytest.raises(
        ModelDataError, match=r"'age' does not vary in its part\(s\) 'age \(within client\)'"
    ):
        build_model_data(four_levels(), spec, {})


def test_interactions_are_products_of_the_predictors_columns():
    spec = spec_for("y ~ ebp*x + age + age:x + (1 | therapist)")
    data = build_model_data(four_levels(), spec, {"ebp": "MAP"})
    assert data.terms == ("ebp[CPP]", "x", "age", "ebp[CPP]:x", "age:x")
    assert np.allclose(data.X[:, 3], data.X[:, 0] * data.X[:, 1])
    assert np.allclose(data.X[:, 4], data.X[:, 2] * data.X[:, 1])


def test_an_interaction_no_session_has_is_named():
    table = four_levels().assign(x=[1.0, 0, 1, 0, 1, 0, 0, 0])  # x = 1 only with MAP
    with pytest.raises(ModelDataError, match=r"ebp\[CPP\]:x take a single value"):
        build_model_data(table, spec_for("y ~ ebp*x + (1 | therapist)"), {"ebp": "MAP"})


def test_random_slopes_name_their_columns():
    spec = spec_for("y ~ ebp + x + (1 + x + ebp | therapist) + (1 | client)")
    data = build_model_data(four_levels(), spec, {"ebp": "MAP"})
    assert data.slopes == (("therapist", ("x", "ebp[CPP]")),)
    assert data.slope_columns("therapist") == [1, 0]
    assert data.slope_columns("client") == []


def test_engines_say_which_structures_they_do_not_fit():
    crossed = spec_for("y ~ x + (1 | therapist) + (1 | client)", {"crossed": ["client"]})
    slope = spec_for("y ~ x + (1 + x | therapist)")
    assert engines.get("bayes").cannot_fit(crossed) == ""
    assert "crossed" in engines.get("ml").cannot_fit(crossed)
    assert "crossed" in engines.get("gee").cannot_fit(crossed)
    assert "random slopes" in engines.get("gee").cannot_fit(slope)


def cohort_file(tmp_path, table, **edits):
    cohort = copy.deepcopy(TINY_COHORT) | edits
    write_project(tmp_path, {"tiny": cohort}, {"data/tiny/sessions.csv": table})
    config = yaml.safe_load((tmp_path / "config" / "config.yaml").read_text())
    config["cohorts_dir"] = str(tmp_path / "config" / "cohorts")
    return config


def moving_clients(tiny_table):
    """The tiny cohort with one client's later sessions under another therapist."""
    table = tiny_table.copy()
    first = table.client_id.iloc[0]
    other = table.loc[table.therapist_id != table.therapist_id.iloc[0], "therapist_id"].iloc[0]
    rows = table.index[table.client_id == first][1:]
    table.loc[rows, "therapist_id"] = other
    return table, rows


def test_undeclared_crossing_still_stops_ingest_and_says_how_to_declare_it(tmp_path, tiny_table):
    table, rows = moving_clients(tiny_table)
    assert len(rows) > 0
    cohort = load_config(cohort_file(tmp_path, table), workdir=tmp_path).cohorts["tiny"]
    raw = pd.read_csv(cohort.data, dtype=str, keep_default_na=False)
    _, check = to_canonical(raw, cohort, b"k")
    text = "\n".join(str(p) for p in check.problems)
    assert "a client_id appears under more than one therapist_id" in text
    assert "declare it in the cohort file (crossed: [client])" in text


def test_declared_crossing_is_ingested_and_fitted_as_crossed(tmp_path, tiny_table):
    table, _ = moving_clients(tiny_table)
    models = {"crossed": "homework ~ caregiver_present + (1 | therapist) + (1 | client)"}
    config = cohort_file(tmp_path, table, crossed=["client"], models=models)
    cohort = load_config(config, workdir=tmp_path).cohorts["tiny"]
    raw = pd.read_csv(cohort.data, dtype=str, keep_default_na=False)
    canonical, check = to_canonical(raw, cohort, b"k")
    assert check.problems == []
    spec = cohort.models["crossed"]
    assert spec.crossed
    data = build_model_data(canonical, spec, {})
    assert not data.nested
    assert data.n_units[1] == table.client_id.nunique()


def test_config_checks_crossed_and_within_between(tmp_path, tiny_table):
    from sessionmlm.config import ConfigError

    config = cohort_file(
        tmp_path, tiny_table, crossed=["therapist", "nope"],
        within_between={"predictors": ["caregiver_present", "child_age"], "models": ["small", "big"]},
    )  # fmt: skip
    with pytest.raises(ConfigError) as error:
        load_config(config, workdir=tmp_path)
    text = str(error.value)
    assert "crossed: 'therapist' is not a grouping level below the outermost" in text
    assert "crossed: 'nope' is not a grouping level below the outermost" in text
    assert "within_between.models: no model 'big'" in text
    assert "within_between: 'child_age' is not a predictor of models.small" not in text
    assert "within_between: no model uses" not in text


def test_the_structure_of_the_demo_formulas_reaches_the_spec(tmp_path, tiny_table):
    models = {"wb": "homework ~ caregiver_present + child_age + (1 | client) + (1 | therapist)"}
    config = cohort_file(tmp_path, tiny_table, models=models, within_between=["caregiver_present"])
    spec = load_config(config, workdir=tmp_path).cohorts["tiny"].models["wb"]
    assert spec.groups == ("therapist", "client")  # in level order, whatever the formula's
    assert spec.within_between == ("caregiver_present",)


def test_nesting_is_checked_at_every_level_of_four(tmp_path, tiny_table):
    table = tiny_table.copy()
    therapists = table.therapist_id.unique()
    table["program_id"] = table.therapist_id.map(
        dict(zip(therapists, [f"p{i % 10}" for i in range(len(therapists))], strict=True))
    )
    moved = table.index[table.therapist_id == therapists[0]][-1:]  # one session elsewhere
    table.loc[moved, "program_id"] = "p9"
    levels = {"program": "program_id"} | TINY_COHORT["levels"]
    models = {"m": "homework ~ caregiver_present + (1 | program/therapist/client)"}
    cohort = load_config(cohort_file(tmp_path, table, levels=levels, models=models),
                         workdir=tmp_path).cohorts["tiny"]  # fmt: skip
    raw = pd.read_csv(cohort.data, dtype=str, keep_default_na=False)
    _, check = to_canonical(raw, cohort, b"k")
    text = "\n".join(str(p) for p in check.problems)
    assert "a therapist_id appears under more than one program_id" in text
    assert "client_id appears under more than one" not in text
