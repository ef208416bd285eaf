import sessionmlm_path  # noqa: F401  (puts src/ on sys.path)

from sessionmlm.stages.fit_coders import run_fit_coders
from sessionmlm.stages.job import run_job

run_job(
    snakemake.log[0],
    run_fit_coders,
    snakemake.wildcards.cohort,
    spec=snakemake.params.spec,
    reference=snakemake.params.reference,
    engine=snakemake.wildcards.engine,
    settings=snakemake.params.settings,
    table=snakemake.input.table,
    record=snakemake.input.record,
    outputs=dict(snakemake.output.items()),
    threads=snakemake.threads,
    privacy=snakemake.params.privacy,
    levels=snakemake.params.levels,
)
