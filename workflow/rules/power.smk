# Design simulations: the power summary and report of a design, and the `designs` target.
rule power:
    input:
        replicates=lambda wc: replicate_outputs(wc.design),
        code=stage_code("power"),
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
