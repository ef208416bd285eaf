import sessionmlm_path  # noqa: F401  (puts src/ on sys.path)
from sessionmlm.stages import run_ingest, setup_logging

setup_logging(snakemake.log[0])
run_ingest(
    snakemake.params.cohort,
    snakemake.params.privacy,
    sessions=snakemake.output.sessions,
    validation=snakemake.output.validation,
)
