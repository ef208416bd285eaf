"""Wall time of one full demo-model fit with the Bayesian engine, as a user's job sees it.

Each repeat is a fresh Python process (imports, PyMC model, nutpie/numba compile, sampling,
diagnostics), the way a Snakemake job runs. Prints every repeat and the medians.

    .venv/bin/python benchmarks/bayes_speed.py [--repeats 5] [--model full]
"""

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

ONE_FIT = """
import json, sys, time
t0 = time.perf_counter()
import yaml, pymc, nutpie, arviz_stats
from sessionmlm.config import load_config
from sessionmlm.model_data import build_model_data
from sessionmlm.engines.bayes import fit
from sessionmlm.ingest import ingest
t_import = time.perf_counter() - t0
config = load_config(yaml.safe_load(open("config/config.yaml")))
cohort = config.cohorts["demo"]
table, _ = ingest(cohort, config.privacy)
data = build_model_data(table, cohort.models[sys.argv[1]], cohort.reference)
result = fit(data, cohort.engine_settings["bayes"], threads=2)
info = result.info
print(json.dumps({
    "wall": time.perf_counter() - t0, "imports": t_import,
    "compile": info["wall_seconds"]["compile"], "sampling": info["wall_seconds"]["sampling"],
    "attempts": len(info["attempts"]), "converged": info["converged"],
    **{k: info["diagnostics"][k] for k in ("max_rhat", "min_ess_bulk", "min_ess_tail", "divergences")},
}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--model", default="full")
    args = parser.parse_args()
    runs = []
    for i in range(args.repeats):
        start = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", ONE_FIT, args.model], cwd=ROOT, capture_output=True,
            text=True, check=True, env={"SESSIONMLM_KEY": "benchmark", "PATH": "/usr/bin:/bin"},
        )  # fmt: skip
        run = json.loads(out.stdout.strip().splitlines()[-1])
        run["process"] = time.perf_counter() - start
        runs.append(run)
        print(
            f"repeat {i + 1}: process {run['process']:.1f} s (imports {run['imports']:.1f}, "
            f"compile {run['compile']:.1f}, sampling {run['sampling']:.1f} over "
            f"{run['attempts']} attempt(s)); max R-hat {run['max_rhat']:.3f}, min ESS bulk "
            f"{run['min_ess_bulk']:.0f}, tail {run['min_ess_tail']:.0f}, "
            f"{run['divergences']} divergences, converged {run['converged']}",
            flush=True,
        )
    med = {k: statistics.median(r[k] for r in runs) for k in
           ("process", "imports", "compile", "sampling", "min_ess_bulk", "min_ess_tail", "max_rhat")}  # fmt: skip
    print(
        f"median of {len(runs)}: wall {med['process']:.1f} s = imports (PyMC, nutpie) {med['imports']:.1f} + "
        f"compile {med['compile']:.1f} + sampling {med['sampling']:.1f} + rest; "
        f"min ESS bulk {med['min_ess_bulk']:.0f}, tail {med['min_ess_tail']:.0f}; "
        f"max R-hat {med['max_rhat']:.3f}; all converged: {all(r['converged'] for r in runs)}"
    )


if __name__ == "__main__":
    main()
