rule report:
    input:
        descriptives="results/{cohort}/descriptives.json",
        fits=lambda wc: fit_outputs(wc.cohort, "fit.json"),
        estimates=lambda wc: fit_outputs(wc.cohort, "estimates.csv"),
        variance=lambda wc: fit_outputs(wc.cohort, "variance.csv"),
        thresholds=lambda wc: fit_outputs(wc.cohort, "thresholds.csv"),
        coders=lambda wc: coder_outputs(wc.cohort, "coders.csv"),
        reliability=lambda wc: (
            [f"results/{wc.cohort}/reliability.csv"]
            if COHORTS[wc.cohort].double_coding
            else []
        ),
        manuscript=lambda wc: [
            f"results/{wc.cohort}/{name}"
            for name in manuscript.every_file(COHORTS[wc.cohort])
        ],
        code=stage_code("report", *engines.engine_names()),
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
        predicted=report(
            "results/{cohort}/predicted_probabilities.csv",
            caption="../report/predicted_probabilities.rst",
            category="{cohort}",
            labels={"cohort": "{cohort}", "table": "predicted probabilities"},
        ),
        loo=report(
            "results/{cohort}/loo_comparison.csv",
            caption="../report/loo_comparison.rst",
            category="{cohort}",
            labels={"cohort": "{cohort}", "table": "PSIS-LOO comparison (bayes)"},
        ),
        overview=report(
            "results/{cohort}/overview.csv",
            caption="../report/overview.rst",
            category="{cohort}",
            labels={
                "cohort": "{cohort}",
                "table": "odds ratios by predictor and outcome",
            },
        ),
        sensitivity=report(
            "results/{cohort}/prior_sensitivity.csv",
            caption="../report/prior_sensitivity.rst",
            category="{cohort}",
            labels={"cohort": "{cohort}", "table": "prior sensitivity (bayes)"},
        ),
    log:
        "logs/report/{cohort}.log",
    benchmark:
        "logs/benchmarks/report/{cohort}.tsv"
    conda:
        ENV
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        cohort=lambda wc: COHORTS[wc.cohort],
        recorded=lambda wc: recorded(COHORTS[wc.cohort]),
        results_dir=lambda wc: f"results/{wc.cohort}",
        validation="results/{cohort}/validation.json",
    script:
        "../scripts/report.py"
