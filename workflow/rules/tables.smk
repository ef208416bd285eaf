# Manuscript tables beside the report: Table 1 and each fit's odds ratios as APA-style Word
# files (DOCX), with the same cells as CSV. Numbered as the report lists them.
from sessionmlm import manuscript


def manuscript_tables(cohort):
    c = COHORTS[cohort]
    return [
        f"results/{cohort}/{name}"
        for suffix in ("docx", "csv")
        for name in manuscript.table_files(c.models, c.engines, suffix)
    ]


rule table1:
    input:
        descriptives="results/{cohort}/descriptives.json",
        code=stage_code("table1"),
    output:
        csv="results/{cohort}/tables/table1.csv",
        docx="results/{cohort}/tables/table1.docx",
    log:
        "logs/table1/{cohort}.log",
    conda:
        ENV
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../scripts/table1.py"


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
