import sessionmlm_path  # noqa: F401  (puts src/ on sys.path)
from sessionmlm.stages import run_describe, run_job

run_job(
    snakemake.log[0],
    run_describe,
    snakemake.params.cohort,
    snakemake.params.privacy,
    sessions=snakemake.input.sessions,
    out=snakemake.output.descriptives,
)
