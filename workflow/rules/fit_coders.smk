# Every coder's codes in the models (double_coded.all_codes, config/README.md): each item
# model's coder twin (<item>-<template>-coders) fitted to the table of every code (all_codes.smk) by
# the engines that fit a coder intercept crossed with the levels. The coder models are not
# among the cohort's models, so the fit rule never sees them; ruleorder settles the one path
# both could write; coder_outputs (common.smk) lists the fits.
ruleorder: fit_coders > fit


rule fit_coders:
    input:
        table="results/{cohort}/all_codes.parquet",
        record="results/{cohort}/all_codes.json",
        code=lambda wc: stage_code("fit_coders", wc.engine),
    output:
        estimates="results/{cohort}/{model}/{engine}/estimates.csv",
        variance="results/{cohort}/{model}/{engine}/variance.csv",
        thresholds="results/{cohort}/{model}/{engine}/thresholds.csv",
        fit="results/{cohort}/{model}/{engine}/fit.json",
        coders="results/{cohort}/{model}/{engine}/coders.csv",
    log:
        "logs/fit/{cohort}/{model}/{engine}.log",
    benchmark:
        "logs/benchmarks/fit/{cohort}/{model}/{engine}.tsv"
    wildcard_constraints:
        model="[A-Za-z0-9][A-Za-z0-9_-]*-coders",
    conda:
        ENV
    threads: lambda wc: fit_threads(wc.cohort, wc.engine)
    resources:
        mem_mb=lambda wc, input: fit_memory_mb(wc.engine, input.size_mb),
        runtime=lambda wc, input: fit_minutes(wc.engine, input.size_mb),
    params:
        spec=lambda wc: coder_models(COHORTS[wc.cohort])[wc.model],
        recorded=lambda wc: recorded(
            (
                coder_models(COHORTS[wc.cohort])[wc.model],
                COHORTS[wc.cohort].engine_settings[wc.engine],
                WORKFLOW.privacy,
            )
        ),
        reference=lambda wc: COHORTS[wc.cohort].reference,
        settings=lambda wc: COHORTS[wc.cohort].engine_settings[wc.engine],
        privacy=WORKFLOW.privacy,
        levels=lambda wc: tuple(COHORTS[wc.cohort].levels),
    script:
        "../scripts/fit_coders.py"
