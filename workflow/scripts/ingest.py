import sessionmlm_path  # noqa: F401  (puts src/ on sys.path)
from sessionmlm.stages import run_ingest, setup_logging, user_errors

setup_logging(snakemake.log[0])
with user_errors():
    run_ingest(
        snakemake.params.cohort,
        snakemake.params.privacy,
        sessions=snakemake.output.staged,
        validation=snakemake.params.validation,
    )
