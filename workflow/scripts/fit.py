import sessionmlm_path  # noqa: F401  (puts src/ on sys.path)
from sessionmlm.stages import run_fit, setup_logging, user_errors

setup_logging(snakemake.log[0])
with user_errors():
    run_fit(
        snakemake.wildcards.cohort,
        spec=snakemake.params.spec,
        reference=snakemake.params.reference,
        engine=snakemake.wildcards.engine,
        settings=snakemake.params.settings,
        sessions=snakemake.input.sessions,
        outputs=dict(snakemake.output.items()),
        threads=snakemake.threads,
    )
