"""Wall time of ml-engine fits with a program level and with a therapist's random slope.

Demo-shaped data (680 sessions, 274 clients, 103 therapists; with programs, 25 of them), from
sessionmlm.simulate_structures, each fitted with its generating model at the default ml
settings (profile intervals included):

- four levels: homework ~ caregiver_present + licensed + (1 | program/therapist/client),
  target 5 s;
- a slope: homework ~ caregiver_present + licensed + (1 + caregiver_present | therapist)
  + (1 | client), target 2 s.

Prints every repeat and the medians, split as fit.json's wall_seconds (optimise, hessian,
profile). One warm-up fit first loads numba's compiled kernels.

    .venv/bin/python benchmarks/ml_structure_speed.py [--repeats 5]
"""

import argparse
import statistics

from sessionmlm.engines import ml
from sessionmlm.model_data import build_model_data
from sessionmlm.simulate_structures import Structure, simulate_structure

DEMO = {"therapists": 103, "clients": 274, "sessions": 680}
FIXED = {"intercept": -0.8, "coefficients": {"caregiver_present": 0.7, "licensed": -0.5}}
MODELS = {
    "four levels": (
        Structure(programs=25, sd={"program": 0.6, "therapist": 0.7, "client": 0.8},
                  **DEMO, **FIXED),
        5.0,
    ),
    "random slope": (
        Structure(slope_sd=0.6, correlation=0.4, sd={"therapist": 0.7, "client": 0.8},
                  **DEMO, **FIXED),
        2.0,
    ),
}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    for name, (structure, target) in MODELS.items():
        data = build_model_data(simulate_structure(structure, seed=1), structure.spec(), {})
        ml.fit(data, {"profile": False})  # warm-up: numba's kernels load
        runs = []
        for k in range(args.repeats):
            result = ml.fit(data, {})
            seconds = result.info["wall_seconds"]
            runs.append(seconds)
            print(f"{name} run {k + 1}: {seconds} converged={result.converged}", flush=True)
        medians = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
        verdict = "met" if medians["total"] <= target else "MISSED"
        print(f"{name}: {len(data.y)} sessions, median of {args.repeats}: "
              f"{ {k: round(v, 3) for k, v in medians.items()} }; target {target} s {verdict}")  # fmt: skip


if __name__ == "__main__":
    main()
