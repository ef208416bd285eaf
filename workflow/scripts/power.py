import sessionmlm_path  # noqa: F401  (puts src/ on sys.path)
from sessionmlm.power_report import write_power_report
from sessionmlm.stages import run_job

run_job(
    snakemake.log[0],
    write_power_report,
    snakemake.params.design,
    replicates=list(snakemake.input.replicates),
    summary_out=snakemake.output.summary,
    report_out=snakemake.output.report,
)
