"""Coverage of the ml engine's Wald 95% intervals over repeated cohorts of the demo design.

Each replicate simulates a cohort of the demo design (103 therapists, 274 clients, 680
sessions) from the true parameters with its own seed, fits the full model with the default
12 quadrature points, and records whether each fixed effect's Wald interval and each SD's
profile-likelihood interval contains the truth. Prints coverage per parameter with its
binomial standard error, for the main effects (caregiver, child age, licensure) and overall.

    .venv/bin/python benchmarks/ml_coverage.py [--replicates 1000] [--workers 2]
        [--outcome extensiveness] [--structure programs|within_between|slope]

--outcome extensiveness fits the simulator's 5-category ordinal item instead (cumulative
logit, the same predictors; its thresholds are covered too). --structure changes the truth
and the model (issue 15):

- programs: therapists in 25 programs with a program SD of 0.5, fitted with
  (1 | program/therapist/client) (the program SD's profile interval is covered too);
- within_between: caregiver presence 0.3 within clients and 1.2 between clients and
  therapists, fitted split (within_between) with (1 | therapist/client); each part covered;
- slope: a therapist random slope of caregiver presence (SD 0.7, correlation -0.4 with the
  intercept), fitted with (1 + caregiver_present | therapist) + (1 | client); the slope SD's
  profile interval and the correlation's profile interval are covered too.
"""

import argparse
import functools
import math
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace

import numpy as np

from sessionmlm.engines import ml
from sessionmlm.formula import parse_formula
from sessionmlm.model_data import build_model_data
from sessionmlm.simulate import CohortShape, TrueParameters, canonical, simulate_cohort
from sessionmlm.structure import complete_spec

FULL = (
    "homework ~ ebp + n_ebps_trained + caregiver_present + stressful_event + child_age"
    " + licensed + hispanic_latinx + ebp_attitudes + emotional_exhaustion + direct_hours"
    " + (1 | therapist/client)"
)
MAIN = ("caregiver_present", "child_age", "licensed")
TRUTH = TrueParameters()
PARTS = ("caregiver_present (within client)", "caregiver_present (between client)",
         "caregiver_present (between therapist)")  # fmt: skip
STRUCTURES = {
    # name: (truth, random part of the formula, cohort keys, sd truths beyond the levels')
    "": (TRUTH, "(1 | therapist/client)", {}),
    "programs": (replace(TRUTH, sd_program=0.5), "(1 | program/therapist/client)", {}),
    "within_between": (
        replace(TRUTH, caregiver_present=0.3, caregiver_between_client=1.2,
                caregiver_between_therapist=1.2, caregiver_propensity_sd=1.5),
        "(1 | therapist/client)", {"within_between": ["caregiver_present"]},
    ),
    "slope": (
        replace(TRUTH, sd_caregiver_slope=0.7, caregiver_slope_correlation=-0.4),
        "(1 + caregiver_present | therapist) + (1 | client)", {},
    ),
}  # fmt: skip


def replicate(seed: int, outcome: str = "homework", structure: str = "") -> dict:
    truth_params, random, keys = STRUCTURES[structure]
    table = canonical(simulate_cohort(CohortShape(), truth_params, seed=seed))
    formula = FULL.replace("homework ~", f"{outcome} ~").replace("(1 | therapist/client)", random)
    grouping = ("program", "therapist", "client")
    spec, _ = complete_spec(parse_formula(formula, "full"), keys, grouping, "benchmark")
    data = build_model_data(table, spec, {"ebp": "MAP"})
    result = ml.fit(data, {}, threads=1)
    params = truth_params.extensiveness if data.ordinal else truth_params
    truth = params.coefficients()
    if structure == "within_between":
        truth |= dict(zip(PARTS, truth_params.caregiver_parts(), strict=True))
    rows = list(result.estimates.itertuples())
    if data.ordinal:
        truth |= params.threshold_terms()
        rows += [r._replace(term=r.threshold) for r in result.thresholds.rename(
            columns={"threshold": "term"}).assign(threshold=result.thresholds["threshold"])
            .itertuples()]  # fmt: skip
    covered = {row.term: bool(row.ci_low <= truth[row.term] <= row.ci_high) for row in rows}
    sds = {"program": params.sd_program, "therapist": params.sd_therapist,
           "client": params.sd_client, "therapist:caregiver_present": 0.7}  # fmt: skip
    for row in result.variance.itertuples():
        covered[f"sd {row.level}"] = bool(row.sd_low <= sds[row.level] <= row.sd_high)
    for c in result.info.get("correlations", []):
        covered[f"sd correlation {c['level']}"] = bool(c["ci_low"] <= -0.4 <= c["ci_high"])
    return {"seed": seed, "covered": covered, "converged": result.converged,
            "problems": result.info["problems"],
            "seconds": result.info["wall_seconds"]["total"]}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--first-seed", type=int, default=1000)
    parser.add_argument("--outcome", default="homework", choices=["homework", "extensiveness"])
    parser.add_argument("--structure", default="", choices=[k for k in STRUCTURES if k])
    args = parser.parse_args()
    start = time.perf_counter()
    seeds = range(args.first_seed, args.first_seed + args.replicates)
    with ProcessPoolExecutor(args.workers) as pool:
        run = functools.partial(replicate, outcome=args.outcome, structure=args.structure)
        results = list(pool.map(run, seeds, chunksize=10))
    wall = time.perf_counter() - start
    ok = [r for r in results if r["converged"]]
    names = list(ok[0]["covered"])
    main = [t for t in (*MAIN, *PARTS) if t in names]
    n = len(ok)
    print(f"{args.replicates} replicates of the demo design, full model of {args.outcome}"
          f"{', ' + args.structure if args.structure else ''}, "
          "default points: "
          f"{len(results) - n} not converged; {wall:.0f} s wall on {args.workers} workers, "
          f"median fit {np.median([r['seconds'] for r in results]):.2f} s")  # fmt: skip
    for r in results:
        if not r["converged"]:
            print(f"  seed {r['seed']} not converged: {'; '.join(r['problems'])}")
    se = math.sqrt(0.95 * 0.05 / n)
    print(f"coverage of the 95% intervals (binomial SE {100 * se:.1f} points at 95%):")
    for name in names:
        rate = np.mean([r["covered"][name] for r in ok])
        flag = "  <- main effect" if name in main else ""
        kind = "profile" if name.startswith("sd ") else "Wald"
        print(f"  {name:24s} {100 * rate:5.1f}% ({kind}){flag}")
    main_rate = np.mean([r["covered"][t] for r in ok for t in main])
    fixed = [t for t in names if not t.startswith("sd ")]
    all_rate = np.mean([r["covered"][t] for r in ok for t in fixed])
    print(f"main effects together: {100 * main_rate:.1f}%  (target 93-97%)")
    print(f"all {len(fixed)} fixed effects together: {100 * all_rate:.1f}%")


if __name__ == "__main__":
    main()
