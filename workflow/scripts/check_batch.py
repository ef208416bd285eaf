import sessionmlm_path  # noqa: F401  (puts src/ on sys.path)

from sessionmlm.stages.check_batch import run_check_batch
from sessionmlm.stages.job import run_job

run_job(
    snakemake.log[0],
    run_check_batch,
    snakemake.params.cohort,
    specs=snakemake.params.specs,
    reference=snakemake.params.reference,
    sessions=snakemake.input.sessions,
    outs=tuple(snakemake.output),
)
