"""How the bayes engine's fit time grows with the cohort: 10^3, 10^4, 10^5 sessions.

Issue 17 item 2: 100,000 sessions in at most 5 minutes with every diagnostic passing. Each size
is a simulated cohort of the demo's shape (ml_speed.cohort: 5 sessions per client, 4 clients
per therapist) fitted with the full demo model and the engine's default settings, in a fresh
process (imports and the log density's load counted, as in a Snakemake job). Prints each fit's
wall time, its sampling time, attempts and diagnostics, and the growth from size to size.

    .venv/bin/python benchmarks/bayes_scale.py [--sizes 1000 10000 100000]
"""

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

ONE_FIT = """
import json, sys, time
t0 = time.perf_counter()
sys.path.insert(0, "benchmarks")
from ml_speed import cohort
from sessionmlm.engines.bayes import fit
data = cohort(int(sys.argv[1]))
result = fit(data, {}, threads=2)
info = result.info
print(json.dumps({
    "wall": time.perf_counter() - t0, "sampling": info["wall_seconds"]["sampling"],
    "attempts": len(info["attempts"]), "converged": info["converged"],
    "draws": info["attempts"][-1]["draws"], "chains": info["settings"]["chains"],
    "kept": info["attempts"][-1].get("kept_draws", info["attempts"][-1]["draws"]),
    **{k: info["diagnostics"][k] for k in ("max_rhat", "min_ess_bulk", "min_ess_tail",
                                           "divergences")},
}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000])
    args = parser.parse_args()
    env = {"SESSIONMLM_KEY": "benchmark", "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT / "src")}
    before = None
    for n in args.sizes:
        start = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", ONE_FIT, str(n)], cwd=ROOT,
                             capture_output=True, text=True, env=env)  # fmt: skip
        if out.returncode != 0:
            raise SystemExit(f"{n:,} sessions: the fit failed:\n{out.stderr[-3000:]}")
        run = json.loads(out.stdout.strip().splitlines()[-1])
        wall = time.perf_counter() - start
        growth = f", x{wall / before:.1f} the size before" if before else ""
        before = wall
        passed = (run["max_rhat"] <= 1.01 and min(run["min_ess_bulk"], run["min_ess_tail"]) >= 400
                  and run["divergences"] == 0)  # fmt: skip
        print(
            f"{n:>9,} sessions: {wall:7.1f} s (sampling {run['sampling']:.1f} s, "
            f"{run['attempts']} attempt(s), {run['chains']} x {run['kept']} of up to "
            f"{run['draws']} draws){growth}; "
            f"max R-hat {run['max_rhat']:.3f}, min ESS bulk {run['min_ess_bulk']:.0f}, tail "
            f"{run['min_ess_tail']:.0f}, {run['divergences']} divergences: diagnostics "
            f"{'pass' if passed else 'FAIL'}"
            + (f"; target 300 s {'met' if wall <= 300 else 'MISSED'}" if n >= 100_000 else ""),
            flush=True,
        )


if __name__ == "__main__":
    main()
