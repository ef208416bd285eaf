rule report:
    input:
        descriptives="results/{cohort}/descriptives.json",
        sessions="results/{cohort}/sessions.parquet",
        fits=lambda wc: fit_outputs(wc.cohort, "fit.json"),
        estimates=lambda wc: fit_outputs(wc.cohort, "estimates.csv"),
        variance=lambda wc: fit_outputs(wc.cohort, "variance.csv"),
        code=REPORT_CODE,
    output:
        report=report(
            "results/{cohort}/report.html",
            caption="../report/cohort_report.rst",
            category="Cohort reports",
            labels={"cohort": "{cohort}"},
        ),
        comparison=report(
            "results/{cohort}/model_comparison.csv",
            caption="../report/model_comparison.rst",
            category="{cohort}",
            labels={"cohort": "{cohort}", "table": "likelihood-ratio tests (ml)"},
        ),
    log:
        "logs/report/{cohort}.log",
    conda:
        ENV
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        cohort=lambda wc: COHORTS[wc.cohort],
        results_dir=lambda wc: f"results/{wc.cohort}",
        validation="results/{cohort}/validation.json",
    script:
        "../scripts/report.py"


rule index:
    input:
        reports=expand("results/{cohort}/report.html", cohort=COHORTS),
    output:
        index="results/index.html",
    log:
        "logs/index/index.log",
    conda:
        ENV
    resources:
        mem_mb=500,
        runtime=5,
    params:
        cohorts=list(COHORTS),
    script:
        "../scripts/index.py"
