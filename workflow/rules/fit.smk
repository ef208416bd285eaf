rule fit:
    input:
        sessions="results/{cohort}/sessions.parquet",
        checked="results/{cohort}/{model}/checked.json",
        code=lambda wc: stage_code("fit", wc.engine),
    output:
        estimates=report(
            "results/{cohort}/{model}/{engine}/estimates.csv",
            caption="../report/estimates.rst",
            category="{cohort}",
            subcategory="{model}",
            labels={
                "cohort": "{cohort}",
                "model": "{model}",
                "engine": "{engine}",
                "table": "estimates",
            },
        ),
        variance=report(
            "results/{cohort}/{model}/{engine}/variance.csv",
            caption="../report/variance.rst",
            category="{cohort}",
            subcategory="{model}",
            labels={
                "cohort": "{cohort}",
                "model": "{model}",
                "engine": "{engine}",
                "table": "variance",
            },
        ),
        thresholds="results/{cohort}/{model}/{engine}/thresholds.csv",
        fit="results/{cohort}/{model}/{engine}/fit.json",
    log:
        "logs/fit/{cohort}/{model}/{engine}.log",
    benchmark:
        "logs/benchmarks/fit/{cohort}/{model}/{engine}.tsv"
    conda:
        ENV
    threads: lambda wc: fit_threads(wc.cohort, wc.engine)
    resources:
        mem_mb=lambda wc, input: fit_memory_mb(wc.engine, input.size_mb),
        runtime=lambda wc, input: fit_minutes(wc.engine, input.size_mb),
    params:
        spec=lambda wc: COHORTS[wc.cohort].models[wc.model],
        recorded=lambda wc: recorded(fit_record(wc.cohort, wc.model, wc.engine)),
        reference=lambda wc: COHORTS[wc.cohort].reference,
        settings=lambda wc: COHORTS[wc.cohort].engine_settings[wc.engine],
        privacy=WORKFLOW.privacy,
        levels=lambda wc: tuple(COHORTS[wc.cohort].levels),
        predictions=lambda wc: COHORTS[wc.cohort].predictions.for_model(wc.model),
    script:
        "../scripts/fit.py"
