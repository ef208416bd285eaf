# Each model checked against the cohort's sessions before any engine fits it: a predictor
# constant after the model's listwise deletion, or an empty level, stops that model here.
rule check_model:
    input:
        sessions="results/{cohort}/sessions.parquet",
        code=stage_code("check_model"),
    output:
        checked="results/{cohort}/{model}/checked.json",
    log:
        "logs/check_model/{cohort}/{model}.log",
    conda:
        ENV
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        spec=lambda wc: COHORTS[wc.cohort].models[wc.model],
        recorded=lambda wc: recorded(COHORTS[wc.cohort].models[wc.model]),
        reference=lambda wc: COHORTS[wc.cohort].reference,
    script:
        "../scripts/check_model.py"
