rule ingest:
    input:
        data=lambda wc: COHORTS[wc.cohort].data_files,
    output:
        sessions="results/{cohort}/sessions.parquet",
        validation="results/{cohort}/validation.json",
    log:
        "logs/ingest/{cohort}.log",
    conda:
        ENV
    resources:
        mem_mb=2000,
        runtime=15,
    params:
        cohort=lambda wc: COHORTS[wc.cohort].for_ingest(),
        privacy=WORKFLOW.privacy,
    script:
        "../scripts/ingest.py"


rule describe:
    input:
        sessions="results/{cohort}/sessions.parquet",
    output:
        descriptives="results/{cohort}/descriptives.json",
    log:
        "logs/describe/{cohort}.log",
    conda:
        ENV
    resources:
        mem_mb=2000,
        runtime=15,
    params:
        cohort=lambda wc: COHORTS[wc.cohort].for_ingest(),
        privacy=WORKFLOW.privacy,
    script:
        "../scripts/describe.py"
