import sessionmlm_path  # noqa: F401  (puts src/ on sys.path)

from sessionmlm.stages.all_codes import run_all_codes
from sessionmlm.stages.job import run_job

run_job(
    snakemake.log[0],
    run_all_codes,
    snakemake.params.cohort,
    privacy=snakemake.params.privacy,
    sessions=snakemake.input.sessions,
    table=snakemake.output.table,
    record=snakemake.output.record,
)
