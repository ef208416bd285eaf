"""The answer first: grid cells with Benjamini-Hochberg q-values or posterior probabilities,
the summary sentences, and the grid figure (report/overview.py, figures/grid.py)."""

import re

import numpy as np
import pandas as pd

from sessionmlm.figures.grid import odds_ratio_grid
from sessionmlm.report import Fit
from sessionmlm.report.overview import grid_cells, overview_section, summary_sentences

TERMS = ["caregiver_present", "licensed", "child_age"]


def item_fit(item, engine, estimates, p=None, prob=None, converged=True):
    """A main-model fit of one item: estimates on the log-odds scale, SE 0.2."""
    est = np.array(estimates, float)
    table = pd.DataFrame({"term": ["Intercept", *TERMS], "estimate": [0.1, *est]})
    table["ci_low"], table["ci_high"] = table.estimate - 0.39, table.estimate + 0.39
    for col, src in [("odds_ratio", "estimate"), ("or_low", "ci_low"), ("or_high", "ci_high")]:
        table[col] = np.exp(table[src])
    if p is not None:
        table["p_value"] = [0.5, *p]
    if prob is not None:
        table["prob_positive"] = [0.6, *prob]
    info = {"converged": converged, "problems": [], "formula": f"{item} ~ ..."}
    return Fit(f"{item}-full", engine, table, pd.DataFrame(), info)


def bh_by_hand(p):
    """Benjamini & Hochberg (1995): q_(i) = min over j >= i of p_(j) m / j, in sorted order."""
    p = np.asarray(p, float)
    order = np.argsort(p)
    m = len(p)
    ranked = p[order] * m / np.arange(1, m + 1)
    q = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(q, 1)
    return out


def test_q_values_are_benjamini_hochberg_over_all_of_an_engines_associations():
    p = {"a": [0.001, 0.04, 0.30], "b": [0.012, 0.02, 0.9], "c": [0.049, 0.0001, 0.5]}
    fits = [item_fit(i, "ml", [0.5, -0.4, 0.1], p=p[i]) for i in "abc"]
    cells = grid_cells(fits, {i: f"{i}-full" for i in "abc"})
    assert len(cells) == 9 and set(cells.engine) == {"ml"}
    expected = bh_by_hand([v for i in "abc" for v in p[i]])
    np.testing.assert_allclose(cells.q_value, expected, rtol=1e-12)
    # Clear means q < .05: raw p = .049 and .04 are not clear once nine are tested.
    assert list(cells[cells.clear].p_value) == [0.001, 0.012, 0.02, 0.0001]


def test_bayes_cells_carry_posterior_probabilities_not_q_values():
    fits = [item_fit("a", "bayes", [0.5, -0.4, 0.0], prob=[0.99, 0.01, 0.6])]
    cells = grid_cells(fits, {"a": "a-full"})
    assert cells.q_value.isna().all()
    np.testing.assert_allclose(cells.prob_direction, [0.99, 0.99, 0.6])
    assert list(cells.clear) == [True, True, False]


def test_failed_and_other_models_are_left_out():
    fits = [item_fit("a", "ml", [0.5, 0.1, 0.1], p=[0.01, 0.5, 0.5]),
            item_fit("b", "ml", [0.5, 0.1, 0.1], p=[0.01, 0.5, 0.5], converged=False)]  # fmt: skip
    cells = grid_cells(fits, {"a": "a-full", "b": "b-full"})
    assert set(cells.outcome) == {"a"}


def words(term):
    return f"<code>{term}</code>"


def test_sentences_name_the_rule_the_strongest_and_the_engines_agreement():
    fits = [item_fit("a", "bayes", [0.9, -0.7, 0.05], prob=[0.999, 0.002, 0.6]),
            item_fit("b", "bayes", [0.2, 0.1, 0.0], prob=[0.8, 0.7, 0.5]),
            item_fit("a", "ml", [0.85, -0.2, 0.05], p=[0.0001, 0.3, 0.8]),
            item_fit("b", "ml", [0.2, 0.1, 0.0], p=[0.3, 0.6, 0.9])]  # fmt: skip
    cells = grid_cells(fits, {"a": "a-full", "b": "b-full"})
    said = summary_sentences(cells, "bayes", words, {"b": "Fleiss' kappa 0.21 < 0.40"}, True)
    assert 3 <= len(said) <= 6
    assert said[0].startswith("2 of 6 associations (3 predictor terms, 2 outcomes; bayes engine)")
    assert "were clear: a posterior probability of at least 97.5%" in said[0]
    assert "no multiplicity adjustment" in said[0]
    assert ("<code>caregiver_present</code> went with more <code>a</code> (odds ratio 2.46"
            in said[1])  # fmt: skip
    assert "<code>licensed</code> went with less <code>a</code> (odds ratio 0.50" in said[1]
    assert "ml gave the same direction for 2 of 2, and called 1 clear by its own rule" in said[-2]
    assert "1 outcome was coded unreliably (†: <code>b</code>)" in said[-1]


def test_one_outcome_gets_the_same_answer_first_and_says_what_is_unknown():
    cells = grid_cells([item_fit("homework", "ml", [0.6, -0.1, 0.0], p=[0.001, 0.6, 0.9])],
                       {"homework": "homework-full"})  # fmt: skip
    html = overview_section(cells, "ml", ["therapist", "client", "session"], words, {}, False)
    assert "<h2 id='overview'>The answer first</h2>" in html
    assert "which characteristics of sessions, clients and therapists went with more or less of " \
           "<code>homework</code>?" in html  # fmt: skip
    assert "Benjamini–Hochberg" in html and "declares no double-coded table" in html
    assert html.count("<rect") >= 3 + 5  # three cells and the five legend swatches


def test_grid_marks_clear_cells_flags_items_and_dashes_missing_terms():
    cells = [
        {"term": "x", "item": "a", "odds_ratio": 2.0, "or_low": 1.2, "or_high": 3.3, "clear": True,
         "detail": "x and a"},
        {"term": "x", "item": "b", "odds_ratio": 0.8, "or_low": 0.5, "or_high": 1.3,
         "clear": False, "detail": "x and b"},
    ]  # fmt: skip
    svg = odds_ratio_grid(cells, ["x", "y"], ["a", "b"], "grid", {"b"})
    assert svg.count('stroke="#1d2733" stroke-width="2"') == 1  # the one clear cell outlined
    assert 'font-weight="700"' in svg and ">2.00<" in svg and ">0.80<" in svg
    assert "b †" in svg and svg.count(">–<") == 2  # y is in neither model
    colours = re.findall(r'fill="(#[0-9a-f]{6})"', svg)
    assert "#ffffff" in colours  # odds ratio 1 in the legend is white
    # The legend's ends, odds ratios 4 and 1/4, take the full blue and orange.
    assert "#1b6ca8" in colours and "#c95a1f" in colours


def test_with_nothing_clear_the_largest_is_named_and_the_engines_compared_on_all():
    fits = [item_fit("a", "ml", [0.3, -0.1, 0.0], p=[0.2, 0.6, 0.9]),
            item_fit("a", "gee", [-0.2, -0.1, 0.0], p=[0.3, 0.6, 0.9])]  # fmt: skip
    said = summary_sentences(grid_cells(fits, {"a": "a-full"}), "ml", words, {}, False)
    assert said[0].startswith("0 of 3 associations (3 predictor terms, 1 outcome; ml engine) were")
    assert (
        "The strongest association, an odds ratio of 1.35 (<code>caregiver_present</code> and"
        " <code>a</code>" in said[1]
    )
    # child_age's odds ratio is exactly 1 in both: the same side (>= 1).
    assert "Of the ml engine's associations, gee gave the same direction for 2 of 3," in said[2]
