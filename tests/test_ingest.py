import copy
import re

import numpy as np
import pandas as pd
import pytest
import yaml

from sessionmlm.config import ConfigError, load_config
from sessionmlm.ingest import ValidationError, pseudonymise, to_canonical
from sessionmlm.variables import Variable

from .conftest import TINY_COHORT, write_project


def cohort_for(tmp_path, table, **edits):
    cohort = copy.deepcopy(TINY_COHORT) | edits
    write_project(tmp_path, {"tiny": cohort}, {"data/tiny/sessions.csv": table})
    config = yaml.safe_load((tmp_path / "config" / "config.yaml").read_text())
    config["cohorts_dir"] = str(tmp_path / "config" / "cohorts")
    return load_config(config, workdir=tmp_path).cohorts["tiny"]


def raw(path):
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def test_maps_codes_outcome_union_and_pseudonymises(tmp_path, tiny_table):
    cohort = cohort_for(tmp_path, tiny_table)
    table, check = to_canonical(raw(cohort.data), cohort, b"k1")
    assert check.ok
    assert list(table.columns[:4]) == ["therapist", "client", "session", "homework"]
    expected = (tiny_table.hw_assigned | tiny_table.hw_reviewed).to_numpy(float)
    assert np.array_equal(table.homework.to_numpy(), expected)
    assert np.array_equal(
        table.caregiver_present, (tiny_table.caregiver_present == "Y").astype(float)
    )
    assert table.child_age.dtype == float
    raw_ids = set(tiny_table.therapist_id) | set(tiny_table.client_id) | set(tiny_table.session_id)
    assert not raw_ids & set(table[["therapist", "client", "session"]].to_numpy().ravel())
    assert table.therapist.str.fullmatch(r"T-[0-9a-f]{12}").all()
    # Same key, same pseudonyms; another key, others; same number of distinct units.
    again, _ = to_canonical(raw(cohort.data), cohort, b"k1")
    other, _ = to_canonical(raw(cohort.data), cohort, b"k2")
    assert again.client.equals(table.client) and not other.client.equals(table.client)
    assert table.client.nunique() == tiny_table.client_id.nunique()


def test_pseudonyms_are_keyed_per_level():
    ids = pd.Series(["7", "7", "8"])
    a = pseudonymise(ids, "client", b"k")
    b = pseudonymise(ids, "therapist", b"k")
    assert a[0] == a[1] != a[2] and a[0][2:] != b[0][2:]


def test_missing_codes_become_missing(tmp_path, tiny_table):
    tiny_table.loc[[0, 5], "child_age"] = -99
    tiny_table.loc[3, "caregiver_present"] = "NA"
    cohort = cohort_for(tmp_path, tiny_table)
    table, check = to_canonical(raw(cohort.data), cohort, b"k")
    assert check.ok
    assert table.child_age.isna().sum() == 2 and table.caregiver_present.isna().sum() == 1


def test_every_problem_found_with_rows_and_fix(tmp_path, tiny_table):
    tiny_table.loc[[4, 9], "caregiver_present"] = "maybe"
    tiny_table.loc[7, "hw_assigned"] = 2
    tiny_table.loc[12, "session_id"] = tiny_table.loc[11, "session_id"]
    # Client of row 20 also seen under another therapist.
    tiny_table.loc[20, "client_id"] = tiny_table.loc[
        tiny_table.therapist_id != tiny_table.loc[20, "therapist_id"], "client_id"
    ].iloc[0]
    cohort = cohort_for(tmp_path, tiny_table)
    _, check = to_canonical(raw(cohort.data), cohort, b"k")
    text = "\n".join(str(p) for p in check.problems)
    assert (
        "column 'caregiver_present', rows 6, 11 (2 in all): value(s) ['maybe'] are not in codes.caregiver_present. Add them under codes.caregiver_present"
        in text
    )
    assert (
        "column 'hw_assigned', rows 9 (1 in all): outcome code(s) ['2'] are neither positive ['1'] nor negative ['0']"
        in text
    )
    assert "column 'session_id', rows 13, 14 (2 in all): duplicate session ids" in text
    assert re.search(
        r"column 'client_id', rows [\d, ]+ \(\d+ in all\): a client_id appears under more than one therapist_id",
        text,
    )
    with pytest.raises(ValidationError, match="4 problem"):
        raise ValidationError(check)


def test_reference_level_that_never_occurs(tmp_path, tiny_table):
    cohort = cohort_for(
        tmp_path, tiny_table, reference={"ebp": "MAPP"},
        models={"m": "homework ~ ebp + (1 | therapist/client)"},
    )  # fmt: skip
    _, check = to_canonical(raw(cohort.data), cohort, b"k")
    assert "reference level 'MAPP' never occurs" in str(check.problems[0])


def test_declared_types_ranges_and_levels_are_checked_all_at_once(tmp_path, tiny_table):
    table = tiny_table.astype({"child_age": str, "direct_hours": str})
    table.loc[4, "child_age"] = "eleven"  # not a number
    table.loc[7, "direct_hours"] = "400"  # outside its range
    first_client = table.client_id == table.client_id.iloc[0]  # client with sessions 1-2
    table.loc[first_client.idxmax(), "ebp"] = "CPP"  # a client-level value that varies
    variables = {
        "child_age": {"level": "client", "type": "numeric", "min": 3, "max": 18},
        "direct_hours": {"level": "therapist", "type": "numeric", "min": 0, "max": 60},
        "ebp": {"level": "client", "type": "categorical"},
    }
    cohort = cohort_for(tmp_path, table, variables=variables)
    _, check = to_canonical(raw(cohort.data), cohort, b"k")
    text = "\n".join(str(p) for p in check.problems)
    assert "column 'child_age', rows 6 (1 in all): value(s) ['eleven'] are not numbers" in text
    assert (
        "column 'direct_hours', rows 9 (1 in all): value(s) ['400'] are outside the range [0, 60]"
        in text
    )
    assert "column 'ebp', rows 2, 3 (2 in all): takes more than one value within a client" in text
    # child_age of that row is now unreadable, so it varies within its client too: all found.
    assert len(check.problems) >= 3


def test_a_cohort_too_small_for_its_levels_is_stopped_with_counts(tmp_path, tiny_table):
    few = tiny_table[tiny_table.therapist_id.isin(tiny_table.therapist_id.unique()[:6])]
    cohort = cohort_for(tmp_path, few)
    _, check = to_canonical(raw(cohort.data), cohort, b"k")
    assert any("only 6 therapists: too few to estimate the therapist variance" in str(p)
               for p in check.problems)  # fmt: skip
    singles = tiny_table.drop_duplicates("client_id")  # one session per client
    cohort = cohort_for(tmp_path / "b", singles)
    _, check = to_canonical(raw(cohort.data), cohort, b"k")
    assert any("each of the 80 clients has a single session" in str(p)
               for p in check.problems), [str(p) for p in check.problems]  # fmt: skip


def test_a_declared_level_must_exist(tmp_path, tiny_table):
    with pytest.raises(ConfigError, match=r"variables.child_age.level: 'patient' is not a level"):
        cohort_for(tmp_path, tiny_table, variables={"child_age": {"level": "patient"}})


def test_missing_data_stop_makes_missing_values_problems(tmp_path, tiny_table):
    table = tiny_table.astype({"child_age": str})
    table.loc[[2, 9], "child_age"] = "NA"
    cohort = cohort_for(tmp_path, table)
    _, check = to_canonical(raw(cohort.data), cohort, b"k")
    assert check.ok  # the default: listwise deletion per model, counted in the report
    cohort = cohort_for(tmp_path / "stop", table, missing_data="stop")
    _, check = to_canonical(raw(cohort.data), cohort, b"k")
    assert [str(p).split(":")[1] for p in check.problems] == [
        " column 'child_age', rows 4, 11 (2 in all)"
    ]


def cohort_with_outcomes(tmp_path, table, outcomes, **edits):
    """The tiny cohort with `outcomes:` in place of its `outcome:`."""
    cohort = copy.deepcopy(TINY_COHORT) | edits | {"outcomes": outcomes}
    del cohort["outcome"]
    write_project(tmp_path, {"tiny": cohort}, {"data/tiny/sessions.csv": table})
    config = yaml.safe_load((tmp_path / "config" / "config.yaml").read_text())
    config["cohorts_dir"] = str(tmp_path / "config" / "cohorts")
    return load_config(config, workdir=tmp_path).cohorts["tiny"]


HOMEWORK = {"any_of": ["hw_assigned", "hw_reviewed"], "positive": [1], "negative": [0]}


def test_each_outcome_gets_its_column_its_record_and_its_own_problems(tmp_path, tiny_table):
    cohort = cohort_with_outcomes(
        tmp_path, tiny_table, {"homework": HOMEWORK, "reviewed": {"column": "hw_reviewed"}}
    )
    table, check = to_canonical(raw(cohort.data), cohort, b"k")
    assert check.ok
    assert list(table.columns[:5]) == ["therapist", "client", "session", "homework", "reviewed"]
    assert np.array_equal(table.reviewed, tiny_table.hw_reviewed.to_numpy(float))
    assert check.variables["reviewed"]["type"] == "binary"
    assert check.variables["reviewed"]["type_inferred"] is False
    tiny_table.loc[3, "hw_reviewed"] = 7
    cohort = cohort_with_outcomes(
        tmp_path / "b", tiny_table, {"homework": HOMEWORK, "reviewed": {"column": "hw_reviewed"}}
    )
    _, check = to_canonical(raw(cohort.data), cohort, b"k")
    text = "\n".join(str(p) for p in check.problems)
    # One bad cell, found for each outcome that reads it, each naming its own keys.
    assert "List them under outcome.positive" not in text
    assert "List them under outcomes.homework.positive or outcomes.homework.negative" in text
    assert "List them under outcomes.reviewed.positive or outcomes.reviewed.negative" in text


def test_an_ordinal_outcome_is_stored_as_category_indices_with_its_categories(tmp_path, tiny_table):
    tiny_table["rating"] = ["low", "mid", "high", "-99", "Mid"] * 40
    extent = {"column": "rating", "order": ["low", "mid", "high"]}
    cohort = cohort_with_outcomes(tmp_path, tiny_table, {"homework": HOMEWORK, "extent": extent})
    table, check = to_canonical(raw(cohort.data), cohort, b"k")
    assert check.ok, [str(p) for p in check.problems]
    assert np.array_equal(table.extent, [0.0, 1, 2, np.nan, 1] * 40, equal_nan=True)
    assert check.variables["extent"] == {
        "name": "extent", "type": "ordinal", "level": "session", "type_inferred": False,
        "level_inferred": False, "categories": ["low", "mid", "high"],
        "reference_inferred": False,
    }  # fmt: skip
    assert table.attrs["variables"]["extent"]["categories"] == ["low", "mid", "high"]
    shown = str(Variable.from_dict(check.variables["extent"]))  # as the ingest job logs it
    assert shown == "extent: ordinal, session level, categories low < mid < high"
    assert any("rating" in str(q) and "ignoring case" in str(q) for q in check.quirks)


def test_an_ordinal_outcome_reaches_the_model_through_the_parquet_file(tmp_path, tiny_table):
    from sessionmlm.formula import parse_formula
    from sessionmlm.model_data import build_model_data

    tiny_table["rating"] = [i % 5 for i in range(len(tiny_table))]
    extent = {"column": "rating", "order": [0, 1, 2, 3, 4]}
    cohort = cohort_with_outcomes(tmp_path, tiny_table, {"homework": HOMEWORK, "extent": extent})
    table, check = to_canonical(raw(cohort.data), cohort, b"k")
    table.to_parquet(tmp_path / "sessions.parquet")
    stored = pd.read_parquet(tmp_path / "sessions.parquet")
    spec = parse_formula("extent ~ licensed + (1 | therapist/client)", "m")
    data = build_model_data(stored, spec, {})
    assert data.ordinal and data.categories == ("0", "1", "2", "3", "4")
    assert data.threshold_names == ("0|1", "1|2", "2|3", "3|4")
    assert np.array_equal(data.y, tiny_table.rating.to_numpy(float))
    homework = build_model_data(stored, parse_formula("homework ~ 1 + (1 | therapist)", "h"), {})
    assert not homework.ordinal and homework.categories == ("0", "1")


def test_codes_map_text_ratings_and_at_least_makes_a_binary_outcome(tmp_path, tiny_table):
    words = ["never", "rarely", "often", "always"]
    tiny_table["rating"] = [words[i % 4] for i in range(len(tiny_table))]
    tiny_table["score"] = [str(i % 4) for i in range(len(tiny_table))]
    scale = {word: i for i, word in enumerate(words)}
    outcomes = {
        "homework": HOMEWORK,
        "extent": {"column": "rating", "order": [0, 1, 2, 3]},
        "often": {"column": "rating", "order": [0, 1, 2, 3], "at_least": 2},
        "by_number": {"column": "score", "at_least": 3},
    }
    codes = TINY_COHORT["codes"] | {"extent": scale, "often": scale}
    cohort = cohort_with_outcomes(tmp_path, tiny_table, outcomes, codes=codes)
    table, check = to_canonical(raw(cohort.data), cohort, b"k")
    assert check.ok, [str(p) for p in check.problems]
    assert np.array_equal(table.extent, [0.0, 1, 2, 3] * 50)
    assert np.array_equal(table.often, [0.0, 0, 1, 1] * 50)
    assert np.array_equal(table.by_number, [0.0, 0, 0, 1] * 50)
    assert check.variables["often"]["type"] == "binary"


def test_ordinal_outcome_codes_outside_the_order_are_named_with_the_fix(tmp_path, tiny_table):
    tiny_table["rating"] = [str(i % 3) for i in range(len(tiny_table))]
    tiny_table["score"] = "1"
    tiny_table.loc[[4, 9], "rating"] = "7"
    tiny_table.loc[2, "score"] = "lots"
    tiny_table.loc[6, "caregiver_present"] = "maybe"
    outcomes = {
        "homework": HOMEWORK,
        "extent": {"column": "rating", "order": [0, 1, 2]},
        "any_score": {"column": "score", "at_least": 1},
    }
    cohort = cohort_with_outcomes(tmp_path, tiny_table, outcomes)
    _, check = to_canonical(raw(cohort.data), cohort, b"k")
    text = "\n".join(str(p) for p in check.problems)
    assert (
        "sessions.csv: column 'rating', rows 6, 11 (2 in all): outcome code(s) ['7'] are not in "
        "outcomes.extent.order [0, 1, 2]. Add them to outcomes.extent.order in tiny.yaml "
        "(lowest first), map them to codes of the order under codes.extent, or list them under "
        "missing." in text
    )
    assert (
        "column 'score', rows 4 (1 in all): outcome code(s) ['lots'] are not numbers, and "
        "outcomes.any_score.at_least compares numbers. Give outcomes.any_score.order" in text
    )
    # All at once: the predictor's problem too; and every other score is 1: no variation.
    assert "value(s) ['maybe'] are not in codes.caregiver_present" in text
    assert (
        "column 'any_score': the outcome takes the single value 1 in every session. Check "
        "outcomes.any_score.at_least: nothing can be estimated." in text
    )
