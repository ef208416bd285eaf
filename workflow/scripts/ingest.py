import sessionmlm_path  # noqa: F401  (puts src/ on sys.path)

from sessionmlm.stages.ingest import run_ingest
from sessionmlm.stages.job import run_job

run_job(
    snakemake.log[0],
    run_ingest,
    snakemake.params.cohort,
    snakemake.params.privacy,
    sessions=snakemake.output.staged,
    validation=snakemake.params.validation,
)
