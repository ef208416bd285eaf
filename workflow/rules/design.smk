# Design simulations (the `designs:` section of config/config.yaml): run with the `designs`
# target. Each job simulates and fits a chunk of replicates, so a cluster gets hundreds of
# minute-long jobs rather than thousands of one-second ones.
rule simulate_chunk:
    input:
        code=SIMULATION_CODE,
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


rule power:
    input:
        replicates=lambda wc: replicate_outputs(wc.design),
        code=[
            PACKAGE / "power_report.py",
            PACKAGE / "power_summary.py",
            *sorted((PACKAGE / "figures").glob("*.py")),
            PACKAGE / "htmlparts.py",
            PACKAGE / "intervals.py",
        ],
    output:
        summary=report(
            "results/designs/{design}/power.csv",
            caption="../report/power_table.rst",
            category="Design simulations",
            labels={"design": "{design}", "table": "power per grid point"},
        ),
        report=report(
            "results/designs/{design}/power.html",
            caption="../report/power.rst",
            category="Design simulations",
            labels={"design": "{design}", "table": "power report"},
        ),
    log:
        "logs/designs/{design}/power.log",
    conda:
        ENV
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        design=lambda wc: DESIGNS[wc.design],
        recorded=lambda wc: recorded(DESIGNS[wc.design]),
    script:
        "../scripts/power.py"


rule designs:
    input:
        [f"results/designs/{d}/power.html" for d in DESIGNS],
