"""Run the real workflow with snakemake on a tiny cohort, end to end."""

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sessionmlm.simulate import TrueParameters, simulate_cohort

from .conftest import ROOT, TINY, TINY_COHORT, machine_path_lines, write_project

pytestmark = pytest.mark.slow
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))


def snakemake(folder: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [SNAKEMAKE, "-s", str(ROOT / "Snakefile"), "--directory", str(folder), "--cores", "2", *args],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip


def fresh_clone(folder: Path) -> Path:
    """This checkout's files as a fresh clone has them: tracked and new, none ignored or made."""
    listed = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    for name in filter(None, listed.split("\0")):
        if (ROOT / name).is_file():  # not a file deleted in the working tree
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, folder / name)
    return folder


def test_tiny_cohort_end_to_end(tiny_project, tiny_table, tmp_path_factory):
    run = snakemake(tiny_project)
    assert run.returncode == 0, run.stderr[-3000:]
    results = tiny_project / "results"
    # No machine path (this temporary folder, the checkout, a home, the venv) in any output.
    assert machine_path_lines(results) == []
    assert machine_path_lines(tiny_project / "logs") == []
    last_column = {"bayes": "prob_positive", "ml": "p_value", "gee": "p_value"}
    for model in ["null", "small"]:
        for engine, last in last_column.items():
            folder = results / "tiny" / model / engine
            est = pd.read_csv(folder / "estimates.csv")
            var = pd.read_csv(folder / "variance.csv")
            info = json.loads((folder / "fit.json").read_text())
            assert {"term", "estimate", "std_error", "ci_low", "ci_high", "odds_ratio", "or_low",
                    "or_high", last} <= set(est.columns)  # fmt: skip
            assert list(var.level) == ["therapist", "client"]
            assert info["n_obs"] == 200 and info["units"] == {"therapist": 30, "client": 80}
            assert info["cohort"] == "tiny" and len(info["input_hash"]) == 64
            assert info["engine"] == engine and info["converged"], info["problems"]
    # keep_default_na: pandas would read the model name "null" as missing.
    tests = pd.read_csv(results / "tiny" / "model_comparison.csv", keep_default_na=False)
    assert list(tests[["smaller", "larger", "df"]].iloc[0]) == ["null", "small", 3]
    small = pd.read_csv(results / "tiny" / "small" / "bayes" / "estimates.csv")
    assert list(small.term) == ["Intercept", "caregiver_present", "child_age", "licensed"]

    report = (results / "tiny" / "report.html").read_text()
    for section in ["id='structure'", "id='table1'", "id='models'", "id='engines'",
                    "id='comparison'", "id='forest'", "id='predicted'", "id='appendix'",
                    "id='checks'", "id='loo'", "id='lrt'", "id='sensitivity'"]:  # fmt: skip
        assert section in report
    # Priors for every model: bayes as set and per predictor's unit; none for ml and gee.
    assert "coefficient of <code>child_age</code>" in report
    assert "Priors: none (maximum likelihood)" in report
    assert "Priors: none (estimating equations)" in report
    # The report's own tables beside it: bayes predictions, PSIS-LOO, prior sensitivity.
    predicted = pd.read_csv(results / "tiny" / "predicted_probabilities.csv")
    ages = tiny_table.child_age.max() - tiny_table.child_age.min() + 1  # every whole year
    assert set(predicted.engine) == {"bayes"} and len(predicted) == 2 * 4 * ages
    assert list(predicted.columns) == ["model", "engine", "kind", "caregiver_present", "licensed",
                                       "child_age", "probability", "low", "high"]  # fmt: skip
    assert (predicted.low <= predicted.probability).all()
    assert (predicted.probability <= predicted.high).all()
    loo = pd.read_csv(results / "tiny" / "loo_comparison.csv", keep_default_na=False)
    assert set(loo.model) == {"null", "small"} and set(loo.unit) == {"client"}
    assert (loo.n_units == 80).all()
    sensitivity = pd.read_csv(results / "tiny" / "prior_sensitivity.csv")
    assert set(sensitivity.term) == {"caregiver_present", "child_age", "licensed"}
    checks = json.loads((results / "tiny" / "small" / "bayes" / "fit.json").read_text())["checks"]
    assert set(checks) == {"draws", "all_draws", "min_cell", "predictive", "calibration", "loo",
                           "sensitivity"}  # fmt: skip
    # Predictions are made in the fit job, for the conditional engines only.
    for engine, made in [("bayes", True), ("ml", True), ("gee", False)]:
        info = json.loads((results / "tiny" / "small" / engine / "fit.json").read_text())
        assert ("predicted" in info) is made, engine
    assert "<svg" in report and "Odds ratios" in report
    # Self-contained: nothing to fetch.
    assert not re.search(r"(src=|href=['\"]https?:|url\(|@import|<script|<link)", report)
    # Pseudonymous: no raw id of the input anywhere under results/.
    raw_ids = set(tiny_table.therapist_id) | set(tiny_table.client_id) | set(tiny_table.session_id)
    for path in results.rglob("*"):
        if path.is_file() and path.suffix in {".csv", ".json", ".html"}:
            text = path.read_text()
            assert not [i for i in raw_ids if re.search(rf"\b{i}\b", text)], path
    assert "tiny/report.html" in (results / "index.html").read_text()

    # The appendix's reproduce command, in a fresh clone with the cohort's files put where the
    # appendix says, plans the report. The environment is this one, already made (READY=).
    appendix = report.split("id='appendix'")[1]
    cohort_file, data_file = re.search(
        r"put the cohort file at <code>(.+?)</code> and its data as <code>(.+?)</code>", appendix
    ).groups()
    command = re.search(r"run <code>(make run TARGETS=results/tiny/report\.html)</code>", appendix)
    clone = fresh_clone(tmp_path_factory.mktemp("clone"))
    for name in (cohort_file, data_file):
        (clone / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(tiny_project / name, clone / name)
    venv = Path(sys.executable).parents[1]
    planned = subprocess.run(
        [*shlex.split(command[1]), f"VENV={venv}", "READY=", "ARGS=-n"],
        cwd=clone, capture_output=True, text=True, timeout=300,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},  # the clone's own src/
    )  # fmt: skip
    assert planned.returncode == 0, planned.stderr[-3000:]
    assert re.search(r"^report\s+1$", planned.stdout, re.M), planned.stdout[-2000:]
    assert "output: results/tiny/report.html" in planned.stdout

    # A second run has nothing to do.
    again = snakemake(tiny_project, "-n")
    assert "Nothing to be done" in again.stdout + again.stderr

    # Snakemake's own report: captions, a category per cohort, the cohort report linked.
    made = snakemake(tiny_project, "--report", "snakemake-report.html")
    assert made.returncode == 0, made.stderr[-2000:]
    html = (tiny_project / "snakemake-report.html").read_text()
    for text in ["Cohort reports", "Fixed effects of model", "Variance components of model",
                 "self-contained HTML report of cohort", "report.html",
                 "Leave-one-client-out cross-validation of the", "Prior sensitivity of the",
                 "Predicted probability of the outcome in cohort"]:  # fmt: skip
        assert text in html, text

    # Broken data later: the run stops with the problems, and every earlier result stays.
    before = {p: p.read_bytes() for p in results.rglob("*") if p.is_file()
              and p.name != "validation.json"}  # fmt: skip
    data = tiny_project / "data" / "tiny" / "sessions.csv"
    good, stat = data.read_text(), data.stat()
    table = pd.read_csv(data)
    table.loc[[3], "caregiver_present"] = "maybe"
    table.to_csv(data, index=False)
    broken = snakemake(tiny_project)
    assert (
        broken.returncode != 0 and "['maybe'] are not in codes.caregiver_present" in broken.stderr
    )
    after = {p: p.read_bytes() for p in results.rglob("*") if p.is_file()
             and p.name != "validation.json"}  # fmt: skip
    assert after == before
    validation = json.loads((results / "tiny" / "validation.json").read_text())
    assert not validation["ok"] and "maybe" in validation["problems"][0]["text"]
    data.write_text(good)
    os.utime(data, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # as it was: nothing to redo

    # Adding a model refits only that model (fits depend on their own model, not the cohort).
    cohort = tiny_project / "config" / "cohorts" / "tiny.yaml"
    cohort.write_text(cohort.read_text().replace(
        "  small:", "  age: homework ~ child_age + (1 | therapist/client)\n  small:"
    ))  # fmt: skip
    plan = snakemake(tiny_project, "-n")
    assert re.search(r"^fit\s+3$", plan.stdout, re.M), plan.stdout[-2000:]  # one per engine
    for engine in ["bayes", "ml", "gee"]:
        assert f"output: results/tiny/age/{engine}/estimates.csv" in plan.stdout
    assert "output: results/tiny/small/bayes/estimates.csv" not in plan.stdout
    assert "rule ingest" not in plan.stdout

    # Editing a fitted model's formula refits it (a job's settings are recorded, not only its
    # files), and a new missing-value code reruns ingest.
    def edit(old: str, new: str) -> None:
        text = cohort.read_text()
        assert old in text, old
        cohort.write_text(text.replace(old, new))

    # The small model, fitted above, with its terms in another order (the same columns).
    edit(
        "small: homework ~ caregiver_present + child_age",
        "small: homework ~ child_age + caregiver_present",
    )
    plan = snakemake(tiny_project, "-n")
    assert re.search(r"^fit\s+6$", plan.stdout, re.M), plan.stdout[-2000:]  # age and small
    assert "output: results/tiny/small/ml/estimates.csv" in plan.stdout
    assert "rule ingest" not in plan.stdout
    edit("missing:\n- -99", "missing:\n- -98\n- -99")
    plan = snakemake(tiny_project, "-n")
    assert "rule ingest:" in plan.stdout, plan.stdout[-2000:]


def test_an_ordinal_outcome_beside_a_binary_one_end_to_end(tmp_path, tiny_table):
    """The simulator's ordinal item as a second outcome, fitted by every engine and reported."""
    cohort = {k: v for k, v in TINY_COHORT.items() if k != "outcome"} | {
        "outcomes": {
            "homework": TINY_COHORT["outcome"] | {"name": None},
            "extensiveness": {"column": "hw_extensiveness", "order": [0, 1, 2, 3, 4]},
        },
        "models": {
            "small": "homework ~ caregiver_present + child_age + (1 | therapist/client)",
            "ordinal": "extensiveness ~ caregiver_present + child_age + (1 | therapist/client)",
        },
    }
    del cohort["outcomes"]["homework"]["name"]
    write_project(tmp_path, {"tiny": cohort}, {"data/tiny/sessions.csv": tiny_table})
    run = subprocess.run(
        [SNAKEMAKE, "-s", str(ROOT / "Snakefile"), "--directory", str(tmp_path), "--cores", "2"],
        capture_output=True, text=True, timeout=900,
        env=os.environ | {"SESSIONMLM_KEY": "test-key"},
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    results = tmp_path / "results" / "tiny"
    for engine in ("bayes", "ml", "gee"):
        cuts = pd.read_csv(results / "ordinal" / engine / "thresholds.csv")
        assert list(cuts.threshold) == ["0|1", "1|2", "2|3", "3|4"], engine
        assert cuts.estimate.is_monotonic_increasing, engine
        terms = set(pd.read_csv(results / "ordinal" / engine / "estimates.csv").term)
        assert terms == {"caregiver_present", "child_age"}, engine  # no Intercept
        assert pd.read_csv(results / "small" / engine / "thresholds.csv").empty  # binary
        info = json.loads((results / "ordinal" / engine / "fit.json").read_text())
        assert info["outcome_type"] == "ordinal" and info["status"] == "ok", info["problems"]
    splits = json.loads((results / "ordinal" / "ml" / "fit.json").read_text())["splits"]
    assert {r["split"] for r in splits} == {"1 or higher", "2 or higher", "3 or higher",
                                            "4 or higher"}  # fmt: skip
    predicted = pd.read_csv(results / "predicted_probabilities.csv")
    ordinal = predicted[predicted.model == "ordinal"]
    assert set(ordinal.category.dropna().astype(int)) == {0, 1, 2, 3, 4}
    assert predicted[predicted.model == "small"].category.isna().all()
    # Every setting's categories add up to 1 (to the CSV's 6 significant digits, 5 times).
    keys = ["engine", "kind", "caregiver_present", "child_age"]
    assert ordinal.groupby(keys).probability.sum().to_numpy() == pytest.approx(1.0, abs=5e-6)
    html = (results / "report.html").read_text()
    for part in ["Thresholds between adjacent categories", "Proportional-odds check",
                 "id='checks-extensiveness'", "id='predicted-extensiveness'",
                 "Share of sessions in each category of extensiveness", "cumulative",
                 "id='plain-homework'", "id='plain-extensiveness'"]:  # fmt: skip
        assert part in html, part
    tests = pd.read_csv(results / "model_comparison.csv")
    assert tests.empty  # two models of different outcomes are never compared


def test_config_error_stops_before_any_job(tiny_project):
    cohort = tiny_project / "config" / "cohorts" / "tiny.yaml"
    cohort.write_text(
        cohort.read_text().replace("caregiver_present + child_age", "caregiver + child_age")
    )
    run = snakemake(tiny_project)
    assert run.returncode != 0
    assert (
        "models.small: term 'caregiver' names no column. Closest: 'caregiver_present'" in run.stderr
    )
    assert not (tiny_project / "results").exists()


def test_bad_data_stops_with_the_problems_not_a_traceback(tiny_project):
    data = tiny_project / "data" / "tiny" / "sessions.csv"
    table = pd.read_csv(data)
    table.loc[[3, 8], "caregiver_present"] = "maybe"
    table["child_age"] = table["child_age"].astype(str)
    table.loc[[20], "child_age"] = "twelve"  # a word in a number column: never a category
    table.to_csv(data, index=False)
    run = snakemake(tiny_project)
    assert run.returncode != 0
    expected = ("sessions.csv: column 'caregiver_present', rows 5, 10 (2 in all): value(s) "
                "['maybe'] are not in codes.caregiver_present")  # fmt: skip
    assert expected in run.stderr
    assert ("sessions.csv: column 'child_age', rows 22 (1 in all): value(s) ['twelve'] are not "
            "numbers") in run.stderr  # fmt: skip
    assert "Traceback" not in run.stderr
    assert not list((tiny_project / "results").rglob("*.csv"))
    validation = json.loads((tiny_project / "results" / "tiny" / "validation.json").read_text())
    assert len(validation["problems"]) == 2 and str(tiny_project) not in json.dumps(validation)


def test_types_and_levels_are_shown_and_each_model_checked_before_any_fit(tiny_project):
    cohort = tiny_project / "config" / "cohorts" / "tiny.yaml"
    text = cohort.read_text().replace("- bayes\n", "").replace("- gee\n", "")
    text = text.replace(
        "  small:", "  lic: homework ~ licensed + child_age + (1 | therapist/client)\n  small:"
    )
    cohort.write_text(text + "variables:\n  licensed: {type: binary, level: therapist}\n")
    data = tiny_project / "data" / "tiny" / "sessions.csv"
    table = pd.read_csv(data)
    table.loc[table.licensed == 0, "child_age"] = None  # lic keeps licensed therapists only
    table.to_csv(data, index=False)
    run = snakemake(tiny_project, "--keep-going")
    assert run.returncode != 0
    # Printed on the terminal before any fit, declared or marked inferred.
    terminal = run.stdout + run.stderr
    assert "child_age: numeric (inferred), client level (inferred)" in terminal
    assert "licensed: binary, therapist level\n" in terminal
    validation = json.loads((tiny_project / "results" / "tiny" / "validation.json").read_text())
    assert (
        validation["variables"]["licensed"] | {"type": "binary", "type_inferred": False}
        == (validation["variables"]["licensed"])
    )
    assert re.search(r"models.lic cannot be fitted:\n- model 'lic': in its \d+ complete sessions "
                     r"\(\d+ dropped for missing values\), 'licensed' takes the single value 1",
                     terminal)  # fmt: skip
    assert "Traceback" not in terminal
    results = tiny_project / "results" / "tiny"
    assert not (results / "lic" / "ml").exists()  # no fit job ran for it (nor for small)
    assert (results / "null" / "ml" / "estimates.csv").exists()  # a model that can be fitted was


def test_many_cohorts_one_broken_the_others_run_then_pool(tmp_path, monkeypatch):
    """Every cohort file runs; a broken one fails alone, named; the index pools the rest."""
    tables = {f"data/{name}/sessions.csv": simulate_cohort(TINY, TrueParameters(), seed=seed)
              for seed, name in enumerate(["north", "south", "west"], start=4)}  # fmt: skip
    spec = {k: v for k, v in TINY_COHORT.items() if k != "bayes"} | {"engines": ["ml"]}
    cohorts = {name: spec | {"name": name, "data": f"data/{name}/sessions.csv"}
               for name in ["north", "south", "west"]}  # fmt: skip
    cohorts["zeta"] = cohorts["north"] | {
        "name": "zeta",
        "models": {"m": "homework ~ caregiver + (1 | therapist)"},
    }
    west = tables["data/west/sessions.csv"]
    west.loc[[5, 9], "caregiver_present"] = "maybe"
    write_project(tmp_path, cohorts, tables)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SESSIONMLM_KEY", "test-key")

    profile = ("--profile", str(ROOT / "workflow" / "profiles" / "default"))  # keep-going
    run = snakemake(tmp_path, *profile)
    assert run.returncode != 0
    assert "cohort 'zeta' will not run (the other cohorts will)" in run.stderr
    assert "models.m: term 'caregiver' names no column" in run.stderr
    assert "['maybe'] are not in codes.caregiver_present" in run.stderr
    results = tmp_path / "results"
    assert (results / "north" / "report.html").exists() and (
        results / "south" / "report.html"
    ).exists()
    assert not (results / "west" / "report.html").exists() and not (results / "index.html").exists()

    # zeta had a report from an earlier run: the run still fails and names it, and keeps it.
    (results / "zeta").mkdir()
    (results / "zeta" / "report.html").write_text("an earlier report")
    run = snakemake(tmp_path, *profile)
    assert run.returncode != 0 and "cohort 'zeta' was not run" in run.stderr
    assert (results / "zeta" / "report.html").read_text() == "an earlier report"
    # The broken cohorts' problems name their files relative to the project.
    assert (
        "- config/cohorts/zeta.yaml: models.m: term 'caregiver' names no column"
        in (tmp_path / "logs" / "cohort_problems" / "zeta.log").read_text()
    )
    assert machine_path_lines(tmp_path / "logs") == [] and machine_path_lines(results) == []

    for name in ["west", "zeta"]:  # the county drops the two broken clinics for now
        (tmp_path / "config" / "cohorts" / f"{name}.yaml").unlink()
    run = snakemake(tmp_path, *profile)
    assert run.returncode == 0, run.stderr[-3000:]
    assert not re.search(r"^fit\s", run.stdout, re.M)  # the two good cohorts are not refitted
    table = pd.read_csv(results / "cohort_comparison.csv")
    pooled = table[table.cohort == "pooled (random effects)"]
    assert set(pooled.term) == {"caregiver_present", "child_age", "licensed"}
    assert (pooled.k == 2).all() and (pooled.engine == "ml").all()
    index = (results / "index.html").read_text()
    assert "north/report.html" in index and "Across cohorts" in index and "<svg" in index
