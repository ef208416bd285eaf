import sessionmlm_path  # noqa: F401  (puts src/ on sys.path)
from sessionmlm.stages import run_job, run_simulation_chunk

run_job(
    snakemake.log[0],
    run_simulation_chunk,
    snakemake.params.design,
    point=int(snakemake.wildcards.point) - 1,
    chunk=int(snakemake.wildcards.chunk) - 1,
    out=snakemake.output.replicates,
)
