# sessionmlm: coded therapy sessions in, multilevel models of homework use and HTML reports out.
# Run `make demo` (or `snakemake --cores all`); config/README.md documents every setting.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/ingest.smk"
include: "workflow/rules/describe.smk"
include: "workflow/rules/check_model.smk"
include: "workflow/rules/check_batch.smk"
include: "workflow/rules/fit.smk"
include: "workflow/rules/all_codes.smk"
include: "workflow/rules/fit_coders.smk"
include: "workflow/rules/fit_batch.smk"
include: "workflow/rules/reliability.smk"
include: "workflow/rules/table1.smk"
include: "workflow/rules/model_table.smk"
include: "workflow/rules/model_table_batch.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/index.smk"
include: "workflow/rules/cohort_problems.smk"
include: "workflow/rules/simulate_chunk.smk"
include: "workflow/rules/power.smk"


rule all:
    default_target: True
    input:
        all_outputs(),
