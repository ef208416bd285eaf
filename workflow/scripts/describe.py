import sessionmlm_path  # noqa: F401  (puts src/ on sys.path)

from sessionmlm.stages.describe import run_describe
from sessionmlm.stages.job import run_job

run_job(
    snakemake.log[0],
    run_describe,
    snakemake.params.cohort,
    snakemake.params.privacy,
    sessions=snakemake.input.sessions,
    out=snakemake.output.descriptives,
)
