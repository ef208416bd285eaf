import sessionmlm_path  # noqa: F401  (puts src/ on sys.path)

from sessionmlm.stages.job import run_job
from sessionmlm.stages.table1 import run_table1

run_job(
    snakemake.log[0],
    run_table1,
    descriptives=snakemake.input.descriptives,
    csv=snakemake.output.csv,
    docx=snakemake.output.docx,
)
