# Per-item inter-rater reliability of cohorts that declare a double-coded table. As ingest, the
# job writes a staged table that `accept_reliability` moves into place: a double-coded table
# that fails its checks leaves the earlier reliability.csv as it was.
rule reliability:
    input:
        data=lambda wc: COHORTS[wc.cohort].data,
        double_coded=lambda wc: COHORTS[wc.cohort].double_coding.data,
        code=stage_code("reliability"),
    output:
        staged=temp("results/{cohort}/staged-reliability.csv"),
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


rule accept_reliability:
    input:
        staged="results/{cohort}/staged-reliability.csv",
    output:
        reliability="results/{cohort}/reliability.csv",
    log:
        "logs/accept_reliability/{cohort}.log",
    conda:
        ENV
    resources:
        mem_mb=500,
        runtime=5,
    shell:
        "cp {input.staged} {output.reliability} 2> {log}"
