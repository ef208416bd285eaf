import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError

# The package lives in src/ (jobs find it through workflow/scripts/sessionmlm_path.py).
sys.path.insert(0, str(Path(workflow.basedir) / "src"))

from sessionmlm.config import KNOWN_ENGINES, ConfigError, load_config  # noqa: E402

ENV = "../../envs/sessionmlm.yaml"

# Check the config, every cohort file, its data file's columns and every formula before any job.
try:
    WORKFLOW = load_config(config, workdir=Path.cwd())
except ConfigError as error:
    raise WorkflowError(str(error)) from None

COHORTS = WORKFLOW.cohorts


wildcard_constraints:
    cohort="|".join(COHORTS),
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
    "bayes": [PACKAGE / "engines" / "bayes.py"],
    "ml": [PACKAGE / "engines" / "ml.py", PACKAGE / "engines" / "quadrature.py"],
    "gee": [PACKAGE / "engines" / "gee.py"],
}
REPORT_CODE = [PACKAGE / "report.py", PACKAGE / "figures.py", PACKAGE / "compare.py"]


# Cores a fit can use: one per chain for bayes, numba's threads for ml on large cohorts.
FIT_THREADS = {"bayes": 4, "ml": 2, "gee": 1}


def all_outputs():
    return ["results/index.html"] + [f"results/{c}/report.html" for c in COHORTS]
