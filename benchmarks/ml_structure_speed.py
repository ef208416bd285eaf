"""Wall time of ml-engine fits with a program level and with a therapist's random slope.

Demo-shaped data (680 sessions, 274 clients, 103 therapists) in 25 programs, from
sessionmlm.simulate_levels, fitted with the default ml settings (profile intervals included):

- four levels: y ~ caregiver_present + licensed + (1 | program/therapist/client), target 5 s;
- a slope: y ~ caregiver_present + licensed + (1 + caregiver_present | therapist)
  + (1 | client), target 2 s.

Prints every repeat and the medians, split as fit.json's wall_seconds (optimise, hessian,
profile). One warm-up fit first loads numba's compiled kernels.

    .venv/bin/python benchmarks/ml_structure_speed.py [--repeats 5]
"""

import argparse
import statistics

from sessionmlm.engines import ml
from sessionmlm.formula import parse_formula
from sessionmlm.model_data import build_model_data
from sessionmlm.simulate_levels import LevelsTruth, simulate_levels

MODELS = {
    "four levels": (
        "y ~ caregiver_present + licensed + (1 | program/therapist/client)",
        LevelsTruth(),
        5.0,
    ),
    "random slope": (
        "y ~ caregiver_present + licensed + (1 + caregiver_present | therapist) + (1 | client)",
        LevelsTruth(sd_program=0.0, sd_slope=0.6, correlation=0.4),
        2.0,
    ),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    for name, (formula, truth, target) in MODELS.items():
        data = build_model_data(simulate_levels(truth, seed=1), parse_formula(formula, "m"), {})
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
