"""Report sections from posterior checks: what they flag, compare and hide."""

import copy
import re
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest

from sessionmlm.checks import posterior_checks
from sessionmlm.compare import loo_comparison
from sessionmlm.report.posterior import (
    check_warnings,
    loo_section,
    predictive_section,
    sensitivity_section,
)

from .test_checks import _data, _posterior

LEVELS = ["therapist", "client", "session"]
GROUPS = LEVELS[:-1]


@pytest.fixture(scope="module")
def info():
    """A converged bayes fit.json record with real checks of a synthetic posterior."""
    rng = np.random.default_rng(8)
    n, therapists, clients = 600, 60, 200
    therapist = np.arange(n) // 10
    client = np.arange(n) // 3
    x = rng.normal(size=n)
    data = _data((rng.random(n) < 0.4).astype(float), x, therapist, client)
    post = _posterior(rng, 400, therapists, clients)
    table = pd.DataFrame({"ebp": np.where(np.arange(n) % 3 == 0, "A", "B")})
    checks = posterior_checks(table, data, post, ["ebp"], min_cell=11, seed=1)
    return {"converged": True, "n_obs": n, "rows_hash": "same", "checks": checks}


def _clean(info):
    """The record with every check passing, to flip one thing at a time."""
    clean = copy.deepcopy(info)
    checks = clean["checks"]
    checks["predictive"]["overall"]["p_value"] = 0.5
    for stat in checks["predictive"]["per_unit"]["statistics"]:
        stat["p_value"] = 0.5
    for group in checks["predictive"]["per_category"]:
        group["inside"] = True
    checks["loo"]["k_bad"] = 0
    for row in checks["sensitivity"]:
        row["changed"], row["reliable"] = False, True
    return clean


def test_warnings_name_each_failed_check_and_nothing_when_all_pass(info):
    clean = _clean(info)
    assert check_warnings(clean) == []
    bad = copy.deepcopy(clean)
    bad["checks"]["predictive"]["overall"]["p_value"] = 0.004
    bad["checks"]["predictive"]["per_unit"]["statistics"][0]["p_value"] = 0.01
    bad["checks"]["predictive"]["per_category"][0]["inside"] = False
    bad["checks"]["loo"]["k_bad"] = 3
    bad["checks"]["sensitivity"][0]["changed"] = True
    text = " | ".join(check_warnings(bad))
    assert "the outcome rate is unlike the model's (p 0.004)" in text
    assert "SD of the therapist rates" in text
    assert "ebp A" in text
    assert "3 of 200 clients have Pareto k" in text
    assert f"about {bad['checks']['sensitivity'][0]['term']} changes" in text
    # A failed fit is reported by its own problems, not by its checks.
    assert check_warnings(bad | {"converged": False}) == []


def test_loo_differences_are_paired_over_clients_and_only_on_the_same_sessions(info):
    worse = copy.deepcopy(info)
    pointwise = worse["checks"]["loo"]["pointwise"]
    shift = np.linspace(0.0, 0.2, len(pointwise["elpd"]))
    pointwise["elpd"] = list(np.array(pointwise["elpd"]) - shift)
    worse["checks"]["loo"]["elpd"] = float(np.sum(pointwise["elpd"]))
    other = copy.deepcopy(info) | {"rows_hash": "other sessions"}
    rows = {r["model"]: r for r in loo_comparison({"full": info, "small": worse, "other": other})}
    assert rows["full"]["best"] == "full" and rows["full"]["elpd_diff"] == 0
    assert rows["small"]["best"] == "full"
    assert rows["small"]["elpd_diff"] == pytest.approx(-shift.sum())
    assert rows["small"]["se_diff"] == pytest.approx(np.sqrt(len(shift)) * shift.std(ddof=1))
    assert rows["other"]["best"] == "other"  # not compared with models on other sessions
    html = loo_section(loo_comparison({"full": info, "small": worse}), "session")
    assert "Leave-one-client-out" in html and "vs full" in html
    # 20 elpd apart with an SE under 1: clear. Apart by noise of SD 0.1 per client: not clear.
    assert "predicts new clients clearly better than <code>small</code>" in html
    close = copy.deepcopy(info)
    noise = np.random.default_rng(1).normal(0, 0.1, size=len(shift))
    noise -= noise.mean() + 0.001  # about 0.2 worse in all, SE about 1.4
    close["checks"]["loo"]["pointwise"]["elpd"] = list(np.array(pointwise["elpd"]) + shift + noise)
    close["checks"]["loo"]["elpd"] = float(np.sum(close["checks"]["loo"]["pointwise"]["elpd"]))
    html = loo_section(loo_comparison({"full": info, "close": close}), "session")
    assert "predicts new clients not clearly better than <code>close</code>" in html


def test_sensitivity_flags_a_changed_conclusion_and_says_so_in_words(info):
    clean = _clean(info)
    html = sensitivity_section({"full": clean}, "full", GROUPS)
    assert "No conclusion changes" in html and "changed" not in html
    changed = copy.deepcopy(clean)
    row = next(r for r in changed["checks"]["sensitivity"] if r["direction"] == "wider")
    row["changed"], row["reliable"] = True, False
    html = sensitivity_section({"full": changed}, "full", GROUPS)
    assert f"The conclusion about {row['term']} depends on the" in html
    assert html.count("changed</strong>") == 1 and "(k high)" in html
    assert "Importance weights were unreliable" in html


def test_predictive_section_suppresses_small_cells_and_draws_titled_figures(info):
    small = copy.deepcopy(info)
    group = small["checks"]["predictive"]["per_category"][0]
    group.update(observed=None, sessions=None, inside=None)
    html = predictive_section({"full": small}, "full", "homework", LEVELS)
    assert "suppressed" in html
    svgs = re.findall(r"<svg.*?</svg>", html, flags=re.S)
    assert len(svgs) == 2  # sorted therapist rates, calibration
    for svg in svgs:
        assert ET.fromstring(svg).find("{http://www.w3.org/2000/svg}title") is not None
    assert "new client" in html and "No ids are shown" in html
    # Several models: the others in one summary table.
    html = predictive_section({"null": info, "full": info}, "full", "homework", LEVELS)
    assert "Predictive checks of every model with posterior draws" in html


def test_the_sections_speak_of_the_cohorts_own_levels_and_outcome(info):
    levels = ["comm", "mom", "kid"]
    # The fixture's fit has therapist and client units; name them as this cohort's would be.
    info = copy.deepcopy(_clean(info))
    info["checks"]["predictive"]["per_unit"]["level"] = "comm"
    for stat in info["checks"]["predictive"]["per_unit"]["statistics"]:
        stat["name"] = stat["name"].replace("therapist", "comm").replace("homework", "immun")
    info["checks"]["loo"]["unit"] = "mom"
    text = predictive_section({"full": info}, "full", "immun", levels)
    text += loo_section(loo_comparison({"full": info}), "kid")
    text += sensitivity_section({"full": info}, "full", levels[:-1])
    assert "fitted comm and mom effects" in text and "observed immun rate" in text
    assert "for a <em>new mom</em> of the same comm" in text
    assert "How well each model predicts the kids of a mom it has not seen" in text
    assert "the prior on the comm and mom SDs" in text
    for word in ("therapist", "session", "homework"):
        assert word not in text, word


def test_without_bayes_fits_the_section_says_why(info):
    assert "did not run the <code>bayes</code> engine" in predictive_section(
        {}, "full", "homework", LEVELS
    )
    failed = info | {"converged": False}
    assert "no fit with posterior checks passed" in predictive_section(
        {"full": failed}, "full", "homework", LEVELS
    )
    assert sensitivity_section({}, "full", GROUPS) == "" and loo_section([], "session") == ""
