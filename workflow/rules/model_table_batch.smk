# The manuscript tables of each fit batch in one job: model_table_batch_1, ..., writing each
# table as model_table would; the ruleorder makes the batch the one way to make them.
from sessionmlm.stages.model_table_batch import BatchTable


def batch_tables(b):
    c = COHORTS[b.cohort]
    return tuple(
        BatchTable(
            model=m,
            number=manuscript.table_number(c.models, c.engines, m, b.engine),
            fit=batches.fit_files(b.cohort, m, b.engine),
            csv=f"results/{b.cohort}/tables/{manuscript.model_stem(m, b.engine)}.csv",
            docx=f"results/{b.cohort}/tables/{manuscript.model_stem(m, b.engine)}.docx",
        )
        for m in b.models
    )


for n, b in enumerate(FIT_BATCHES, 1):

    rule:
        name:
            f"model_table_batch_{n}"
        input:
            fits=[f for t in batch_tables(b) for f in t.fit.values()],
            code=stage_code("model_table_batch", b.engine),
        output:
            [f for t in batch_tables(b) for f in (t.csv, t.docx)],
        log:
            f"logs/model_table_batch/{b.cohort}/{b.label}.log",
        conda:
            ENV
        resources:
            mem_mb=500,
            runtime=5,
        params:
            tables=batch_tables(b),
            recorded=recorded(batch_tables(b)),
            observation=COHORTS[b.cohort].session_level,
            engine=b.engine,
        script:
            "../scripts/model_table_batch.py"

    workflow.ruleorder(f"model_table_batch_{n}", "model_table")
