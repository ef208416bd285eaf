# A cohort whose config or data file has problems: fail its job with them, the others run on.
import sessionmlm_path  # noqa: F401  (puts src/ on sys.path)

from sessionmlm.machine_paths import scrub, this_machine

problems = snakemake.params.problems
message = f"cohort {snakemake.wildcards.broken!r} was not run:\n" + "\n".join(
    f"- {p}" for p in problems
)
# A value the user wrote (an absolute data path) is named without the machine's folders.
message = scrub(message, this_machine())
with open(snakemake.log[0], "w") as log:
    log.write(message + "\n")
raise SystemExit(f"sessionmlm: {message}")
