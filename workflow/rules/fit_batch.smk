# Coded items' fits with an engine whose Resources.batch_items exceeds 1, many to a job: one
# rule per batch (FIT_BATCHES in common.smk), fit_batch_1, fit_batch_2, ..., writing each fit's
# files exactly as the fit rule would; the ruleorder makes the batch the one way to make them.
# One core: batches are for fits of seconds, whose data are too small for threads to pay off
# (ml's kernels go parallel only above PARALLEL_WORK); two batches use two cores.
from sessionmlm.stages.fit_batch import BatchFit


def fit_batch_outputs(b):
    """Each fit's four files; estimates and variance flagged for snakemake --report as in fit."""
    found = []
    for model in b.models:
        files = batches.fit_files(b.cohort, model, b.engine)
        for name, path in files.items():
            labels = {
                "cohort": b.cohort,
                "model": model,
                "engine": b.engine,
                "table": name,
            }
            if name in ("estimates", "variance"):
                path = report(path, caption=f"../report/{name}.rst", category=b.cohort,
                              subcategory=model, labels=labels)  # fmt: skip
            found.append(path)
    return found


for n, b in enumerate(FIT_BATCHES, 1):

    rule:
        name:
            f"fit_batch_{n}"
        input:
            sessions=f"results/{b.cohort}/sessions.parquet",
            checked=[f"results/{b.cohort}/{m}/checked.json" for m in b.models],
            code=stage_code("fit_batch", b.engine),
        output:
            fit_batch_outputs(b),
        log:
            f"logs/fit_batch/{b.cohort}/{b.label}.log",
        benchmark:
            f"logs/benchmarks/fit_batch/{b.cohort}/{b.label}.tsv"
        conda:
            ENV
        threads: 1
        resources:
            mem_mb=batch_memory_mb(b.engine),
            runtime=batch_minutes(b.engine, len(b.models)),
        params:
            fits=tuple(
                BatchFit(
                    COHORTS[b.cohort].models[m],
                    batches.fit_files(b.cohort, m, b.engine),
                    COHORTS[b.cohort].predictions.for_model(m),
                )
                for m in b.models
            ),
            recorded=recorded(
                tuple(fit_record(b.cohort, m, b.engine) for m in b.models)
            ),
            reference=COHORTS[b.cohort].reference,
            settings=COHORTS[b.cohort].engine_settings[b.engine],
            privacy=WORKFLOW.privacy,
            levels=tuple(COHORTS[b.cohort].levels),
            cohort=b.cohort,
            engine=b.engine,
        script:
            "../scripts/fit_batch.py"

    workflow.ruleorder(f"fit_batch_{n}", "fit")
