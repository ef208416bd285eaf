import sessionmlm_path  # noqa: F401  (puts src/ on sys.path)

from sessionmlm.stages.job import run_job
from sessionmlm.stages.reliability import run_reliability

run_job(
    snakemake.log[0],
    run_reliability,
    snakemake.params.cohort,
    out=snakemake.output.staged,
)
