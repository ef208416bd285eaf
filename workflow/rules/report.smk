rule report:
    input:
        descriptives="results/{cohort}/descriptives.json",
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


rule index:
    input:
        reports=expand("results/{cohort}/report.html", cohort=COHORTS),
        descriptives=expand("results/{cohort}/descriptives.json", cohort=COHORTS),
        fits=[f for c in COHORTS for f in fit_outputs(c, "fit.json")],
        code=INDEX_CODE,
    output:
        index=report(
            "results/index.html",
            caption="../report/index.rst",
            category="Across cohorts",
            labels={"page": "index and cross-cohort comparison"},
        ),
        table=report(
            "results/cohort_comparison.csv",
            caption="../report/cohort_comparison.rst",
            category="Across cohorts",
            labels={"page": "odds ratios per cohort and pooled"},
        ),
    log:
        "logs/index/index.log",
    conda:
        ENV
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        cohorts=COHORTS,
        results_dir=lambda wc, output: str(Path(output.index).parent),
        settings=WORKFLOW.meta_analysis,
    script:
        "../scripts/index.py"


# A cohort with problems in its own file or data: this job fails and lists them, so the run
# ends non-zero and names the cohort while every other cohort runs to its report.
rule cohort_problems:
    output:
        problems="results/{broken}/cohort-problems.txt",
    log:
        "logs/cohort_problems/{broken}.log",
    conda:
        ENV
    resources:
        mem_mb=200,
        runtime=5,
    params:
        problems=lambda wc: BROKEN[wc.broken],
    script:
        "../scripts/cohort_problems.py"
