import copy

import pytest
import yaml

from sessionmlm.config import ConfigError, load_config, read_yaml
from sessionmlm.engines.bayes import BayesSettings, Prior

from .conftest import ROOT, TINY_COHORT, write_project


def test_committed_config_and_demo_cohort_load(demo_config):
    loaded = load_config(demo_config, workdir=ROOT)
    demo = loaded.cohorts["demo"]
    # `null:` stays a string key; the ordinal item's models come first, so `full` stays main.
    items = ["pe_agenda", "pe_psychoeducation", "pe_rapport", "pe_skill_practice",
             "pe_cognitive_restructuring", "pe_problem_solving", "pe_praise", "pe_modeling",
             "pe_feedback", "pe_relaxation"]  # fmt: skip
    assert list(demo.models) == [
        "extensiveness_null", "extensiveness_full", "null", "controls", "slope",
        "full_within_between", *(f"{item}-item_full" for item in items), "full",
    ]  # fmt: skip
    assert demo.items == tuple(items) and demo.double_coding.coder == "coder_id"
    assert demo.outcomes["pe_rapport"].ordinal and not demo.outcomes["pe_agenda"].ordinal
    assert demo.models["controls"].predictors == ("ebp", "n_ebps_trained")
    assert set(demo.models["full"].predictors) == {
        "ebp", "n_ebps_trained", "caregiver_present", "stressful_event", "child_age", "licensed",
        "hispanic_latinx", "ebp_attitudes", "emotional_exhaustion", "direct_hours",
    }  # fmt: skip
    assert demo.grouping_levels == ("program", "therapist", "client")
    assert demo.models["full"].groups == ("program", "therapist", "client")
    # The split model is full with caregiver_present split; full itself keeps it whole.
    split = demo.models["full_within_between"]
    assert split.within_between == ("caregiver_present",) and not demo.models["full"].within_between
    assert split.predictors == demo.models["full"].predictors
    assert demo.models["slope"].slopes == (("therapist", ("caregiver_present",)),)
    assert list(demo.outcomes) == ["homework", "extensiveness", *items]
    assert demo.outcomes["homework"].sources == ("hw_assigned", "hw_reviewed")
    assert demo.outcomes["extensiveness"].categories == ("0", "1", "2", "3", "4")
    assert demo.models["extensiveness_full"].predictors == demo.models["full"].predictors
    assert demo.predictions.model == "full"


def test_config_yaml_states_the_engine_defaults(demo_config):
    # Each engine's defaults are written once, in its settings type: config.yaml sets none.
    assert not {"bayes", "ml", "gee"} & set(demo_config)
    assert BayesSettings.from_config({}) == BayesSettings()
    assert BayesSettings().group_sd == Prior("half_normal", 1.5)


def documented_defaults(engine: str) -> dict[str, str]:
    """key -> default as config/README.md's table of the engine shows it (without backticks)."""
    text = (ROOT / "config" / "README.md").read_text().split(f"### {engine}\n", 1)[1]
    rows = [line.split("|") for line in text.split("\n### ", 1)[0].splitlines()]
    return {r[1].strip().strip("`"): r[3].strip().strip("`") for r in rows
            if len(r) > 4 and r[1].strip().startswith("`")}  # fmt: skip


def test_readme_states_the_defaults_the_settings_types_hold():
    from dataclasses import asdict

    from sessionmlm import engines

    for name in ("bayes", "ml", "gee"):
        settings = engines.get(name).settings({})
        documented = documented_defaults(name)
        fields = {k: v for k, v in asdict(settings).items() if k != "cores"}  # the job's, not set
        priors = {f"priors.{k}": getattr(settings, k).describe() for k in
                  ("intercept", "coefficients", "group_sd", "thresholds", "correlation")
                  if k in fields}  # fmt: skip
        plain = {k: v for k, v in fields.items() if not isinstance(v, dict)}
        assert set(documented) == set(plain) | set(priors), name
        for key, value in plain.items():
            assert yaml.safe_load(documented[key]) == value, f"{name}.{key}"
        for key, value in priors.items():
            assert documented[key] == value, f"{name}.{key}"


def problems_for(tmp_path, cohort=None, config_change=None):
    from sessionmlm.simulate import CohortShape, simulate_cohort

    table = simulate_cohort(CohortShape(10, 20, 40), seed=1)
    write_project(tmp_path, {"tiny": cohort or TINY_COHORT}, {"data/tiny/sessions.csv": table})
    config = yaml.safe_load((tmp_path / "config" / "config.yaml").read_text())
    config["cohorts_dir"] = str(tmp_path / "config" / "cohorts")
    if config_change:
        config_change(config)
    with pytest.raises(ConfigError) as error:
        load_config(config, workdir=tmp_path)
    return str(error.value)


def changed(**edits):
    cohort = copy.deepcopy(TINY_COHORT)
    for key, value in edits.items():
        cohort[key] = value
    return cohort


def test_unknown_cohort_key_is_named_with_a_suggestion(tmp_path):
    message = problems_for(tmp_path, changed(modles={"a": "homework ~ 1 + (1 | client)"}))
    assert "unknown key 'modles'" in message and "Did you mean 'models'?" in message


def test_unknown_global_key_lists_valid_keys(tmp_path):
    message = problems_for(tmp_path, config_change=lambda c: c.update(cohort_dir="x"))
    assert (
        "unknown key 'cohort_dir'" in message
        and "Valid keys: bayes, cohorts, cohorts_dir" in message
    )


def test_unknown_engine_to_pool_lists_the_registered_ones(tmp_path):
    message = problems_for(
        tmp_path, config_change=lambda c: c.update(meta_analysis={"engine": "stan"})
    )
    assert "meta_analysis.engine: unknown engine 'stan'. Valid: auto, bayes, gee, ml." in message


def test_unknown_bayes_setting_and_prior(tmp_path):
    message = problems_for(
        tmp_path,
        changed(bayes={"draw": 10, "priors": {"group_sd": {"dist": "cauchy", "sigma": 1}}}),
    )
    assert "unknown key 'draw' under bayes" in message
    assert "'cauchy' is not one of ['half_normal', 'half_student_t']" in message


def test_missing_column_names_closest_existing_ones(tmp_path):
    levels = {"therapist": "therapist_id", "client": "clientid", "session": "session_id"}
    message = problems_for(tmp_path, changed(levels=levels))
    assert (
        "levels.client: column 'clientid' is not in sessions.csv. Closest: 'client_id'" in message
    )


def test_formula_term_that_names_no_column(tmp_path):
    models = {"m": "homework ~ caregiver_presnt + (1 | therapist/client)"}
    message = problems_for(tmp_path, changed(models=models))
    assert (
        "models.m: term 'caregiver_presnt' names no column. Closest: 'caregiver_present'" in message
    )


def test_all_problems_reported_at_once(tmp_path):
    models = {
        "a": "homework ~ nope + (1 | therapist/client)",
        "b": "homework ~ log(x) + (1 | therapist)",
        "c": "outcome2 ~ 1 + (1 | therapist)",
        "d": "homework ~ 1 + (1 | clinic)",
    }
    message = problems_for(tmp_path, changed(models=models, engines=["bayes", "stan"]))
    assert "5 problem(s)" in message
    for part in ["term 'nope' names no column", "'log ( x )' in 'homework ~ log(x) + (1 | therapist)' is not supported",
                 "outcome 'outcome2' is not the cohort's outcome 'homework'",
                 "grouping 'clinic' is not a level", "unknown engine 'stan'. Valid engines: bayes, gee, ml"]:  # fmt: skip
        assert part in message


def test_model_without_random_intercept_is_refused(tmp_path):
    message = problems_for(tmp_path, changed(models={"glm": "homework ~ licensed"}))
    assert "no random intercept; add e.g. (1 | therapist/client)" in message


def test_missing_data_file_and_unknown_cohort(tmp_path):
    message = problems_for(tmp_path, changed(data="data/tiny/nothere.csv"))
    assert "data file 'data/tiny/nothere.csv' does not exist" in message
    message = problems_for(tmp_path, config_change=lambda c: c.update(cohorts=["tiny", "tinny"]))
    assert "cohorts: no file" in message and "tinny.yaml" in message


def test_name_must_match_file(tmp_path):
    message = problems_for(tmp_path, changed(name="other"))
    assert "name 'other' must match the file name 'tiny'" in message


def test_yaml_syntax_error_names_the_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("models: [unclosed\n")
    with pytest.raises(ConfigError, match="bad.yaml: not valid YAML"):
        read_yaml(bad)


def test_keys_stay_strings(tmp_path):
    path = tmp_path / "k.yaml"
    path.write_text("models:\n  null: a\n  yes: b\ncodes:\n  x: {1: 0, Y: 1}\n")
    loaded = read_yaml(path)
    assert list(loaded["models"]) == ["null", "yes"]
    assert loaded["codes"]["x"] == {"1": 0, "Y": 1}


def test_a_broken_cohort_is_set_aside_and_the_others_load(tmp_path):
    good = TINY_COHORT | {"name": "good"}
    bad = changed(name="bad", models={"m": "homework ~ caregiver + (1 | therapist)"})
    write_project(tmp_path, {"good": good, "bad": bad}, {})
    (tmp_path / "data" / "tiny").mkdir(parents=True)
    (tmp_path / "data" / "tiny" / "sessions.csv").write_text(
        "therapist_id,client_id,session_id,hw_assigned,hw_reviewed,caregiver_present,child_age,"
        "licensed,ebp\nT1,C1,S1,1,0,Y,9,1,MAP\n"
    )
    config = yaml.safe_load((tmp_path / "config" / "config.yaml").read_text())
    loaded = load_config(config, workdir=tmp_path)
    assert list(loaded.cohorts) == ["good"]
    assert list(loaded.broken) == ["bad"]
    assert "models.m: term 'caregiver' names no column" in loaded.broken["bad"][0]
    (tmp_path / "config" / "cohorts" / "good.yaml").unlink()  # nothing left to run: stop
    with pytest.raises(ConfigError, match="term 'caregiver' names no column"):
        load_config(config, workdir=tmp_path)


def test_a_bad_design_stops_the_run(tmp_path):
    message = problems_for(
        tmp_path,
        config_change=lambda c: c["designs"]["licensure"]["grid"].update(clients=[1, 2]),
    )
    assert "designs.licensure.grid.clients: cannot vary this" in message


def test_config_yaml_shows_the_meta_analysis_defaults_commented_out():
    import re

    from sessionmlm.config import DEFAULT_META_ANALYSIS

    text = (ROOT / "config" / "config.yaml").read_text()
    block = re.search(r"^# meta_analysis:\n((?:#   .*\n)+)", text, re.M)
    assert block, "config/config.yaml lost its commented meta_analysis block"
    shown = yaml.safe_load(re.sub(r"^#", "", block.group(1), flags=re.M))
    assert shown == DEFAULT_META_ANALYSIS
    assert "meta_analysis" not in yaml.safe_load(text)  # the code's defaults apply


TWO_OUTCOMES = {
    "homework": {"any_of": ["hw_assigned", "hw_reviewed"], "positive": [1], "negative": [0]},
    "assigned": {"column": "hw_assigned"},
}


def loaded(tmp_path, cohort):
    from sessionmlm.simulate import CohortShape, simulate_cohort

    table = simulate_cohort(CohortShape(10, 20, 40), seed=1)
    write_project(tmp_path, {"tiny": cohort}, {"data/tiny/sessions.csv": table})
    config = yaml.safe_load((tmp_path / "config" / "config.yaml").read_text())
    config["cohorts_dir"] = str(tmp_path / "config" / "cohorts")
    return load_config(config, workdir=tmp_path).cohorts["tiny"]


def several(**edits):
    cohort = changed(**edits)
    del cohort["outcome"]
    return cohort | {"outcomes": TWO_OUTCOMES}


def test_several_outcomes_each_model_naming_one(tmp_path):
    models = {"any": "homework ~ licensed + (1 | therapist)",
              "set": "assigned ~ licensed + (1 | therapist)"}  # fmt: skip
    cohort = loaded(tmp_path, several(models=models, labels={"assigned": "homework was set"}))
    assert list(cohort.outcomes) == ["homework", "assigned"]
    assert cohort.outcomes["assigned"].sources == ("hw_assigned",)
    assert cohort.outcomes["assigned"].key == "outcomes.assigned"
    assert cohort.labels["assigned"] == "homework was set"  # any outcome may have a label


def test_a_model_must_name_one_of_the_outcomes(tmp_path):
    models = {
        "m": "assgned ~ licensed + (1 | therapist)",
        "n": "homework ~ assigned + (1 | therapist)",
    }
    message = problems_for(tmp_path, several(models=models))
    assert (
        "models.m: outcome 'assgned' is not one of the cohort's outcomes (homework, assigned; set "
        "under outcomes). Closest: 'assigned'" in message
    )
    assert "models.n: 'assigned' is an outcome, not a predictor" in message


def test_outcome_or_outcomes_exactly_one(tmp_path):
    both = changed(outcomes=TWO_OUTCOMES)
    message = problems_for(tmp_path, both)
    assert "give the outcome under outcome: (one outcome) or outcomes: (several" in message
    assert "not both" in message
    neither = changed()
    del neither["outcome"]
    assert "give the outcome under outcome:" in problems_for(tmp_path, neither)


def test_outcomes_are_named_by_their_keys_and_not_configured_as_predictors(tmp_path):
    outcomes = {"assigned": {"name": "set", "column": "hw_assigned"}}
    cohort = changed(outcomes=outcomes, models={"m": "assigned ~ 1 + (1 | therapist)"})
    del cohort["outcome"]
    message = problems_for(tmp_path, cohort)
    assert "outcomes.assigned.name: under outcomes the key is the outcome's name" in message
    edits = {"codes": {"homework": {"Y": 1}}, "variables": {"homework": {"type": "binary"}}}
    message = problems_for(tmp_path, changed(**edits))
    assert "codes.homework: 'homework' is an outcome, defined under outcome; remove" in message
    assert "variables.homework: 'homework' is an outcome" in message


RATED = {
    "homework": {"any_of": ["hw_assigned", "hw_reviewed"], "positive": [1], "negative": [0]},
    "extent": {"column": "rating", "order": [0, 1, 2, 3, 4]},
}
RATED_MODELS = {
    "hw": "homework ~ licensed + (1 | therapist/client)",
    "extent": "extent ~ licensed + (1 | therapist/client)",
}


def rated_cohort(outcomes=None, **edits):
    cohort = changed(**{"models": RATED_MODELS, "engines": ["flat_ordinal"]} | edits)
    del cohort["outcome"], cohort["bayes"]
    return cohort | {"outcomes": outcomes or RATED}


def load_rated(tmp_path, cohort):
    """Load a cohort over the tiny table with a `rating` column of codes 0 to 4."""
    from sessionmlm.simulate import CohortShape, simulate_cohort

    table = simulate_cohort(CohortShape(10, 20, 40), seed=1)
    table["rating"] = [i % 5 for i in range(len(table))]
    write_project(tmp_path, {"tiny": cohort}, {"data/tiny/sessions.csv": table})
    config = yaml.safe_load((tmp_path / "config" / "config.yaml").read_text())
    config["cohorts_dir"] = str(tmp_path / "config" / "cohorts")
    return load_config(config, workdir=tmp_path)


def rated_problems(tmp_path, cohort):
    with pytest.raises(ConfigError) as error:
        load_rated(tmp_path, cohort)
    return str(error.value)


def test_an_ordinal_outcome_and_a_binary_one_made_from_it(tmp_path, ordinal_engines):
    outcomes = RATED | {"any_extent": {"column": "rating", "at_least": 1}}
    models = RATED_MODELS | {"any": "any_extent ~ licensed + (1 | therapist/client)"}
    cohort = load_rated(tmp_path, rated_cohort(outcomes, models=models)).cohorts["tiny"]
    extent, any_extent = cohort.outcomes["extent"], cohort.outcomes["any_extent"]
    assert extent.ordinal and extent.order == (0, 1, 2, 3, 4)
    assert extent.categories == ("0", "1", "2", "3", "4")
    assert extent.defined_by == "outcomes.extent.order"
    assert not any_extent.ordinal and any_extent.at_least == 1 and not any_extent.from_codes
    # By default, predictions come from the last model with a predictor of a binary outcome.
    assert cohort.predictions.model == "any"


def test_ordinal_outcome_definitions_are_checked_all_at_once(tmp_path, ordinal_engines):
    outcomes = {
        "homework": RATED["homework"],
        "two": {"column": "rating", "order": ["no", "yes"]},
        "mixed": {"column": "rating", "order": [0, 1, 2], "positive": [1]},
        "union": {"any_of": ["rating", "hw_assigned"], "order": [0, 1, 2]},
        "twice": {"column": "rating", "order": [1, "1", 2]},
        "outside": {"column": "rating", "order": [0, 1, 2], "at_least": 5},
        "words": {"column": "rating", "at_least": "often"},
    }
    message = rated_problems(tmp_path, rated_cohort(outcomes))
    assert "6 problem(s)" in message
    for part in [
        "outcomes.two.order: 2 categories; an ordinal outcome needs at least 3. For a binary "
        "outcome, write positive: [yes], negative: [no] in place of order.",
        "outcomes.mixed: positive make a binary outcome from codes, and order an ordinal "
        "outcome; keep one of them.",
        "outcomes.union: order reads one column; use column: instead of any_of.",
        "outcomes.twice.order: [1, '1', 2] lists a code twice.",
        "outcomes.outside.at_least: 5 is not in order [0, 1, 2].",
        "outcomes.words.at_least: 'often' is not a number; give order (the column's codes, "
        "lowest first)",
    ]:
        assert part in message


def test_an_engine_that_fits_no_ordinal_outcome_is_refused_by_model(tmp_path, ordinal_engines):
    message = rated_problems(tmp_path, rated_cohort(engines=["flat", "flat_ordinal"]))
    assert "1 problem(s)" in message  # the binary model is fine with both engines
    assert (
        "models.extent: its outcome 'extent' is ordinal, and engine 'flat' fits binary outcomes "
        "only. Take 'flat' out of engines (flat_ordinal can fit it), or model a binary outcome "
        "made from the column (outcomes.extent with at_least: in place of order)." in message
    )


def test_codes_may_map_an_ordinal_outcome(tmp_path, ordinal_engines):
    codes = {"extent": {"none": 0, "some": 2}, "caregiver_present": {"Y": 1, "N": 0}}
    cohort = load_rated(tmp_path, rated_cohort(codes=codes)).cohorts["tiny"]
    assert cohort.codes["extent"] == {"none": 0, "some": 2}


def test_a_model_of_another_outcome_with_the_same_predictors_follows_the_predictions(
    tmp_path, ordinal_engines
):
    # The default predictions model is the binary outcome's; the ordinal model with its
    # predictors and levels gets the same setting (each category's probability).
    cohort = load_rated(tmp_path, rated_cohort()).cohorts["tiny"]
    assert cohort.predictions.model == "hw" and cohort.predictions.also == ("extent",)
    handed = cohort.predictions.for_model("extent")
    assert handed["model"] == "extent" and handed["same_as"] == "hw"
    # Named in the file, the ordinal model leads, and the binary one follows it.
    named = load_rated(tmp_path, rated_cohort(predictions={"model": "extent"})).cohorts["tiny"]
    assert named.predictions.model == "extent" and named.predictions.also == ("hw",)
