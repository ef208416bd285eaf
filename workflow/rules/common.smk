import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.logging import logger

# The package lives in src/ (jobs find it through workflow/scripts/sessionmlm_path.py).
sys.path.insert(0, str(Path(workflow.basedir) / "src"))

from sessionmlm.config import KNOWN_ENGINES, ConfigError, load_config  # noqa: E402

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
    engine="|".join(KNOWN_ENGINES),


def fit_outputs(cohort, name):
    """One output file of every (model, engine) pair of a cohort."""
    c = COHORTS[cohort]
    return [
        f"results/{cohort}/{model}/{engine}/{name}"
        for model in c.models
        for engine in c.engines
    ]


# The package code each job runs: a changed engine or report module reruns its jobs.
PACKAGE = Path(workflow.basedir) / "src" / "sessionmlm"
ENGINE_CODE = {
    "bayes": [
        PACKAGE / "engines" / "bayes.py",
        PACKAGE / "checks.py",
        PACKAGE / "predictions.py",
        PACKAGE / "prediction_plan.py",
        PACKAGE / "intervals.py",
    ],
    "ml": [
        PACKAGE / "engines" / "ml.py",
        PACKAGE / "engines" / "quadrature.py",
        PACKAGE / "intervals.py",
        PACKAGE / "predictions.py",
        PACKAGE / "prediction_plan.py",
    ],
    "gee": [
        PACKAGE / "engines" / "gee.py",
        PACKAGE / "intervals.py",
        PACKAGE / "prediction_plan.py",
    ],
}
REPORT_CODE = [
    PACKAGE / "report.py",
    PACKAGE / "htmlparts.py",
    PACKAGE / "posterior_report.py",
    PACKAGE / "checks.py",
    PACKAGE / "figures.py",
    PACKAGE / "compare.py",
    PACKAGE / "prediction_report.py",
]
INDEX_CODE = [
    PACKAGE / "pooling.py",
    PACKAGE / "meta.py",
    PACKAGE / "figures.py",
    PACKAGE / "htmlparts.py",
]
SIMULATION_CODE = [
    PACKAGE / "power.py",
    PACKAGE / "simulate.py",
    PACKAGE / "design.py",
    *ENGINE_CODE["ml"],
]


# Cores a fit can use: one per chain for bayes, numba's threads for ml on large cohorts.
FIT_THREADS = {"ml": 2, "gee": 1}


def fit_threads(cohort, engine):
    if engine == "bayes":
        return COHORTS[cohort].engine_settings["bayes"]["chains"]
    return FIT_THREADS[engine]


# Memory and time per fit, from peak RSS and wall time measured on the demo cohort (bayes
# 0.5 GB and 23 s, ml 0.3 GB and 2.4 s, gee 0.2 GB and 1.7 s, 680 sessions) and ml at 10^6
# sessions (2.2 GB, 3 min; sessions.parquet is about 27 MB per 10^6 sessions), with about
# twice the room. They grow with the size of the cohort's canonical table; a profile's
# set-resources overrides them.
FIT_MEMORY_MB = {
    "bayes": (2000, 500),
    "ml": (1000, 150),
    "gee": (1000, 150),
}  # base, per MB
FIT_MINUTES = {"bayes": (60, 30), "ml": (10, 2), "gee": (10, 2)}  # base, per MB


def fit_memory_mb(engine, input_mb):
    base, per_mb = FIT_MEMORY_MB[engine]
    return int(base + per_mb * input_mb)


def fit_minutes(engine, input_mb):
    base, per_mb = FIT_MINUTES[engine]
    return int(base + per_mb * input_mb)


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
