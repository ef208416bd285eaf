import sessionmlm_path  # noqa: F401  (puts src/ on sys.path)

from sessionmlm.stages.job import run_job
from sessionmlm.stages.report import run_report

run_job(
    snakemake.log[0],
    run_report,
    snakemake.params.cohort,
    results_dir=snakemake.params.results_dir,
    descriptives=snakemake.input.descriptives,
    validation=snakemake.params.validation,
    reliability=(snakemake.input.reliability or [None])[0],
    out=snakemake.output.report,
    tables={
        "comparison": snakemake.output.comparison,
        "predicted": snakemake.output.predicted,
        "loo": snakemake.output.loo,
        "sensitivity": snakemake.output.sensitivity,
        "overview": snakemake.output.overview,
    },
)
