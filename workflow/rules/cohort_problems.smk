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
