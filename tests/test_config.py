import copy

import pytest
import yaml

from sessionmlm.config import ConfigError, load_config, read_yaml
from sessionmlm.engines.bayes import BayesSettings, Prior

from .conftest import ROOT, TINY_COHORT, write_project


def test_committed_config_and_demo_cohort_load(demo_config):
    loaded = load_config(demo_config, workdir=ROOT)
    demo = loaded.cohorts["demo"]
    assert list(demo.models) == ["null", "controls", "full"]  # `null:` stays a string key
    assert demo.models["controls"].predictors == ("ebp", "n_ebps_trained")
    assert set(demo.models["full"].predictors) == {
        "ebp", "n_ebps_trained", "caregiver_present", "stressful_event", "child_age", "licensed",
        "hispanic_latinx", "ebp_attitudes", "emotional_exhaustion", "direct_hours",
    }  # fmt: skip
    assert demo.grouping_levels == ("therapist", "client")
    assert demo.outcome.sources == ("hw_assigned", "hw_reviewed")


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
                  ("intercept", "coefficients", "group_sd", "thresholds") if k in fields}  # fmt: skip
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
        "b": "homework ~ x*y",
        "c": "outcome2 ~ 1 + (1 | therapist)",
        "d": "homework ~ 1 + (1 | clinic)",
    }
    message = problems_for(tmp_path, changed(models=models, engines=["bayes", "stan"]))
    assert "5 problem(s)" in message
    for part in ["term 'nope' names no column", "cannot read '*y'",
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
