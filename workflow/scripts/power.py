import sessionmlm_path  # noqa: F401  (puts src/ on sys.path)

from sessionmlm.stages.job import run_job
from sessionmlm.stages.power import run_power

run_job(
    snakemake.log[0],
    run_power,
    snakemake.params.design,
    replicates=list(snakemake.input.replicates),
    summary_out=snakemake.output.summary,
    report_out=snakemake.output.report,
)
