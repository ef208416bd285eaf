# Every coder's codes in one table (double_coded.all_codes, config/README.md): each session's
# row with its primary coder, then one row per other coder of a double-coded session, for the
# coder models (fit_coders.smk).
rule all_codes:
    input:
        sessions="results/{cohort}/sessions.parquet",
        data=lambda wc: COHORTS[wc.cohort].data,
        double_coded=lambda wc: COHORTS[wc.cohort].double_coding.data,
        code=stage_code("all_codes"),
    output:
        table="results/{cohort}/all_codes.parquet",
        record="results/{cohort}/all_codes.json",
    log:
        "logs/all_codes/{cohort}.log",
    benchmark:
        "logs/benchmarks/all_codes/{cohort}.tsv"
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
        privacy=WORKFLOW.privacy,
    script:
        "../scripts/all_codes.py"
