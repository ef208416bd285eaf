# Ingest writes results/{cohort}/validation.json itself (not as a declared output, which
# Snakemake would delete when validation fails) and a staged table that `accept` moves into
# place: a cohort that fails validation keeps every earlier result as it was.
rule ingest:
    input:
        data=lambda wc: COHORTS[wc.cohort].for_ingest().input_files,
        code=stage_code("ingest"),
    output:
        staged=temp("results/{cohort}/staged-sessions.parquet"),
    log:
        "logs/ingest/{cohort}.log",
    benchmark:
        "logs/benchmarks/ingest/{cohort}.tsv"
    conda:
        ENV
    resources:
        mem_mb=2000,
        runtime=15,
    params:
        cohort=lambda wc: COHORTS[wc.cohort].for_ingest(),
        recorded=lambda wc: recorded(
            (COHORTS[wc.cohort].for_ingest(), WORKFLOW.privacy)
        ),
        privacy=WORKFLOW.privacy,
        validation="results/{cohort}/validation.json",
    script:
        "../scripts/ingest.py"


rule accept:
    input:
        staged="results/{cohort}/staged-sessions.parquet",
    output:
        sessions="results/{cohort}/sessions.parquet",
    log:
        "logs/accept/{cohort}.log",
    conda:
        ENV
    resources:
        mem_mb=500,
        runtime=5,
    shell:
        "cp {input.staged} {output.sessions} 2> {log}"
