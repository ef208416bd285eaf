"""Model structure end to end: programs above therapists, a random slope, within/between parts
and a model one engine does not fit, through the real workflow and into the report."""

import json

import numpy as np
import pandas as pd

from .conftest import TINY_COHORT, write_project
from .test_workflow import snakemake


def test_programs_slopes_and_within_between_end_to_end(tmp_path, tiny_table, monkeypatch):
    table = tiny_table.copy()
    therapists = table.therapist_id.unique()
    program = dict(zip(therapists, np.arange(len(therapists)) % 10, strict=True))
    table["program_id"] = table.therapist_id.map(program).map("prog{}".format)  # 10 programs
    cohort = TINY_COHORT | {
        "levels": {"program": "program_id"} | TINY_COHORT["levels"],
        "within_between": {"predictors": ["caregiver_present"], "models": ["split"]},
        "models": {
            "programs": "homework ~ caregiver_present + child_age + (1 | program/therapist/client)",
            "slope": "homework ~ caregiver_present + (1 + caregiver_present | therapist) + (1 | client)",
            "split": "homework ~ caregiver_present + child_age + (1 | program/therapist/client)",
        },
    }  # fmt: skip
    write_project(tmp_path, {"tiny": cohort}, {"data/tiny/sessions.csv": table})
    monkeypatch.setenv("SESSIONMLM_KEY", "test-key")
    run = snakemake(tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    # The workflow said at the start which engine would not fit which model, and why.
    assert "tiny/slope: gee will not fit it: GEE is population-averaged" in run.stderr
    results = tmp_path / "results" / "tiny"
    for engine in ("bayes", "ml", "gee"):
        variance = pd.read_csv(results / "programs" / engine / "variance.csv")
        assert list(variance.level) == ["program", "therapist", "client"], engine
        info = json.loads((results / "programs" / engine / "fit.json").read_text())
        assert info["units"] == {"program": 10, "therapist": 30, "client": 80}, engine
        terms = list(pd.read_csv(results / "split" / engine / "estimates.csv").term)
        assert terms[1:4] == ["caregiver_present (within client)",
                              "caregiver_present (between client)",
                              "caregiver_present (between therapist)"], engine  # fmt: skip
    gee = json.loads((results / "slope" / "gee" / "fit.json").read_text())
    assert gee["status"] == "not fitted" and "no random slopes" in gee["not_fitted"]
    for engine in ("bayes", "ml"):
        info = json.loads((results / "slope" / engine / "fit.json").read_text())
        assert info["status"] != "not fitted", (engine, info.get("not_fitted"))
        assert info["slopes"] == {"therapist": ["caregiver_present"]}
        (correlation,) = info["correlations"]
        assert correlation["terms"] == ["Intercept", "caregiver_present"]
        if np.isnan(correlation["ci_low"]):  # a singular fit (an SD at 0, or rho at +-1)
            assert engine == "ml" and info["diagnostics"]["boundary"]
            assert any("singular fit" in w for w in info["warnings"]), info["warnings"]
        else:
            low, high = correlation["ci_low"], correlation["ci_high"]
            assert -1 <= low <= correlation["estimate"] <= high <= 1
        variance = pd.read_csv(results / "slope" / engine / "variance.csv")
        slope = variance[variance.kind == "slope"]
        assert list(slope.level) == ["therapist:caregiver_present"], engine
        assert slope.sd.iloc[0] >= 0 and np.isnan(slope.icc.iloc[0])
    html = (results / "report.html").read_text()
    for part in ["badge na'>not fitted", "The gee engine does not fit this model",
                 "Random slopes", "SD of the <code>caregiver_present</code> slope across therapists",
                 "within the same client", "Within the same client, in sessions where",
                 "program"]:  # fmt: skip
        assert part in html, part
    # Slope and intercept-only models are not compared by a chi-square test.
    tests = pd.read_csv(results / "model_comparison.csv")
    assert not ({"slope"} & (set(tests.smaller) | set(tests.larger)))
