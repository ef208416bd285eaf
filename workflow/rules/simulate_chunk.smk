# Design simulations (the `designs:` section of config/config.yaml): run with the `designs`
# target. Each job simulates and fits a chunk of replicates, so a cluster gets hundreds of
# minute-long jobs rather than thousands of one-second ones.
rule simulate_chunk:
    input:
        code=stage_code("simulate_chunk", SIMULATION_ENGINE),
    output:
        replicates="results/designs/{design}/replicates/point{point}-chunk{chunk}.csv",
    log:
        "logs/designs/{design}/point{point}-chunk{chunk}.log",
    benchmark:
        "logs/benchmarks/designs/{design}/point{point}-chunk{chunk}.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1500,
        runtime=lambda wc: DESIGNS[wc.design].minutes_per_job(int(wc.point) - 1),
    params:
        design=lambda wc: DESIGNS[wc.design],
        recorded=lambda wc: recorded(DESIGNS[wc.design]),
    script:
        "../scripts/simulate_chunk.py"
