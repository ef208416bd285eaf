rule index:
    input:
        reports=expand("results/{cohort}/report.html", cohort=COHORTS),
        descriptives=expand("results/{cohort}/descriptives.json", cohort=COHORTS),
        fits=[f for c in COHORTS for f in fit_outputs(c, "fit.json")],
        code=stage_code("index"),
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
