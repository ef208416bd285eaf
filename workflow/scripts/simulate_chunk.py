import sessionmlm_path  # noqa: F401  (puts src/ on sys.path)

from sessionmlm.stages.job import run_job
from sessionmlm.stages.simulate_chunk import run_simulate_chunk

run_job(
    snakemake.log[0],
    run_simulate_chunk,
    snakemake.params.design,
    point=int(snakemake.wildcards.point) - 1,
    chunk=int(snakemake.wildcards.chunk) - 1,
    out=snakemake.output.replicates,
)
