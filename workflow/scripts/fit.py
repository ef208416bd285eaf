import sessionmlm_path  # noqa: F401  (puts src/ on sys.path)
from sessionmlm.stages import run_fit, run_job

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
    min_cell=snakemake.params.min_cell,
    levels=snakemake.params.levels,
    predictions=snakemake.params.predictions,
)
