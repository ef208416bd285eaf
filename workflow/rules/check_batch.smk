# Each template's item models checked in one job (CHECK_BATCHES in common.smk): check_batch_1,
# check_batch_2, ..., writing each model's checked.json as check_model would; the ruleorder
# makes the batch the one way to make them.
for n, b in enumerate(CHECK_BATCHES, 1):

    rule:
        name:
            f"check_batch_{n}"
        input:
            sessions=f"results/{b.cohort}/sessions.parquet",
            code=stage_code("check_batch"),
        output:
            [f"results/{b.cohort}/{m}/checked.json" for m in b.models],
        log:
            f"logs/check_batch/{b.cohort}/{b.label}.log",
        conda:
            ENV
        resources:
            mem_mb=2000,
            runtime=10,
        params:
            specs=tuple(COHORTS[b.cohort].models[m] for m in b.models),
            recorded=recorded(tuple(COHORTS[b.cohort].models[m] for m in b.models)),
            reference=COHORTS[b.cohort].reference,
            cohort=b.cohort,
        script:
            "../scripts/check_batch.py"

    workflow.ruleorder(f"check_batch_{n}", "check_model")
