import re

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
    "outcome": {"name": "homework", "sources": ["hw_assigned", "hw_reviewed"], "n": 680,
                "missing": 0, "base_rate": 0.378},
    "table1": {"therapist": {"licensed": {"kind": "binary", "n_units": 103, "missing": 0,
                                          "yes": {"n": None, "suppressed": True},
                                          "no": {"n": 95, "suppressed": False}, "share": None}},
               "client": {}, "session": {}},
    "min_cell": 11,
}  # fmt: skip


@pytest.fixture
def demo_cohort(demo_config):
    return load_config(demo_config, workdir=ROOT).cohorts["demo"]


def test_report_sections_numbers_and_plain_language(demo_cohort):
    html = render_cohort_report(demo_cohort, DESC, {"input_hash": "abc"}, [fit("full", True)])
    for anchor in ["glance", "design", "table1", "models", "forest", "plain", "appendix"]:
        assert f"id='{anchor}'" in html and f"href='#{anchor}'" in html
    assert "37.8%" in html and "&lt;11" in html  # base rate; suppressed small cell
    assert (
        "<td>caregiver_present</td><td class='num'>2.10</td><td class='num'>1.40 to 3.13</td>"
        in html
    )
    assert "odds of homework were 2.10 times as high (95% interval 1.40 to 3.13)" in html
    assert (
        "where ebp was CPP rather than MAP, the odds of homework were 0.67 times as high (33% lower)"
        in html
    )
    assert "logit P(homework = 1)" in html
    assert not re.search(r"(src=|href=['\"]https?:|url\(|@import|<script|<link)", html)


def test_failed_fit_is_marked_and_not_summarised(demo_cohort):
    html = render_cohort_report(demo_cohort, DESC, {}, [fit("full", False)])
    assert "badge fail" in html and "must not be reported as a result" in html
    assert "R-hat of sd client is 1.080 (&gt; 1.01)" in html
    assert "no plain-language summary" in html


def test_forest_plot_is_accessible_svg():
    svg = forest_plot(
        [{"term": "licensed", "series": "full", "odds_ratio": 0.55, "or_low": 0.3, "or_high": 0.9}],
        "Odds ratios",
    )
    assert svg.startswith("<svg") and "<title>Odds ratios</title>" in svg and "<desc>" in svg
