"""Wall time of the ml engine on the demo's ordinal item beside its binary outcome.

The simulator's demo-shaped cohort (680 sessions, 274 clients, 103 therapists) fitted with the
full model's predictors for the binary outcome (homework) and the 5-category ordinal item
(extensiveness), 12 quadrature points per level and profile intervals, in one process after
one warm-up fit each (numba's kernels load from its disk cache). Prints every repeat, the
medians and their split (optimisation, Hessian, profile intervals), and the ordinal fit's
estimates beside the simulator's truth.

    .venv/bin/python benchmarks/ml_ordinal_speed.py [--repeats 5] [--seed 1]

Target (issue 14): the ordinal full model in at most 1 s.
"""

import argparse
import json
import statistics
import time

from sessionmlm.engines import ml
from sessionmlm.formula import parse_formula
from sessionmlm.model_data import build_model_data
from sessionmlm.simulate import CohortShape, TrueParameters, canonical, simulate_cohort

PREDICTORS = (
    "ebp + n_ebps_trained + caregiver_present + stressful_event + child_age + licensed"
    " + hispanic_latinx + ebp_attitudes + emotional_exhaustion + direct_hours"
    " + (1 | therapist/client)"
)


def timed(data, repeats: int) -> tuple[list[float], dict]:
    ml.fit(data, {"points": 12})  # warm-up: kernels from numba's cache
    seconds, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = ml.fit(data, {"points": 12})
        seconds.append(time.perf_counter() - start)
    return seconds, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    table = canonical(simulate_cohort(CohortShape(), TrueParameters(), seed=args.seed))
    medians = {}
    for outcome in ("homework", "extensiveness"):
        spec = parse_formula(f"{outcome} ~ {PREDICTORS}", outcome)
        data = build_model_data(table, spec, {"ebp": "MAP"})
        seconds, result = timed(data, args.repeats)
        medians[outcome] = statistics.median(seconds)
        parts = result.info["wall_seconds"]
        print(f"{outcome} ({data.outcome_type}, {len(data.y)} sessions): "
              f"{', '.join(f'{s:.3f}' for s in seconds)} s; median {medians[outcome]:.3f} s; "
              f"last fit's split {json.dumps(parts)}; converged {result.converged}")  # fmt: skip
        if data.ordinal:
            print(result.estimates[["term", "estimate", "std_error"]].to_string(index=False))
            print(result.thresholds[["threshold", "estimate", "std_error"]].to_string(index=False))
            print(result.variance[["level", "sd", "sd_low", "sd_high"]].to_string(index=False))
    ratio = medians["extensiveness"] / medians["homework"]
    print(f"ordinal / binary median: {ratio:.2f}; target: ordinal at most 1 s "
          f"({'met' if medians['extensiveness'] <= 1 else 'NOT met'})")  # fmt: skip


if __name__ == "__main__":
    main()
