import sessionmlm_path  # noqa: F401  (puts src/ on sys.path)

from sessionmlm.stages.job import run_job
from sessionmlm.stages.model_table import run_model_table

run_job(
    snakemake.log[0],
    run_model_table,
    model=snakemake.wildcards.model,
    engine=snakemake.wildcards.engine,
    number=snakemake.params.number,
    observation=snakemake.params.observation,
    fit={
        name: snakemake.input[name]
        for name in ("estimates", "variance", "thresholds", "fit")
    },
    csv=snakemake.output.csv,
    docx=snakemake.output.docx,
)
