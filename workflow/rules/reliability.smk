# Per-item inter-rater reliability of cohorts that declare a double-coded table.
rule reliability:
    input:
        data=lambda wc: COHORTS[wc.cohort].data,
        double_coded=lambda wc: COHORTS[wc.cohort].double_coding.data,
        code=stage_code("reliability"),
    output:
        reliability="results/{cohort}/reliability.csv",
    log:
        "logs/reliability/{cohort}.log",
    benchmark:
        "logs/benchmarks/reliability/{cohort}.tsv"
    conda:
        ENV
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        cohort=lambda wc: COHORTS[wc.cohort],
        recorded=lambda wc: recorded(
            (
                COHORTS[wc.cohort].double_coding,
                COHORTS[wc.cohort].items,
                COHORTS[wc.cohort].outcomes,
            )
        ),
    script:
        "../scripts/reliability.py"
