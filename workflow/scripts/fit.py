import sessionmlm_path  # noqa: F401  (puts src/ on sys.path)
from sessionmlm.stages import run_fit, setup_logging

setup_logging(snakemake.log[0])
run_fit(
    snakemake.params.cohort,
    model=snakemake.wildcards.model,
    engine=snakemake.wildcards.engine,
    sessions=snakemake.input.sessions,
    outputs=dict(snakemake.output.items()),
    threads=snakemake.threads,
)
