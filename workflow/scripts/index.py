import sessionmlm_path  # noqa: F401  (puts src/ on sys.path)
from sessionmlm.pooling import write_index
from sessionmlm.stages import run_job

run_job(
    snakemake.log[0],
    write_index,
    snakemake.params.cohorts,
    results_dir=snakemake.params.results_dir,
    reports=list(snakemake.input.reports),
    descriptives=list(snakemake.input.descriptives),
    settings=snakemake.params.settings,
    out=snakemake.output.index,
    table_out=snakemake.output.table,
)
