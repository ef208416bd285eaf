import sessionmlm_path  # noqa: F401  (puts src/ on sys.path)
from sessionmlm.report import write_cohort_report
from sessionmlm.stages import run_job

run_job(
    snakemake.log[0],
    write_cohort_report,
    snakemake.params.cohort,
    results_dir=snakemake.params.results_dir,
    descriptives=snakemake.input.descriptives,
    validation=snakemake.params.validation,
    out=snakemake.output.report,
    tables={
        "comparison": snakemake.output.comparison,
        "predicted": snakemake.output.predicted,
        "loo": snakemake.output.loo,
        "sensitivity": snakemake.output.sensitivity,
    },
)
