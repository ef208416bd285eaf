# Each fit's odds ratios beside the report as an APA-style Word table (DOCX) and the same cells
# as CSV, numbered after Table 1 in the order of the cohort's models, then engines.
from sessionmlm import manuscript


rule model_table:
    input:
        estimates="results/{cohort}/{model}/{engine}/estimates.csv",
        variance="results/{cohort}/{model}/{engine}/variance.csv",
        thresholds="results/{cohort}/{model}/{engine}/thresholds.csv",
        fit="results/{cohort}/{model}/{engine}/fit.json",
        code=lambda wc: stage_code("model_table", wc.engine),
    output:
        csv="results/{cohort}/tables/{model}_{engine}.csv",
        docx="results/{cohort}/tables/{model}_{engine}.docx",
    log:
        "logs/model_table/{cohort}/{model}_{engine}.log",
    conda:
        ENV
    resources:
        mem_mb=500,
        runtime=5,
    params:
        number=lambda wc: manuscript.table_number(
            COHORTS[wc.cohort].models, COHORTS[wc.cohort].engines, wc.model, wc.engine
        ),
        observation=lambda wc: COHORTS[wc.cohort].session_level,
    script:
        "../scripts/model_table.py"
