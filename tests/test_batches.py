"""Item models checked, fitted and tabled many to a job (batches.py, stages/*_batch.py).

A batch must write, for each of its fits, exactly the files a fit job writes for it alone, and
a fit that raises must be recorded as failed in its own files without losing the others.
"""

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from sessionmlm import batches
from sessionmlm.formula import parse_formula
from sessionmlm.stages.fit import run_fit
from sessionmlm.stages.fit_batch import BatchFit, run_fit_batch
from sessionmlm.stages.ingest import run_ingest

from .test_items import coding_cohort, load
from .test_workflow import snakemake

MODELS = ["hw_reviewed-small", "extent-small"]  # a binary and an ordinal item


def test_each_template_is_checked_in_one_job_and_fitted_in_chunks_of_batch_items(tmp_path):
    tiny = load(tmp_path, coding_cohort()).cohorts["tiny"]
    checks = batches.check_batches("tiny", tiny.item_models)
    assert [(b.template, b.models) for b in checks] == [
        ("bare", ("hw_assigned-bare", "hw_reviewed-bare", "extent-bare")),
        ("small", ("hw_assigned-small", "hw_reviewed-small", "extent-small")),
    ]
    sizes = {"ml": 2, "gee": 1, "bayes": 1}
    fits = batches.fit_batches("tiny", tiny.item_models, ["ml", "gee"], sizes.get)
    # gee (batch_items 1) keeps one job per fit; ml's three items per template go 2 + 1.
    assert [(b.label, b.models) for b in fits] == [
        ("bare-ml-1", ("hw_assigned-bare", "hw_reviewed-bare")),
        ("bare-ml-2", ("extent-bare",)),
        ("small-ml-1", ("hw_assigned-small", "hw_reviewed-small")),
        ("small-ml-2", ("extent-small",)),
    ]
    with pytest.raises(ValueError, match="engine 'gee': batch_items must be at least 1, not 0"):
        batches.fit_batches("tiny", tiny.item_models, ["gee"], lambda engine: 0)


@pytest.fixture
def ingested(tmp_path, monkeypatch):
    """The tiny cohort with three items, ingested; returns (cohort, privacy, sessions path)."""
    loaded = load(tmp_path, coding_cohort())
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SESSIONMLM_KEY", "test-key")
    cohort = loaded.cohorts["tiny"]
    sessions = tmp_path / "results" / "tiny" / "sessions.parquet"
    sessions.parent.mkdir(parents=True)
    run_ingest(cohort, loaded.privacy, str(sessions), str(tmp_path / "validation.json"))
    return cohort, loaded.privacy, str(sessions)


def outputs_under(root, model, engine):
    folder = root / model / engine
    folder.mkdir(parents=True)
    return {name: str(folder / f"{name}.{batches.SUFFIX[name]}") for name in batches.FIT_FILES}


def comparable(path):
    """A fit.json without what differs between two runs of the same fit (times, the date)."""
    info = json.loads(Path(path).read_text())
    info.pop("wall_seconds")
    info["summary"] = [x for x in info.get("summary", []) if not x.startswith(("Date:", "Time:"))]
    return info


def fit_alone(cohort, privacy, sessions, model, engine, root):
    files = outputs_under(root, model, engine)
    run_fit("tiny", cohort.models[model], cohort.reference, engine,
            cohort.engine_settings[engine], sessions, files, 1, privacy, tuple(cohort.levels),
            cohort.predictions.for_model(model))  # fmt: skip
    return files


def batch_of(cohort, specs, engine, root):
    return tuple(
        BatchFit(spec, outputs_under(root, spec.name, engine), cohort.predictions.for_model(spec.name))
        for spec in specs
    )  # fmt: skip


@pytest.mark.parametrize("engine", ["ml", "gee"])
def test_a_batch_writes_the_files_each_fit_job_writes(ingested, tmp_path, engine):
    cohort, privacy, sessions = ingested
    fits = batch_of(cohort, [cohort.models[m] for m in MODELS], engine, tmp_path / "batch")
    run_fit_batch("tiny", fits, cohort.reference, engine, cohort.engine_settings[engine],
                  sessions, 1, privacy, tuple(cohort.levels))  # fmt: skip
    for model, batched in zip(MODELS, fits, strict=True):
        alone = fit_alone(cohort, privacy, sessions, model, engine, tmp_path / "alone")
        for name in ("estimates", "variance", "thresholds"):
            assert Path(batched.outputs[name]).read_text() == Path(alone[name]).read_text(), (
                model,
                name,
            )
        assert comparable(batched.outputs["fit"]) == comparable(alone["fit"]), model
    estimates = pd.read_csv(fits[0].outputs["estimates"])
    assert {"caregiver_present", "licensed"} <= set(estimates.term)  # real fits, not empty files
    assert len(pd.read_csv(fits[1].outputs["thresholds"])) == 4  # the ordinal item's four cuts


def test_a_fit_that_raises_is_recorded_alone_and_the_others_are_kept(ingested, tmp_path, caplog):
    cohort, privacy, sessions = ingested
    # An outcome column the sessions do not have: building its model data raises.
    broken = parse_formula("no_such_item ~ caregiver_present + (1 | therapist/client)", "broken")
    specs = [broken, cohort.models["hw_reviewed-small"]]
    fits = batch_of(cohort, specs, "gee", tmp_path / "batch")
    run_fit_batch("tiny", fits, cohort.reference, "gee", cohort.engine_settings["gee"],
                  sessions, 1, privacy, tuple(cohort.levels))  # fmt: skip
    info = json.loads(Path(fits[0].outputs["fit"]).read_text())
    # Recorded as the report shows a fit without numbers, with the error as the reason.
    assert info["status"] == "not fitted" and info["converged"] is False
    assert info["model"] == "broken" and info["engine"] == "gee" and info["n_obs"] == 0
    assert info["not_fitted"].startswith("the fit stopped on an error (")
    assert "no_such_item" in info["error"] and info["error"] in info["not_fitted"]
    assert "`snakemake --forcerun results/tiny/broken/gee/fit.json` refits it" in info["not_fitted"]
    assert pd.read_csv(fits[0].outputs["estimates"]).empty
    assert pd.read_csv(fits[0].outputs["variance"]).empty
    assert "tiny/broken/gee: the fit stopped on an error" in caplog.text
    assert "1 of 2 fits of this batch stopped on an error: broken" in caplog.text
    # The other fit of the batch is whole, as its own job would have written it.
    alone = fit_alone(cohort, privacy, sessions, "hw_reviewed-small", "gee", tmp_path / "alone")
    assert Path(fits[1].outputs["estimates"]).read_text() == Path(alone["estimates"]).read_text()
    assert json.loads(Path(fits[1].outputs["fit"]).read_text())["status"] == "ok"


@pytest.mark.slow
def test_item_models_are_made_by_batch_jobs_only(tmp_path):
    """Each item model's check, fits and tables come from one batch rule (no ambiguity), the
    named model's from the single rules; snakemake --lint passes."""
    load(tmp_path, coding_cohort())
    plan = snakemake(tmp_path, "-n")
    assert plan.returncode == 0, plan.stderr[-3000:]
    table = plan.stdout.split("Job stats:", 1)[1].split("\ntotal", 1)[0]
    jobs = dict(re.findall(r"^(\w+)\s+(\d+)$", table, re.M))
    # The tiny cohort: null (named, 1 check, 2 fits, 2 tables); two templates x 3 items with
    # ml (batch_items 10) and gee (batch_items 20): one batch per template and engine.
    assert {rule: int(n) for rule, n in jobs.items() if "check" in rule or "fit" in rule
            or "table_" in rule or rule == "model_table"} == {
        "check_model": 1, "check_batch_1": 1, "check_batch_2": 1,
        "fit": 2, **{f"fit_batch_{n}": 1 for n in range(1, 5)},
        "model_table": 2, **{f"model_table_batch_{n}": 1 for n in range(1, 5)},
    }  # fmt: skip
    for model in ["hw_assigned-bare", "extent-small"]:
        for engine in ["ml", "gee"]:
            assert f"results/tiny/{model}/{engine}/fit.json" in plan.stdout
    lint = snakemake(tmp_path, "--lint")
    assert lint.returncode == 0, lint.stdout[-3000:] + lint.stderr[-3000:]
    assert "Congratulations, your workflow is in a good condition!" in lint.stdout + lint.stderr
