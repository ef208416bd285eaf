import functools
import os
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.logging import logger

# The package lives in src/. A job unpickles its params (a Cohort, a Design) before its script
# runs, so PYTHONPATH, not only the script (workflow/scripts/sessionmlm_path.py), must put this
# checkout's src/ first: else a copy installed elsewhere (another checkout's editable install)
# would run, and the code inputs below would not be the code the job runs.
SRC = str(Path(workflow.basedir) / "src")
sys.path.insert(0, SRC)
# (update(), not os.environ[...] =: snakemake --lint reads that as a variable the run needs.)
os.environ.update(
    PYTHONPATH=os.pathsep.join(filter(None, [SRC, os.environ.get("PYTHONPATH")]))
)

from sessionmlm import batches, engines  # noqa: E402
from sessionmlm.all_codes import coder_engines, coder_models  # noqa: E402
from sessionmlm.code_deps import stage_files  # noqa: E402
from sessionmlm.config import ConfigError, load_config  # noqa: E402
from sessionmlm.designs import SIMULATION_ENGINE  # noqa: E402
from sessionmlm.items import expansion_summary  # noqa: E402

ENV = "../../envs/sessionmlm.yaml"

# Check the config, every cohort file, its data file's columns and every formula before any job.
try:
    WORKFLOW = load_config(config, workdir=Path.cwd())
except ConfigError as error:
    raise WorkflowError(str(error)) from None


def recorded(value):
    """A job's settings as a string, for a `recorded` param.

    Snakemake reruns a job whose params changed, but it records only built-in types: a
    dataclass param (a model, a cohort, a design) is silently left out, so editing a formula or
    a design would not rerun anything. Its repr, as a string, is recorded and compared.
    """
    return repr(value)


COHORTS = WORKFLOW.cohorts
# Cohorts whose own file or data has problems: their job fails and names them, the rest run.
BROKEN = WORKFLOW.broken
DESIGNS = WORKFLOW.designs
for name, c in COHORTS.items():
    if c.item_models:  # say what the templates became: the models the run will fit
        logger.info(f"sessionmlm: {name}: {expansion_summary(c.item_models)}.")
    for model, spec in c.models.items():
        for engine in c.engines:
            reason = engines.get(engine).cannot_fit(spec)
            if reason:
                logger.info(
                    f"sessionmlm: {name}/{model}: {engine} will not fit it: {reason}."
                )
for name, problems in BROKEN.items():
    logger.warning(
        f"sessionmlm: cohort {name!r} will not run (the other cohorts will):\n"
        + "\n".join(f"- {p}" for p in problems)
    )


wildcard_constraints:
    cohort="|".join(COHORTS),
    broken="|".join(BROKEN) or "(?!)",
    design="|".join(DESIGNS) or "(?!)",
    point="[0-9]+",
    chunk="[0-9]+",
    model="[A-Za-z0-9][A-Za-z0-9_-]*",
    engine="|".join(engines.engine_names()),


def fit_outputs(cohort, name):
    """One output file of every (model, engine) pair of a cohort."""
    c = COHORTS[cohort]
    return [
        f"results/{cohort}/{model}/{engine}/{name}"
        for model in c.models
        for engine in c.engines
    ]


# The package code each job runs, as inputs: a changed module reruns the jobs that import it
# (code_deps.py reads the imports). Engines are chosen by name at run time, so a job that runs
# engines names them: a fit its own engine, the report every engine (their words), design
# simulations theirs; no job depends on the code of an engine it does not run.
ENGINE_MODULES = {
    name: (engines.get(name).module, *engines.get(name).code)
    for name in engines.engine_names()
}


@functools.cache
def stage_code(stage, *engines_run):
    return stage_files(stage, ENGINE_MODULES, engines_run)


# Cores, memory and time per fit: each engine's Resources (measured figures in engines/).
def fit_threads(cohort, engine):
    settings = COHORTS[cohort].engine_settings[engine]
    return engines.get(engine).resources.threads(settings)


def fit_memory_mb(engine, input_mb):
    return engines.get(engine).resources.memory_for(input_mb)


def fit_minutes(engine, input_mb):
    return engines.get(engine).resources.minutes_for(input_mb)


def all_outputs():
    """Every cohort's report and the index; a broken cohort's target is its failing job.

    That target is a file never written, so the job runs and fails even when the cohort has a
    report from an earlier run (which stays as it was).
    """
    return (
        ["results/index.html"]
        + [f"results/{c}/report.html" for c in COHORTS]
        + [f"results/{b}/cohort-problems.txt" for b in BROKEN]
    )


def replicate_outputs(design):
    """One file per (grid point, chunk of replicates) of a design: the jobs to scatter."""
    d = DESIGNS[design]
    return [
        f"results/designs/{design}/replicates/point{p + 1:03d}-chunk{c + 1:04d}.csv"
        for p in range(len(d.points))
        for c in range(len(d.chunks()))
    ]


# Every code in the models (double_coded.all_codes): the coder models' fits (fit_coders.smk).


def coder_outputs(cohort, name):
    """One output file of every (coder model, engine) pair of a cohort; [] without all_codes."""
    c = COHORTS[cohort]
    return [
        f"results/{cohort}/{model}/{engine}/{name}"
        for model, spec in coder_models(c).items()
        for engine in coder_engines(c, spec)
    ]


# Coded items' models are checked, fitted and tabled many to a job (src/sessionmlm/batches.py):
# one generated rule per batch, each making exactly the files the single rules (check_model,
# fit, model_table) would make, and ordered before them (ruleorder in each batch's file).
CHECK_BATCHES = [
    b for name, c in COHORTS.items() for b in batches.check_batches(name, c.item_models)
]
FIT_BATCHES = [
    b
    for name, c in COHORTS.items()
    for b in batches.fit_batches(
        name,
        c.item_models,
        c.engines,
        lambda engine: engines.get(engine).resources.batch_items,
    )
]


def fit_record(cohort, model, engine):
    """What a fit of model reruns on: its model, its engine's settings, predictions, privacy."""
    c = COHORTS[cohort]
    return (
        c.models[model],
        c.engine_settings[engine],
        c.predictions.for_model(model),
        WORKFLOW.privacy,
    )


def batch_memory_mb(engine):
    return lambda wildcards, input: fit_memory_mb(engine, input.size_mb)


def batch_minutes(engine, n_fits):
    return lambda wildcards, input: n_fits * fit_minutes(engine, input.size_mb)
