import sessionmlm_path  # noqa: F401  (puts src/ on sys.path)
from sessionmlm.stages import run_fit, setup_logging, user_errors

setup_logging(snakemake.log[0])
with user_errors():
    run_fit(
        snakemake.params.cohort,
        model=snakemake.wildcards.model,
        engine=snakemake.wildcards.engine,
        sessions=snakemake.input.sessions,
        outputs=dict(snakemake.output.items()),
        threads=snakemake.threads,
    )
