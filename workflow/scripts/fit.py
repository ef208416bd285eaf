import sessionmlm_path  # noqa: F401  (puts src/ on sys.path)

from sessionmlm.stages.fit import run_fit
from sessionmlm.stages.job import run_job

run_job(
    snakemake.log[0],
    run_fit,
    snakemake.wildcards.cohort,
    spec=snakemake.params.spec,
    reference=snakemake.params.reference,
    engine=snakemake.wildcards.engine,
    settings=snakemake.params.settings,
    sessions=snakemake.input.sessions,
    outputs=dict(snakemake.output.items()),
    threads=snakemake.threads,
    privacy=snakemake.params.privacy,
    levels=snakemake.params.levels,
    predictions=snakemake.params.predictions,
)
