"""Wall time of ml-engine fits: the demo model, 100,000 sessions, and growth with sessions.

Simulated cohorts of the demo's shape fitted with the full model and 12 quadrature points.
Prints every repeat and the medians, split into the optimisation (Laplace, then quadrature),
the Hessian (standard errors) and the profile-likelihood intervals for the SDs.

    .venv/bin/python benchmarks/ml_speed.py [--repeats 5] [--max-sessions 1000000]

The first fit in a process loads numba's compiled kernels from its disk cache (or compiles
them, about 10 s, on a fresh checkout); that one-off cost is printed separately, and also
measured as a fresh process fitting the demo model, the way a Snakemake job runs.
"""

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from sessionmlm.engines import ml
from sessionmlm.formula import parse_formula
from sessionmlm.model_data import build_model_data
from sessionmlm.simulate import CohortShape, TrueParameters, canonical, simulate_cohort

ROOT = Path(__file__).resolve().parents[1]
FULL = (
    "homework ~ ebp + n_ebps_trained + caregiver_present + stressful_event + child_age"
    " + licensed + hispanic_latinx + ebp_attitudes + emotional_exhaustion + direct_hours"
    " + (1 | therapist/client)"
)

ONE_PROCESS = """
import json, time
t0 = time.perf_counter()
from sessionmlm.model_data import build_model_data
from sessionmlm.engines import ml
from sessionmlm.formula import parse_formula
from sessionmlm.simulate import CohortShape, canonical, simulate_cohort
import sys
table = canonical(simulate_cohort(CohortShape(), seed=1))
data = build_model_data(table, parse_formula(sys.argv[1], "full"), {"ebp": "MAP"})
t1 = time.perf_counter()
result = ml.fit(data, {"points": 12})
print(json.dumps({"process": time.perf_counter() - t0, "fit": time.perf_counter() - t1}))
"""


def cohort(n_sessions: int, seed: int = 1):
    """The demo's shape (5 sessions per client, 4 clients per therapist) at a given size."""
    if n_sessions == 680:
        shape = CohortShape()
    else:
        shape = CohortShape(n_sessions // 20, n_sessions // 5, n_sessions)
    table = canonical(simulate_cohort(shape, TrueParameters(), seed=seed))
    return build_model_data(table, parse_formula(FULL, "full"), {"ebp": "MAP"})


def timed_fit(data, settings):
    start = time.perf_counter()
    result = ml.fit(data, settings, threads=2)
    wall = time.perf_counter() - start
    w = result.info["wall_seconds"]
    return {
        "wall": wall,
        "optimise": w["optimise"],
        "hessian": w["hessian"],
        "profile": w["profile"],
        "evaluations": result.info["diagnostics"]["function_evaluations"],
        "converged": result.converged,
    }


def show(label, runs):
    for i, r in enumerate(runs):
        print(
            f"  {label} repeat {i + 1}: {r['wall']:.3f} s (optimise {r['optimise']:.3f}, "
            f"Hessian {r['hessian']:.3f}, profile {r['profile']:.3f}; "
            f"{r['evaluations']} likelihood evaluations; converged {r['converged']})"
        )
    med = {k: statistics.median(r[k] for r in runs) for k in ("wall", "optimise", "profile")}
    print(
        f"  {label} MEDIAN {med['wall']:.3f} s, of which profile intervals {med['profile']:.3f} s"
        f" (without them {med['wall'] - med['profile']:.3f} s)"
    )
    return med


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--max-sessions", type=int, default=1_000_000)
    args = parser.parse_args()

    demo = cohort(680)
    start = time.perf_counter()
    ml.fit(demo, {"points": 12})
    print(f"first fit in this process (loads or compiles the kernels): "
          f"{time.perf_counter() - start:.2f} s")  # fmt: skip

    print("demo design, full model, 680 sessions, 12 points (target < 0.5 s):")
    show("demo", [timed_fit(demo, {"points": 12}) for _ in range(args.repeats)])

    print("fresh process per repeat (imports, kernel cache, data, fit), the demo model:")
    runs = []
    for i in range(3):
        out = subprocess.run(
            [sys.executable, "-c", ONE_PROCESS, FULL], cwd=ROOT, capture_output=True,
            text=True, check=True,
        )  # fmt: skip
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(f"  repeat {i + 1}: process {runs[-1]['process']:.2f} s, fit {runs[-1]['fit']:.2f} s")
    print(f"  MEDIAN process {statistics.median(r['process'] for r in runs):.2f} s")

    print("100,000 sessions, 20,000 clients, 5,000 therapists, 12 points (target < 30 s):")
    big = cohort(100_000)
    show("100k", [timed_fit(big, {"points": 12}) for _ in range(min(args.repeats, 3))])

    print("growth with sessions (one fit each, 12 points):")
    n = 1_000
    while n <= args.max_sessions:
        data = cohort(n)
        r = timed_fit(data, {"points": 12})
        print(
            f"  {n:>9,} sessions: {r['wall']:8.2f} s (profile {r['profile']:.2f} s, "
            f"{r['evaluations']} evaluations, converged {r['converged']})"
        )
        n *= 10


if __name__ == "__main__":
    main()
