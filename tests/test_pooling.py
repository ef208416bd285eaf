"""Across cohorts: which engine is pooled, what is pooled, and the index page."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import pandas as pd
import pytest
import yaml

from sessionmlm.config import load_config
from sessionmlm.meta import random_effects
from sessionmlm.pooling import (
    COLUMNS,
    POOLED,
    pool_cohorts,
    pooling_engine,
    render_index,
    shared_models,
)

from .conftest import TINY_COHORT, write_project

SETTINGS = {"engine": "auto", "method": "REML", "hksj": True}


@pytest.fixture
def cohorts(tmp_path, tiny_table):
    specs = {name: TINY_COHORT | {"name": name} for name in ("north", "south", "east")}
    write_project(tmp_path, specs, {"data/tiny/sessions.csv": tiny_table})
    config = yaml.safe_load((tmp_path / "config" / "config.yaml").read_text())
    return load_config(config, workdir=tmp_path).cohorts


def write_fit(folder, terms, estimates, std_errors, converged=True, outcome_type="binary"):
    folder.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame({"term": terms, "estimate": estimates, "std_error": std_errors})
    frame["ci_low"] = frame.estimate - 1.96 * frame.std_error
    frame["ci_high"] = frame.estimate + 1.96 * frame.std_error
    frame.to_csv(folder / "estimates.csv", index=False)
    info = {"converged": converged, "outcome_type": outcome_type}
    (folder / "fit.json").write_text(json.dumps(info))


def test_pooling_engine_prefers_ml_and_needs_every_cohort(cohorts):
    assert pooling_engine(cohorts) == "ml"
    assert pooling_engine(cohorts, "gee") == "gee"
    mixed = dict(cohorts) | {"east": replace(cohorts["east"], engines=("bayes",))}
    assert pooling_engine(mixed) == "bayes"
    assert pooling_engine(mixed, "ml") is None
    assert shared_models(cohorts) == ["null", "small"]


def index_page(cohorts, settings):
    """The index page when nothing could be pooled."""
    engine = pooling_engine(cohorts, settings["engine"])
    assert engine is None
    return render_index(cohorts, {c: f"{c}/report.html" for c in cohorts},
                        {c: {"therapist": 30, "client": 80, "session": 200} for c in cohorts},
                        pd.DataFrame(columns=COLUMNS), [], engine, settings)  # fmt: skip


def test_an_engine_asked_for_but_not_run_everywhere_is_named_with_the_fix(cohorts):
    mixed = dict(cohorts) | {"east": replace(cohorts["east"], engines=("bayes", "gee"))}
    html = index_page(mixed, SETTINGS | {"engine": "ml"})
    assert (
        "meta_analysis.engine is ml, but cohort east did not run it, so nothing is pooled" in html
    )
    assert "set meta_analysis.engine: auto in config/config.yaml to pool bayes" in html
    assert "or add ml to the engines of cohort east." in html
    assert "No engine ran in every cohort" not in html
    # Two cohorts without it, and no engine common to all: auto would not help, so not offered.
    apart = mixed | {"south": replace(cohorts["south"], engines=("ml",)),
                     "north": replace(cohorts["north"], engines=("gee",))}  # fmt: skip
    html = index_page(apart, SETTINGS | {"engine": "bayes"})
    assert "meta_analysis.engine is bayes, but cohorts north, south did not run it" in html
    assert "engine: auto" not in html and "add bayes to the engines of cohorts north, south" in html
    html = index_page(apart, SETTINGS)
    assert "No engine ran in every cohort (engines run: " in html
    assert "east: bayes, gee" in html and "north: gee" in html and "south: ml" in html


def test_each_term_is_pooled_by_random_effects_and_failed_fits_are_left_out(cohorts, tmp_path):
    terms = ["Intercept", "caregiver_present", "licensed"]
    fits = {"north": ([-2, 0.7, -0.5], [0.4, 0.2, 0.3]), "south": ([-1.8, 0.9, -0.2], [0.5, 0.25, 0.35]),
            "east": ([-2.1, 0.4, -0.8], [0.45, 0.3, 0.25])}  # fmt: skip
    for name, (est, se) in fits.items():
        write_fit(tmp_path / "results" / name / "small" / "ml", terms, est, se)
        write_fit(tmp_path / "results" / name / "null" / "ml", ["Intercept"], [-2], [0.3])
    write_fit(
        tmp_path / "results" / "east" / "null" / "ml", ["Intercept"], [0], [1], converged=False
    )
    table, notes = pool_cohorts(cohorts, tmp_path / "results", "ml", SETTINGS)
    assert "null: east's ml fit failed and is left out." in notes
    assert "Intercept" not in set(table.term)  # depends on each cohort's coding: not pooled
    pooled = table[(table.cohort == POOLED) & (table.model == "small")].set_index("term")
    expected = random_effects([0.7, 0.9, 0.4], [0.2, 0.25, 0.3], method="REML", hksj=True)
    row = pooled.loc["caregiver_present"]
    assert row.estimate == pytest.approx(expected.estimate)
    assert (row.ci_low, row.ci_high) == pytest.approx((expected.ci_low, expected.ci_high))
    assert row.tau2 == pytest.approx(expected.tau2) and row.k == 3
    assert row.odds_ratio == pytest.approx(math.exp(expected.estimate))
    per_cohort = table[(table.term == "licensed") & (table.cohort != POOLED)]
    assert list(per_cohort.cohort) == ["east", "north", "south"]  # cohort files in name order
    html = render_index(cohorts, {c: f"{c}/report.html" for c in cohorts},
                        {c: {"therapist": 30, "client": 80, "session": 200} for c in cohorts},
                        table, notes, "ml", SETTINGS)  # fmt: skip
    assert html.count("<svg") == 1  # one forest plot per shared model with a predictor
    assert "<code>small</code>" in html and "<code>null</code>" not in html
    assert "href='north/report.html'" in html and "Hartung-Knapp-Sidik-Jonkman" in html
    assert "east&#x27;s ml fit failed" in html


def test_a_term_coded_against_different_references_is_not_pooled(cohorts, tmp_path):
    changed = dict(cohorts)
    changed["south"] = replace(cohorts["south"], reference={"ebp": "TF-CBT"})
    for name in changed:
        for model in ("null", "small"):
            write_fit(tmp_path / "results" / name / model / "ml", ["ebp[CPP]"], [0.2], [0.3])
    table, notes = pool_cohorts(changed, tmp_path / "results", "ml", SETTINGS)
    assert POOLED not in set(table.cohort)
    assert any("ebp[CPP] is not pooled: the reference level of ebp differs" in n for n in notes)


def test_a_model_whose_formula_differs_between_cohorts_is_not_pooled(cohorts, tmp_path):
    from sessionmlm.formula import parse_formula

    changed = dict(cohorts)
    other = parse_formula("homework ~ caregiver_present + (1 | therapist/client)", "small")
    changed["south"] = replace(cohorts["south"], models=cohorts["south"].models | {"small": other})
    for name in changed:
        for model in ("null", "small"):
            write_fit(
                tmp_path / "results" / name / model / "ml", ["caregiver_present"], [0.5], [0.2]
            )
    table, notes = pool_cohorts(changed, tmp_path / "results", "ml", SETTINGS)
    assert "small" not in set(table.model)
    assert any(
        n.startswith("small: not pooled, because its predictors, levels, interactions")
        for n in notes
    )


def test_the_index_counts_each_cohort_in_its_own_levels(cohorts):
    other = replace(cohorts["east"], levels={"comm": "comm", "mom": "mom", "kid": "kid"})
    mixed = {"north": cohorts["north"], "east": other}
    counts = {"north": {"therapist": 30, "client": 80, "session": 200},
              "east": {"comm": 161, "mom": 1595, "kid": 2159}}  # fmt: skip
    html = render_index(mixed, {c: f"{c}/report.html" for c in mixed}, counts,
                        pd.DataFrame(columns=COLUMNS), [], None, SETTINGS)  # fmt: skip
    assert "<td>30 therapists, 80 clients, 200 sessions</td>" in html
    assert "<td>161 comms, 1595 moms, 2159 kids</td>" in html


def test_a_model_ordinal_in_one_cohort_and_binary_in_another_is_not_pooled(cohorts, tmp_path):
    # A cumulative odds ratio and a binary one are different quantities; ordinal in every
    # cohort, the model pools as any other.
    for kinds, pooled in ((("ordinal", "binary", "binary"), False), (("ordinal",) * 3, True)):
        for name, kind in zip(cohorts, kinds, strict=True):
            for model in ("null", "small"):
                write_fit(tmp_path / "results" / name / model / "ml", ["caregiver_present"],
                          [0.5], [0.2], outcome_type=kind)  # fmt: skip
        table, notes = pool_cohorts(cohorts, tmp_path / "results", "ml", SETTINGS)
        assert (POOLED in set(table.cohort)) is pooled
        refused = [n for n in notes if "ordinal in some cohorts and binary in others" in n]
        assert bool(refused) is not pooled
