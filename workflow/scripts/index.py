import sessionmlm_path  # noqa: F401  (puts src/ on sys.path)

from sessionmlm.stages.index import run_index
from sessionmlm.stages.job import run_job

run_job(
    snakemake.log[0],
    run_index,
    snakemake.params.cohorts,
    results_dir=snakemake.params.results_dir,
    reports=list(snakemake.input.reports),
    descriptives=list(snakemake.input.descriptives),
    settings=snakemake.params.settings,
    out=snakemake.output.index,
    table_out=snakemake.output.table,
)
