# A cohort whose config or data file has problems: fail its job with them, the others run on.

problems = snakemake.params.problems
message = f"cohort {snakemake.wildcards.broken!r} was not run:\n" + "\n".join(
    f"- {p}" for p in problems
)
with open(snakemake.log[0], "w") as log:
    log.write(message + "\n")
raise SystemExit(f"sessionmlm: {message}")
