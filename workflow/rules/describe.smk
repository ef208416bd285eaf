rule describe:
    input:
        sessions="results/{cohort}/sessions.parquet",
        code=stage_code("describe"),
    output:
        descriptives="results/{cohort}/descriptives.json",
    log:
        "logs/describe/{cohort}.log",
    benchmark:
        "logs/benchmarks/describe/{cohort}.tsv"
    conda:
        ENV
    resources:
        mem_mb=2000,
        runtime=15,
    params:
        cohort=lambda wc: COHORTS[wc.cohort].for_ingest(),
        recorded=lambda wc: recorded(
            (COHORTS[wc.cohort].for_ingest(), WORKFLOW.privacy)
        ),
        privacy=WORKFLOW.privacy,
    script:
        "../scripts/describe.py"
