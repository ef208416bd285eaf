# Table 1 by level beside the report, as an APA-style Word file (DOCX) and the same cells as
# CSV: the report's Table 1, small counts suppressed as there.
rule table1:
    input:
        descriptives="results/{cohort}/descriptives.json",
        code=stage_code("table1"),
    output:
        csv="results/{cohort}/tables/table1.csv",
        docx="results/{cohort}/tables/table1.docx",
    log:
        "logs/table1/{cohort}.log",
    conda:
        ENV
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../scripts/table1.py"
