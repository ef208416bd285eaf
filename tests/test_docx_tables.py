"""Manuscript tables: APA numbers, and the Word files opened back with python-docx.

APA style: Publication Manual of the American Psychological Association, 7th ed. (2020),
6.36 (decimals: two for most statistics, p to two or three with p < .001 below), 6.44 (no
zero before the decimal point of a value that cannot exceed 1: p, correlations), 7.8-7.21
(tables: number in bold, title in italics, horizontal rules only, a note starting "Note.").
"""

from __future__ import annotations

import math
import zipfile
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from docx import Document
from docx.oxml.ns import qn
from hypothesis import given
from hypothesis import strategies as st

from sessionmlm import apa
from sessionmlm.describe import describe
from sessionmlm.docx_tables import write_docx
from sessionmlm.manuscript import as_frame, table1, table_files, table_number
from sessionmlm.manuscript_models import FitFiles, model_table
from sessionmlm.report.table1 import table1_section

from .test_describe import canonical_demo

CUTS = ["threshold", "estimate", "std_error", "ci_low", "ci_high"]


# --- APA numbers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (2.125, "2.13"),  # exactly halfway: up, as by hand (Python's round gives 2.12)
        (0.745, "0.75"),  # written 0.745, stored as 0.74499...: rounded as written
        (math.exp(0.74), "2.10"),  # 2.0959...
        (-1.5, "\u22121.50"),  # a minus sign, not a hyphen
        (-0.001, "0.00"),  # no negative zero
        (float("nan"), "\u2014"),
        (None, "\u2014"),
    ],
)
def test_numbers_have_two_decimals_rounded_half_up(value, expected):
    assert apa.number(value) == expected


@given(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False))
def test_a_number_is_its_value_to_the_nearest_hundredth(x):
    shown = Decimal(apa.number(x).replace(apa.MINUS, "-"))
    assert abs(shown - Decimal(repr(x))) <= Decimal("0.005")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.0004, "< .001"),
        (0.001, ".001"),
        (0.0344, ".034"),
        (0.5, ".500"),
        (0.9994, ".999"),
        (0.99996, "> .999"),  # never "1.000"
        (1.0, "> .999"),
        (0.0, "< .001"),  # never ".000"
    ],
)
def test_p_values_and_probabilities_have_no_leading_zero_and_bounds(value, expected):
    assert apa.probability(value) == expected


def test_correlations_intervals_and_percentages():
    assert apa.bounded(0.153) == ".15" and apa.bounded(-0.2) == "\u2212.20"
    assert apa.interval(math.exp(0.34), math.exp(1.14)) == "[1.40, 3.13]"
    assert apa.interval(0.05, 0.3, lead=False) == "[.05, .30]"
    assert apa.interval(None, 1.0) == "\u2014"
    assert apa.percent(0.4375) == "44%"


# --- Model tables ----------------------------------------------------------------------------


def estimates(tested: str) -> pd.DataFrame:
    est = pd.DataFrame(
        {
            "term": ["Intercept", "caregiver_present", "ebp[CPP]"],
            "estimate": [-0.5, 0.74, -0.4],
            "std_error": [0.2, 0.2, 0.3],
            "ci_low": [-0.9, 0.34, -1.0],
            "ci_high": [-0.1, 1.14, 0.2],
        }
    )
    for column, source in [("odds_ratio", "estimate"), ("or_low", "ci_low"),
                           ("or_high", "ci_high")]:  # fmt: skip
        est[column] = np.exp(est[source])
    if tested == "p":
        est["p_value"] = [0.0123, 0.0002, 0.1815]
    else:
        est["prob_positive"] = [0.006, 0.9996, 0.091]
    return est


VARIANCE = pd.DataFrame(
    {"level": ["therapist", "client"], "sd": [0.8, 0.9], "sd_low": [0.5, 0.6],
     "sd_high": [1.1, 1.2], "icc": [0.153, 0.327], "mor": [2.1, 2.4], "kind": "intercept"}
)  # fmt: skip


def fit_files(engine: str, tested: str, **info) -> FitFiles:
    record = {
        "formula": "homework ~ caregiver_present + ebp + (1 | therapist/client)",
        "converged": True, "problems": [], "warnings": [], "n_obs": 680, "n_dropped": 0,
        "units": {"therapist": 103, "client": 274}, "outcome_type": "binary",
        "settings": {"cache": "/home/someone/cache"},  # a machine path that must not leak
    }  # fmt: skip
    return FitFiles("full", engine, estimates(tested), VARIANCE.copy(),
                    pd.DataFrame(columns=CUTS), record | info)  # fmt: skip


def written(tmp_path, table):
    path = tmp_path / "table.docx"
    write_docx(path, table)
    return path, Document(path)


def grid(document) -> list[list[str]]:
    return [[c.text for c in row.cells] for row in document.tables[0].rows]


def test_ml_table_has_odds_ratios_intervals_and_apa_p_values(tmp_path):
    table = model_table(fit_files("ml", "p"), number=3)
    path, document = written(tmp_path, table)
    title, caption = document.paragraphs[0], document.paragraphs[1]
    assert title.text == "Table 3" and all(r.bold for r in title.runs)
    assert caption.text == "Odds Ratios for homework: Model full, ml Engine"
    assert all(r.italic for r in caption.runs)
    rows = grid(document)
    assert rows[0] == ["Term", "OR", "95% CI", "p"]
    assert rows[1] == ["Fixed effects"] * 4  # a panel heading across the table
    # exp(-0.5) = 0.6065, exp(-0.9) = 0.4066, exp(-0.1) = 0.9048; exp(0.74) = 2.0959,
    # exp(0.34) = 1.4049, exp(1.14) = 3.1268; exp(-0.4) = 0.6703, exp(-1) = 0.3679,
    # exp(0.2) = 1.2214.
    assert rows[2:5] == [
        ["Intercept", "0.61", "[0.41, 0.90]", ".012"],
        ["caregiver_present", "2.10", "[1.40, 3.13]", "< .001"],
        ["ebp[CPP]", "0.67", "[0.37, 1.22]", ".182"],
    ]
    assert rows[5] == ["Random effects"] * 4
    assert rows[6:] == [
        ["SD (therapist)", "0.80", "[0.50, 1.10]", ""],
        ["SD (client)", "0.90", "[0.60, 1.20]", ""],
        ["ICC (therapist)", ".15", "\u2014", ""],  # ml gives no ICC interval
        ["ICC (client)", ".33", "\u2014", ""],
    ]
    note = document.paragraphs[-1]
    assert note.runs[0].text == "Note." and note.runs[0].italic
    assert "OR = odds ratio; CI = confidence interval." in note.text
    assert "N = 680 sessions (103 therapists; 274 clients)" in note.text
    # The CSV beside it holds the same cells, each row under its panel.
    frame = as_frame(table)
    assert list(frame.columns) == ["section", "Term", "OR", "95% CI", "p"]
    assert frame.iloc[:, 1:].values.tolist() == [r for r in rows[1:] if len(set(r)) > 1]
    assert set(frame.section) == {"Fixed effects", "Random effects"}
    # No machine path, and no user name as author, anywhere in the file.
    with zipfile.ZipFile(path) as z:
        text = "".join(z.read(n).decode("utf-8", "replace") for n in z.namelist())
    assert "/home/" not in text and str(tmp_path) not in text
    assert document.core_properties.author == "sessionmlm"


def test_rules_only_above_and_below_the_header_and_below_the_table(tmp_path):
    _, document = written(tmp_path, model_table(fit_files("ml", "p"), number=2))
    table = document.tables[0]._tbl
    borders = table.tblPr.find(qn("w:tblBorders"))
    edges = {e.tag.split("}")[1]: e.get(qn("w:val")) for e in borders}
    assert edges == {"top": "single", "left": "nil", "bottom": "single", "right": "nil",
                     "insideH": "nil", "insideV": "nil"}  # fmt: skip
    for i, row in enumerate(document.tables[0].rows):
        for cell in row.cells:
            cell_borders = cell._tc.tcPr.find(qn("w:tcBorders"))
            if i == 0:
                assert cell_borders.find(qn("w:bottom")).get(qn("w:val")) == "single"
            else:
                assert cell_borders is None


def test_the_file_is_the_same_bytes_whenever_it_is_written(tmp_path):
    path, _ = written(tmp_path, model_table(fit_files("ml", "p"), number=2))
    with zipfile.ZipFile(path) as z:
        assert {i.date_time for i in z.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_bayes_table_names_credible_intervals_and_probability_of_direction(tmp_path):
    fit = fit_files("bayes", "pd")
    fit.variance[["icc_low", "icc_high"]] = [[0.05, 0.3], [0.2, 0.5]]
    _, document = written(tmp_path, model_table(fit, number=2))
    rows = grid(document)
    assert rows[0] == ["Term", "OR", "95% CrI", "pd"]
    # pd = max(P(b > 0), P(b < 0)): 1 - .006 = .994; .9996 shown as > .999; 1 - .091 = .909.
    assert [r[3] for r in rows[2:5]] == [".994", "> .999", ".909"]
    assert rows[-2] == ["ICC (therapist)", ".15", "[.05, .30]", ""]
    note = document.paragraphs[-1].text
    assert "CrI = credible interval" in note and "pd = probability of direction" in note
    assert "confidence interval" not in note


def test_gee_shows_its_working_correlation_not_random_effects(tmp_path):
    fit = fit_files("gee", "p")
    gee_variance = pd.DataFrame({"level": ["therapist", "client"], "sd": [np.nan, np.nan],
                                 "icc": [0.12, 0.31]})  # fmt: skip
    table = model_table(FitFiles(fit.model, "gee", fit.estimates, gee_variance, fit.thresholds,
                                 fit.info), number=4)  # fmt: skip
    rows = grid(written(tmp_path, table)[1])
    assert "Random effects" not in [r[0] for r in rows]
    assert rows[-2:] == [["Working correlation (therapist)", ".12", "", ""],
                         ["Working correlation (client)", ".31", "", ""]]  # fmt: skip


def test_ordinal_table_has_cumulative_odds_ratios_and_thresholds(tmp_path):
    fit = fit_files("ml", "p", outcome_type="ordinal",
                    formula="extent ~ caregiver_present + ebp + (1 | therapist/client)")  # fmt: skip
    no_intercept = fit.estimates.drop(index=0)  # the thresholds stand for it
    cuts = pd.DataFrame({"threshold": ["0|1", "1|2"], "estimate": [-1.234, 0.5],
                         "std_error": [0.2, 0.2], "ci_low": [-1.626, 0.108],
                         "ci_high": [-0.842, 0.892]})  # fmt: skip
    fit = FitFiles(fit.model, fit.engine, no_intercept, fit.variance, cuts, fit.info)
    table = model_table(fit, number=2)
    path, document = written(tmp_path, table)
    assert document.paragraphs[1].text.startswith("Cumulative Odds Ratios for extent")
    rows = grid(document)
    at = [r[0] for r in rows].index("Thresholds (log-odds)")
    assert rows[at + 1 : at + 3] == [
        ["0|1", "\u22121.23", "[\u22121.63, \u22120.84]", ""],
        ["1|2", "0.50", "[0.11, 0.89]", ""],
    ]
    assert "Intercept" not in [r[0] for r in rows]
    assert "Odds ratios are cumulative" in document.paragraphs[-1].text


@pytest.mark.parametrize(
    ("info", "says"),
    [
        ({"converged": False, "problems": ["R-hat of sd client is 1.080 (> 1.01)"]},
         "failed its checks and must not be reported as a result: R-hat of sd client is 1.080"),
        ({"converged": False, "status": "not fitted", "not_fitted": "it has crossed levels"},
         "The ml engine does not fit this model: it has crossed levels."),
    ],
)  # fmt: skip
def test_a_fit_without_numbers_gets_a_table_that_says_why(tmp_path, info, says):
    table = model_table(fit_files("ml", "p", **info), number=5)
    _, document = written(tmp_path, table)
    assert not document.tables
    text = "\n".join(p.text for p in document.paragraphs)
    assert document.paragraphs[0].text == "Table 5" and says in text
    assert "2.10" not in text  # no estimate leaks out
    frame = as_frame(table)
    assert len(frame) == 1 and frame.section[0] == "not reported" and says in frame.Term[0]


def test_tables_are_numbered_table1_first_then_models_by_engine():
    models, engines = ["null", "full"], ["bayes", "ml"]
    assert table_files(models, engines, "docx") == [
        "tables/table1.docx", "tables/null_bayes.docx", "tables/null_ml.docx",
        "tables/full_bayes.docx", "tables/full_ml.docx",
    ]  # fmt: skip
    assert table_number(models, engines, "full", "bayes") == 4


# --- Table 1 ---------------------------------------------------------------------------------


def test_table1_suppresses_exactly_the_small_cells_the_report_suppresses(demo_config, tmp_path):
    cohort, data = canonical_demo(demo_config)
    # The threshold just above the demo's smallest EBP category (clients): that category,
    # and any other this small, must be suppressed.
    per_client = data.groupby(["therapist", "client"])["ebp"].first().value_counts()
    min_cell = int(per_client.min()) + 1
    assert per_client.min() > 0 and (per_client >= min_cell).any()  # some hidden, some shown
    licensed_yes = int(data.groupby("therapist")["licensed"].first().sum())
    desc = describe(data, cohort, min_cell)
    table = table1(desc)
    path, document = written(tmp_path, table)
    rows = grid(document)
    assert rows[0] == ["Variable", "Type", "n (%) or M (SD)", "Mdn [IQR]", "Missing"]
    ebp = [r[0] for r in rows].index("ebp")
    shown = {r[0]: r[2] for r in rows[ebp + 1 : ebp + 1 + len(per_client)]}
    assert set(shown) == set(per_client.index)
    for category, n in per_client.items():  # counted here from the data, not descriptives
        assert shown[category] == (f"<{min_cell}" if 0 < n < min_cell else str(n)), category
    licensed = next(r for r in rows if r[0] == "licensed: yes")
    expected = f"<{min_cell}" if 0 < licensed_yes < min_cell else str(licensed_yes)
    assert licensed[2].split(" ")[0] == expected
    # The same cells as the HTML report's Table 1.
    html = table1_section(desc)
    for category, cell in shown.items():
        assert f"{category} {cell.replace('<', '&lt;')}" in html
    assert f"yes {licensed[2].replace('<', '&lt;')}" in html
    # And the CSV: the same cells, the suppressed count nowhere.
    frame = as_frame(table)
    small = per_client[per_client < min_cell]
    assert (frame[frame.Variable.isin(small.index)]["n (%) or M (SD)"] == f"<{min_cell}").all()
    assert "Therapist characteristics (n = 103 therapists)" in set(frame.section)
    # The demo has no program characteristics: the title names the levels the table has.
    assert document.paragraphs[1].text == (
        "Characteristics of Therapists, Clients and Sessions, by Level"
    )
