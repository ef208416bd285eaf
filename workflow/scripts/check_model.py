import sessionmlm_path  # noqa: F401  (puts src/ on sys.path)

from sessionmlm.stages.check_model import run_check_model
from sessionmlm.stages.job import run_job

run_job(
    snakemake.log[0],
    run_check_model,
    snakemake.wildcards.cohort,
    spec=snakemake.params.spec,
    reference=snakemake.params.reference,
    sessions=snakemake.input.sessions,
    out=snakemake.output.checked,
)
