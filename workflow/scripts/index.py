import sessionmlm_path  # noqa: F401  (puts src/ on sys.path)
from sessionmlm.report import write_index
from sessionmlm.stages import run_job

run_job(
    snakemake.log[0],
    write_index,
    snakemake.params.cohorts,
    reports=list(snakemake.input.reports),
    out=snakemake.output.index,
)
