import sessionmlm_path  # noqa: F401  (puts src/ on sys.path)

from sessionmlm.stages.fit_batch import run_fit_batch
from sessionmlm.stages.job import run_job

run_job(
    snakemake.log[0],
    run_fit_batch,
    snakemake.params.cohort,
    fits=snakemake.params.fits,
    reference=snakemake.params.reference,
    engine=snakemake.params.engine,
    settings=snakemake.params.settings,
    sessions=snakemake.input.sessions,
    threads=snakemake.threads,
    privacy=snakemake.params.privacy,
    levels=snakemake.params.levels,
)
