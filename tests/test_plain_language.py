"""The report's "In plain language" sentences: wording, labels from the cohort file, escaping."""

import copy
import re
from html import unescape

import numpy as np
import pandas as pd
import pytest
import yaml

from sessionmlm.config import ConfigError, load_config
from sessionmlm.report import Fit, plain_language, render_cohort_report
from sessionmlm.simulate import CohortShape, simulate_cohort

from .conftest import ROOT, TINY_COHORT, write_project
from .test_report import DESC as REPORT_DESC
from .test_report import fit as report_fit

# term -> (log odds ratio, low, high, posterior probability of a positive coefficient)
TERMS = {
    "caregiver_present": (np.log(1.94), np.log(1.28), np.log(2.98), 0.999),
    "child_age": (np.log(1.09), np.log(1.02), np.log(1.16), 0.996),
    "licensed": (np.log(0.40), np.log(0.21), np.log(0.69), 0.0001),
    "ebp[CBITS]": (np.log(0.82), np.log(0.37), np.log(1.71), 0.30),
    "ebp[TF-CBT]": (np.log(1.08), np.log(0.55), np.log(2.08), 0.59),
    "mystery_score": (np.log(1.20), np.log(0.90), np.log(1.60), 0.88),
}


def make_fit(engine: str = "bayes", terms=tuple(TERMS)) -> Fit:
    rows = [("Intercept", -0.5, -0.9, -0.1, 0.01)] + [(t, *TERMS[t]) for t in terms]
    estimates = pd.DataFrame(
        rows, columns=["term", "estimate", "ci_low", "ci_high", "prob_positive"]
    )
    if engine != "bayes":
        estimates = estimates.drop(columns="prob_positive").assign(p_value=0.01)
    for col, src in [("odds_ratio", "estimate"), ("or_low", "ci_low"), ("or_high", "ci_high")]:
        estimates[col] = np.exp(estimates[src])
    variance = pd.DataFrame({"level": ["therapist", "client"], "sd": [0.8, 0.9]})
    formula = f"homework ~ {' + '.join(dict.fromkeys(t.split('[')[0] for t in terms))} + (1 | therapist/client)"
    return Fit("full", engine, estimates, variance, {"formula": formula, "converged": True})


# The demo's phrases live in its cohort file: the package names no column of its own.
DEMO_LABELS = yaml.safe_load((ROOT / "config" / "cohorts" / "demo.yaml").read_text())["labels"]


def entry(kind: str, **more) -> dict:
    return {"kind": kind, "n_units": 100, "missing": 0, **more}


DESC = {
    "levels": ["therapist", "client", "session"],
    "outcomes": {"homework": {"name": "homework", "sources": ["hw_assigned", "hw_reviewed"]}},
    "table1": {
        "therapist": {"licensed": entry("binary"), "mystery_score": entry("numeric")},
        "client": {
            "child_age": entry("numeric"),
            "ebp": entry(
                "categorical", categories={k: {"n": 40} for k in ["CBITS", "MAP", "TF-CBT"]}
            ),
        },
        "session": {"caregiver_present": entry("binary")},
    },
}


def sentence_about(html: str, words: str) -> str:
    """The one list item, as text, that holds these words."""
    (found,) = [s for s in map(unescape, re.findall(r"<li>(.*?)</li>", html)) if words in s]
    return found


def test_default_caregiver_sentence_reads_as_the_issue_asks():
    html = plain_language(make_fit(), DESC, {"ebp": "MAP"}, DEMO_LABELS)
    said = sentence_about(html, "caregiver")
    assert said.startswith(
        "In sessions where a caregiver was present (rather than not), the odds that homework "
        "was assigned or reviewed were 1.94 times as high (95% interval 1.28 to 2.98) as in "
        "otherwise similar sessions of the same therapist and client. The interval excludes 1."
    )
    assert "Probability that the odds are higher: 99.9%." in said  # a bayes fit
    assert "not effects" in html  # association, not cause


def test_therapist_level_binary_lower_odds_and_the_comparison_it_makes():
    said = sentence_about(plain_language(make_fit(), DESC, {}, DEMO_LABELS), "licensed")
    assert said.startswith(
        "In sessions where the therapist was licensed (rather than not), the odds that homework "
        "was assigned or reviewed were 0.40 times as high (60% lower; 95% interval 0.21 to 0.69)"
    )
    # One therapist is not both licensed and not: the comparison is of alike therapists.
    assert "same therapist" not in said and "therapists and clients alike" in said
    assert "Probability that the odds are lower: over 99.9%." in said


def test_numeric_and_categorical_wording():
    html = plain_language(make_fit(), DESC, {"ebp": "MAP"}, DEMO_LABELS)
    age = sentence_about(html, "child's age")
    assert age.startswith(
        "For each additional year of the child's age, the odds that homework was assigned or "
        "reviewed were 1.09 times as high (95% interval 1.02 to 1.16) in otherwise similar sessions"
    )
    cbits = sentence_about(html, "CBITS")
    assert cbits.startswith(
        "In sessions where the EBP delivered was CBITS rather than MAP, the odds that homework was "
        "assigned or reviewed were 0.82 times as high (18% lower; 95% interval 0.37 to 1.71)"
    )
    assert "The interval includes 1: the data are compatible with no association." in cbits


def test_categorical_reference_found_when_the_cohort_sets_none():
    html = plain_language(make_fit(), DESC, {}, DEMO_LABELS)
    assert "the EBP delivered was TF-CBT rather than MAP," in unescape(html)


def test_unknown_column_keeps_the_generic_wording():
    said = sentence_about(plain_language(make_fit(), DESC, {}), "mystery_score")
    assert said.startswith("For each one-unit increase in mystery_score, the odds that homework")


def test_without_labels_every_column_is_named_as_it_is():
    html = unescape(plain_language(make_fit(), DESC, {}))
    assert "the odds that homework was 1 were" in html
    assert "In sessions where caregiver_present was 1 (rather than 0)," in html
    assert "For each one-unit increase in child_age," in html
    assert "In sessions where ebp was CBITS rather than MAP," in html
    # No phrase is guessed from the outcome's source columns (hw_assigned, hw_reviewed).
    assert "assigned" not in html and "caregiver was" not in html


def test_gee_fit_is_worded_as_population_averaged():
    html = plain_language(make_fit("gee"), DESC, {"ebp": "MAP"})
    said = sentence_about(html, "caregiver")
    assert (
        "were 1.94 times as high (95% interval 1.28 to 2.98) as in otherwise similar sessions, "
        "on average across all therapists and clients." in said
    )
    assert "same therapist" not in html and "Probability" not in html
    assert "population-averaged" in html


def test_ml_fit_is_conditional_without_posterior_probabilities():
    html = plain_language(make_fit("ml"), DESC, {"ebp": "MAP"})
    assert "same therapist and client" in html and "Probability" not in html


def test_labels_override_the_defaults():
    labels = {
        "homework": "the therapist set or checked homework",
        "caregiver_present": "a parent or carer attended",
        "child_age": "year of age",
        "ebp": "the practice used",
        "mystery_score": "point on the mystery scale",
    }
    html = unescape(plain_language(make_fit(), DESC, {"ebp": "MAP"}, labels))
    assert (
        "In sessions where a parent or carer attended (rather than not), the odds that the "
        "therapist set or checked homework were 1.94 times as high" in html
    )
    assert "For each additional year of age," in html
    assert "In sessions where the practice used was CBITS rather than MAP," in html
    assert "For each additional point on the mystery scale," in html
    assert "caregiver was present" not in html and "assigned or reviewed" not in html


def test_every_user_string_is_escaped():
    fit = make_fit(terms=("caregiver_present", "ebp[CBITS]"))
    fit.estimates.loc[fit.estimates["term"] == "ebp[CBITS]", "term"] = "ebp[<i>X</i>]"
    labels = {"caregiver_present": "a <b>carer</b> & kin came", "homework": "<script>x</script>"}
    html = plain_language(fit, DESC, {"ebp": "<MAP>"}, labels)
    assert "<b>" not in html and "<script>" not in html and "<i>" not in html
    assert "a &lt;b&gt;carer&lt;/b&gt; &amp; kin came" in html
    assert "was &lt;i&gt;X&lt;/i&gt; rather than &lt;MAP&gt;" in html


# --- the `labels:` key of a cohort file ---------------------------------------------------------


WITH_CAREGIVER = copy.deepcopy(REPORT_DESC)
WITH_CAREGIVER["table1"]["session"] = {
    "caregiver_present": entry("binary", yes={"n": 300, "suppressed": False}, share=0.44)
}


def project(tmp_path, labels):
    cohort = copy.deepcopy(TINY_COHORT) | ({"labels": labels} if labels else {})
    table = simulate_cohort(CohortShape(10, 20, 40), seed=1)
    write_project(tmp_path, {"tiny": cohort}, {"data/tiny/sessions.csv": table})
    config = yaml.safe_load((tmp_path / "config" / "config.yaml").read_text())
    config["cohorts_dir"] = str(tmp_path / "config" / "cohorts")
    return config


def test_cohort_labels_flow_into_the_cohort_and_the_sentences(tmp_path):
    config = project(tmp_path, {"caregiver_present": "  a carer\n came ", "homework": "hw was set"})
    cohort = load_config(config, workdir=tmp_path).cohorts["tiny"]
    assert cohort.labels == {"caregiver_present": "a carer came", "homework": "hw was set"}
    assert cohort.for_ingest().labels == {}  # a reworded label reruns the report only
    html = unescape(plain_language(make_fit(), DESC, cohort.reference, cohort.labels))
    assert "In sessions where a carer came (rather than not), the odds that hw was set were" in html


def test_label_for_a_column_not_in_the_data_is_a_config_error(tmp_path):
    config = project(tmp_path, {"caregiver_presnt": "a caregiver was present"})
    with pytest.raises(ConfigError) as error:
        load_config(config, workdir=tmp_path)
    message = str(error.value)
    assert "labels.caregiver_presnt: no such column" in message
    assert "'caregiver_present'" in message  # the closest name, to fix the typo


@pytest.mark.parametrize(
    ("labels", "expected"),
    [({"therapist": "x"}, "labels.therapist: no such column"),
     ({"licensed": "  "}, "labels.licensed: empty"),
     ({"licensed": 1}, "labels.licensed: 1 is not of type 'string'")],
)  # fmt: skip
def test_bad_labels_are_named(tmp_path, labels, expected):
    with pytest.raises(ConfigError) as error:
        load_config(project(tmp_path, labels), workdir=tmp_path)
    assert expected in str(error.value)


def test_report_without_labels_names_the_column(tmp_path):
    cohort = load_config(project(tmp_path, {}), workdir=tmp_path).cohorts["tiny"]
    html, _ = render_cohort_report(cohort, WITH_CAREGIVER, {}, [report_fit("full", True)])
    assert "In sessions where caregiver_present was 1 (rather than 0)" in html


def test_report_uses_the_cohort_labels(tmp_path):
    config = project(tmp_path, {"caregiver_present": "a carer came"})
    cohort = load_config(config, workdir=tmp_path).cohorts["tiny"]
    html, _ = render_cohort_report(cohort, WITH_CAREGIVER, {}, [report_fit("full", True)])
    assert "In sessions where a carer came (rather than not)" in html


def test_sentences_speak_of_the_cohorts_own_levels():
    fit = make_fit("ml", terms=("caregiver_present", "child_age"))
    fit = Fit("full", "ml", fit.estimates, pd.DataFrame({"level": ["comm", "mom"]}), fit.info)
    desc = copy.deepcopy(DESC) | {"levels": ["comm", "mom", "kid"]}
    desc["table1"] = {"comm": {"child_age": entry("numeric")}, "mom": {},
                      "kid": {"caregiver_present": entry("binary")}}  # fmt: skip
    html = unescape(plain_language(fit, desc, {}))
    assert "In kids where caregiver_present was 1 (rather than 0)" in html
    assert "as in otherwise similar kids of the same comm and mom." in html
    assert "in otherwise similar kids, with comms and moms alike in everything else" in html
    assert "how the odds differed between kids, not what would happen if a kid were" in html
    assert "session" not in html and "therapist" not in html
