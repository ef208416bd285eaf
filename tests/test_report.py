import re
from html import escape

import numpy as np
import pandas as pd
import pytest

from sessionmlm.config import load_config
from sessionmlm.figures import forest_plot
from sessionmlm.report import Fit, render_cohort_report

from .conftest import ROOT


def fit(model: str, converged: bool) -> Fit:
    estimates = pd.DataFrame(
        {
            "term": ["Intercept", "caregiver_present", "ebp[CPP]"],
            "estimate": [-0.5, 0.74, -0.4],
            "std_error": [0.2, 0.2, 0.3],
            "ci_low": [-0.9, 0.34, -1.0],
            "ci_high": [-0.1, 1.14, 0.2],
            "prob_positive": [0.01, 0.999, 0.1],
        }
    )
    for col, src in [("odds_ratio", "estimate"), ("or_low", "ci_low"), ("or_high", "ci_high")]:
        estimates[col] = np.exp(estimates[src])
    variance = pd.DataFrame(
        {"level": ["therapist", "client"], "sd": [0.8, 0.9], "sd_low": [0.5, 0.6],
         "sd_high": [1.1, 1.2], "icc": [0.15, 0.33], "mor": [2.1, 2.4], "units": [103, 274]}
    )  # fmt: skip
    info = {
        "formula": "homework ~ caregiver_present + ebp + (1 | therapist/client)",
        "converged": converged,
        "problems": [] if converged else ["R-hat of sd client is 1.080 (> 1.01)"],
        "attempts": [{}] * (1 if converged else 3),
        "priors": {"group_sd": "HalfNormal(1.5)"},
        "n_obs": 680, "n_dropped": 0, "seed": 1,
        "diagnostics": {"max_rhat": 1.002, "min_ess_bulk": 900.0, "min_ess_tail": 800.0, "divergences": 0},
        "wall_seconds": {"total": 12.0, "compile": 8.0},
        "versions": {"pymc": "6.4.0"},
    }  # fmt: skip
    return Fit(model, "bayes", estimates, variance, info)


DESC = {
    "levels": ["therapist", "client", "session"],
    "counts": {"therapist": 103, "client": 274, "session": 680},
    "sizes": {"client_per_therapist": {"min": 1, "max": 6, "median": 3, "mean": 2.66,
                                       "histogram": {"1": 20, "2": 31}}},
    "outcomes": {"homework": {"name": "homework", "type": "binary",
                              "sources": ["hw_assigned", "hw_reviewed"], "n": 680, "missing": 0,
                              "base_rate": 0.378}},
    "table1": {"therapist": {"licensed": {"kind": "binary", "type": "binary", "inferred": ["level"],
                                          "n_units": 103, "missing": 0,
                                          "yes": {"n": None, "suppressed": True},
                                          "no": {"n": 95, "suppressed": False}, "share": None}},
               "client": {}, "session": {}},
    "min_cell": 11,
}  # fmt: skip


@pytest.fixture
def demo_cohort(demo_config):
    return load_config(demo_config, workdir=ROOT).cohorts["demo"]


def test_report_sections_numbers_and_plain_language(demo_cohort):
    full = fit("full", True)
    full.info["settings"] = {"chains": 4, "draws": 2000, "priors": {"omitted": "here"}}
    html, _ = render_cohort_report(demo_cohort, DESC, {"input_hash": "abc"}, [full])
    for anchor in ["glance", "structure", "table1", "models", "forest", "plain", "appendix"]:
        assert f"id='{anchor}'" in html and f"href='#{anchor}'" in html
    assert "37.8%" in html and "&lt;11" in html  # base rate; suppressed small cell
    assert "<td>licensed</td><td>binary <em>(inferred: level)</em></td>" in html
    assert (
        "<td>caregiver_present</td><td class='num'>2.10</td><td class='num'>1.40 to 3.13</td>"
        in html
    )
    assert (
        "the odds that homework was assigned or reviewed were 2.10 times as high (95% interval "
        "1.40 to 3.13)" in html
    )
    assert (
        "where the EBP delivered was CPP rather than MAP, the odds that homework was assigned or "
        "reviewed were 0.67 times as high (33% lower; 95% interval" in html
    )
    assert "logit P(homework = 1)" in html
    assert not re.search(r"(src=|href=['\"]https?:|url\(|@import|<script|<link)", html)


def test_missing_data_table_counts_the_sessions_left_out(demo_cohort):
    dropping = fit("full", True)
    dropping.info.update(n_obs=650, n_dropped=30, dropped_by_variable={"child_age": 25,
                                                                      "licensed": 8})  # fmt: skip
    html, _ = render_cohort_report(demo_cohort, DESC, {}, [dropping])
    assert "Missing data: 30 of 680 sessions (4.4%) left out of this model" in html
    assert "<td>child_age</td><td class='num'>25</td>" in html


def test_failed_fit_is_marked_and_not_summarised(demo_cohort):
    html, _ = render_cohort_report(demo_cohort, DESC, {}, [fit("full", False)])
    assert "badge fail" in html and "must not be reported as a result" in html
    assert "R-hat of sd client is 1.080 (&gt; 1.01)" in html
    assert "no plain-language summary" in html


def ml_fit(model: str, terms: list[str], loglik: float, odds: float = 2.5) -> Fit:
    """An ml fit record: the bayes one recast with the ml engine's keys."""
    base = fit(model, True)
    estimates = base.estimates[base.estimates["term"].isin(["Intercept", *terms])].copy()
    estimates = estimates.drop(columns="prob_positive").assign(p_value=0.01)
    estimates.loc[estimates["term"] == "caregiver_present", "odds_ratio"] = odds
    k = len(estimates) + 2
    info = base.info | {
        "engine": "ml", "terms": list(estimates["term"]), "loglik": loglik, "n_params": k,
        "aic": -2 * loglik + 2 * k, "bic": -2 * loglik + np.log(680) * k, "rows_hash": "same",
        "units": {"therapist": 103, "client": 274}, "seed": None, "warnings": [],
        "diagnostics": {"method": "adaptive Gauss-Hermite quadrature", "points": 12,
                        "gradient_max_abs": 1e-9, "newton_step_max": 1e-12,
                        "hessian_positive_definite": True, "boundary": [], "separation": None,
                        "quadrature_check": {"points": 20, "loglik_difference": 1e-8}},
        "wall_seconds": {"total": 0.4},
    }  # fmt: skip
    del info["priors"], info["attempts"]
    return Fit(model, "ml", estimates, base.variance, info)


def gee_fit(model: str) -> Fit:
    base = fit(model, True)
    estimates = base.estimates.drop(columns="prob_positive").assign(p_value=0.02)
    estimates.loc[estimates["term"] == "caregiver_present", "odds_ratio"] = 1.7
    variance = base.variance.assign(sd=np.nan, sd_low=np.nan, sd_high=np.nan, mor=np.nan,
                                    icc=[0.04, 0.11])  # fmt: skip
    info = {k: v for k, v in base.info.items() if k not in ("priors", "attempts")}
    info |= {"engine": "gee", "seed": None, "wall_seconds": {"total": 0.1},
             "diagnostics": {"working_covariance": "Nested", "cov_type": "robust",
                             "iterations": 6}}  # fmt: skip
    return Fit(model, "gee", estimates, variance, info)


def test_engines_side_by_side_with_the_conditional_versus_marginal_note(demo_cohort):
    fits = [fit("full", True), ml_fit("full", ["caregiver_present", "ebp[CPP]"], -400.0),
            gee_fit("full")]  # fmt: skip
    html, _ = render_cohort_report(demo_cohort, DESC, {}, fits)
    assert "id='engines'" in html and "href='#engines'" in html
    header = ("<th scope='col'>bayes odds ratio (95% interval)</th><th scope='col'>ml odds ratio "
              "(95% interval)</th><th scope='col'>gee odds ratio (95% interval)</th>")  # fmt: skip
    assert header in html
    row = re.search(r"<tr><td>caregiver_present</td>(.*?)</tr>", html.split("id='engines'")[1])
    assert [c.split(" (")[0] for c in re.findall(r"<td class='num'>(.*?)</td>", row[1])] == [
        "2.10", "2.50", "1.70"
    ]  # fmt: skip
    assert "population-averaged" in html and "conditional" in html
    assert "GEE working dependence (not random-effect variances)" in html
    gee_section = html.split("id='full-gee'")[1].split("<h3")[0]
    assert "working correlation</p>" in gee_section and "u<sub>" not in gee_section
    assert "deterministic (no seed)" in html


def test_likelihood_ratio_tests_and_information_criteria_for_ml(demo_cohort):
    fits = [ml_fit("null", [], -430.0), ml_fit("full", ["caregiver_present", "ebp[CPP]"], -420.0)]
    html, tables = render_cohort_report(demo_cohort, DESC, {}, fits)
    tests = tables["comparison"]
    assert "id='comparison'" in html
    assert list(tests[["smaller", "larger", "df"]].iloc[0]) == ["null", "full", 2]
    assert tests["statistic"].iloc[0] == pytest.approx(20.0)
    assert "<td class='num'>20.00</td><td class='num'>2</td><td class='num'>&lt;0.001</td>" in html


def test_forest_plot_is_accessible_svg():
    svg = forest_plot(
        [{"term": "licensed", "series": "full", "odds_ratio": 0.55, "or_low": 0.3, "or_high": 0.9}],
        "Odds ratios",
    )
    assert svg.startswith("<svg") and "<title>Odds ratios</title>" in svg and "<desc>" in svg


def test_proportional_change_in_variance_from_the_null_model(demo_cohort):
    null = ml_fit("null", [], -430.0)
    null = Fit("null", "ml", null.estimates, null.variance.assign(sd=[1.0, 1.2]), null.info)
    full = ml_fit("full", ["caregiver_present"], -420.0)
    full = Fit("full", "ml", full.estimates, full.variance.assign(sd=[0.5, 1.2]), full.info)
    html, _ = render_cohort_report(demo_cohort, DESC, {}, [null, full])
    section = html.split("id='full-ml'")[1].split("Variance components")[1].split("</table>")[0]
    assert "<th scope='col'>change in variance from null</th>" in section
    cells = re.findall(
        r"<tr><td>(\w+)</td>(?:<td[^>]*>[^<]*</td>){4}<td class='num'>(.*?)</td>", section
    )
    assert cells == [("therapist", "75%"), ("client", "0%")]  # (1 - 0.25) / 1; unchanged
    assert "change in variance from null" not in html.split("id='null-ml'")[1].split("<h3")[0]


def test_appendix_has_the_config_as_run_settings_and_the_command(demo_cohort, monkeypatch):
    monkeypatch.chdir(ROOT)  # where snakemake runs: files are named relative to it
    full = fit("full", True)
    full.info["settings"] = {"chains": 4, "draws": 2000, "priors": {"omitted": "here"}}
    html, _ = render_cohort_report(demo_cohort, DESC, {"input_hash": "abc"}, [full])
    appendix = html.split("id='appendix'")[1]
    assert "Cohort file as run" in appendix
    assert escape(demo_cohort.config_file.read_text()) in appendix
    # Files as the project names them, never a machine path (the tests run from the repository).
    assert "<td>cohort file</td><td>config/cohorts/demo.yaml</td>" in appendix
    assert "<td>data file(s)</td><td>data/demo/sessions.csv</td>" in appendix
    assert str(ROOT) not in html
    # The command that remakes it in a fresh clone (tests/test_workflow.py runs it, planning).
    assert "<code>make run TARGETS=results/demo/report.html</code>" in appendix
    assert "put the cohort file at <code>config/cohorts/demo.yaml</code> and its data as " \
        "<code>data/demo/sessions.csv</code>" in appendix  # fmt: skip
    assert "<td>full/bayes settings</td><td>chains: 4, draws: 2000</td>" in appendix
    # The version of sessionmlm that made the fits; "unknown" for fits from before it was recorded.
    assert "<td>sessionmlm</td><td>unknown</td>" in appendix
    full.info["sessionmlm_version"] = "0.1.0"
    html, _ = render_cohort_report(demo_cohort, DESC, {"input_hash": "abc"}, [full])
    assert re.search(r"<td>sessionmlm</td><td[^>]*>0\.1\.0</td>", html.split("id='appendix'")[1])


def test_appendix_names_data_outside_the_project_without_machine_paths(
    demo_config, tmp_path, monkeypatch
):
    """A cohort file may name its data by an absolute path: shown without the machine's folders."""
    data = ROOT / "data" / "demo" / "sessions.csv"  # outside the project, in this checkout
    text = (ROOT / "config" / "cohorts" / "demo.yaml").read_text()
    assert "data: data/demo/sessions.csv\n" in text
    (tmp_path / "config" / "cohorts").mkdir(parents=True)
    (tmp_path / "config" / "cohorts" / "demo.yaml").write_text(
        text.replace("data: data/demo/sessions.csv\n", f"data: {data}\n").replace(
            "data: data/demo/double_coded.csv", f"data: {data.with_name('double_coded.csv')}"
        )
    )
    cohort = load_config(demo_config, workdir=tmp_path).cohorts["demo"]
    monkeypatch.chdir(tmp_path)
    html, _ = render_cohort_report(cohort, DESC, {"input_hash": "abc"}, [fit("full", True)])
    appendix = html.split("id='appendix'")[1]
    assert "data: &lt;sessionmlm&gt;/data/demo/sessions.csv" in appendix  # the file as run
    assert "and its data where its <code>data</code> key says" in appendix
    assert "<td>data file(s)</td><td>sessions.csv</td>" in appendix
    assert str(ROOT) not in html and str(tmp_path) not in html


def test_why_the_engines_differ_is_told_in_the_cohorts_levels():
    from sessionmlm.report.side_by_side import side_by_side_section

    ml, gee = fit("full", True), fit("full", True)
    fits = [Fit("full", "ml", ml.estimates, ml.variance, ml.info),
            Fit("full", "gee", gee.estimates, gee.variance, gee.info)]  # fmt: skip
    html = side_by_side_section(fits, ["comm", "mom", "kid"]).split("</p>")[0]  # the note
    assert "comparing kids of the same comm and mom" in html
    assert "the average over all comms and moms" in html
    assert "therapist" not in html and "caregiver" not in html and "homework" not in html
