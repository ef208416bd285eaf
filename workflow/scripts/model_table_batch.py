import sessionmlm_path  # noqa: F401  (puts src/ on sys.path)

from sessionmlm.stages.job import run_job
from sessionmlm.stages.model_table_batch import run_model_table_batch

run_job(
    snakemake.log[0],
    run_model_table_batch,
    engine=snakemake.params.engine,
    observation=snakemake.params.observation,
    tables=snakemake.params.tables,
)
