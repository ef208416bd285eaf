"""Coverage of the Bayesian engine's 95% intervals over simulated cohorts of the demo design.

Compiles the model once and reuses it for every replicate (same shapes, new data), which is
also the measure of what compile reuse buys. Prints coverage per parameter and overall.
With --ordinal the outcome has four categories, drawn from the same model's latent logistic
variable cut at known thresholds (logit P(y <= k) = threshold_k - eta), and their coverage is
measured too.

    .venv/bin/python benchmarks/bayes_coverage.py [--replicates 100] [--ordinal]
"""

import argparse
import dataclasses
import logging
import time

import numpy as np

from sessionmlm.engines.bayes import BayesSettings, fit
from sessionmlm.engines.bayes.model import _shape_key, compile_model
from sessionmlm.formula import parse_formula
from sessionmlm.model_data import build_model_data
from sessionmlm.simulate import (
    CohortShape,
    TrueParameters,
    canonical,
    simulate_cohort,
    truth_record,
)

FULL = (
    "homework ~ ebp + n_ebps_trained + caregiver_present + stressful_event + child_age + licensed"
    " + hispanic_latinx + ebp_attitudes + emotional_exhaustion + direct_hours"
    " + (1 | therapist/client)"
)
THRESHOLDS = (0.5, 1.5, 2.5)  # ordinal: about 30%, 20%, 20%, 30% of sessions on the demo design


def ordinal_version(data, record: dict, seed: int):
    """data with an ordinal outcome from the generating model's latent logistic variable."""
    rng = np.random.default_rng([seed, 1])  # not the simulator's stream: independent of it
    latent = data.X @ np.array([record["coefficients"][t] for t in data.terms])
    for group, units, n in zip(data.groups, data.unit_of_session, data.n_units, strict=True):
        latent = latent + record["variance"][group]["sd"] * rng.standard_normal(n)[units]
    y = np.searchsorted(THRESHOLDS, latent + rng.logistic(size=len(latent))).astype(float)
    labels = tuple(str(k + 1) for k in range(len(THRESHOLDS) + 1))
    return dataclasses.replace(data, y=y, outcome_type="ordinal", categories=labels)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=100)
    parser.add_argument("--first-seed", type=int, default=1000)
    parser.add_argument("--ordinal", action="store_true", help="an ordinal outcome (4 categories)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    shape, truth = CohortShape(), TrueParameters()
    record = truth_record(shape, truth, 0)
    spec = parse_formula(FULL, "full")
    settings = BayesSettings()  # the defaults users get
    inside: dict[str, list[bool]] = {}
    compiled, times, failed = None, [], 0
    for r in range(args.replicates):
        seed = args.first_seed + r
        data = build_model_data(
            canonical(simulate_cohort(shape, truth, seed)), spec, {"ebp": "MAP"}
        )
        if args.ordinal:
            data = ordinal_version(data, record, seed)
        if compiled is None or compiled.shape != _shape_key(data, settings):
            compiled = compile_model(data, settings)
        start = time.perf_counter()
        result = fit(data, settings, compiled=compiled)
        times.append(time.perf_counter() - start)
        if not result.converged:
            failed += 1
            print(
                f"replicate {r + 1} (seed {seed}) failed: {'; '.join(result.info['problems'])}",
                flush=True,
            )
        est = result.estimates.set_index("term")
        for term, value in record["coefficients"].items():
            if term in est.index:  # an ordinal outcome has no intercept
                inside.setdefault(term, []).append(
                    bool(est.ci_low[term] <= value <= est.ci_high[term])
                )
        if args.ordinal:
            cuts = result.thresholds.set_index("threshold")
            for name, value in zip(data.threshold_names, THRESHOLDS, strict=True):
                inside.setdefault(f"threshold {name}", []).append(
                    bool(cuts.ci_low[name] <= value <= cuts.ci_high[name])
                )
        var = result.variance.set_index("level")
        for level, true in record["variance"].items():
            inside.setdefault(f"sd {level}", []).append(
                bool(var.sd_low[level] <= true["sd"] <= var.sd_high[level])
            )
        if (r + 1) % 10 == 0:
            print(f"{r + 1} replicates, median {np.median(times):.1f} s per fit", flush=True)
    outcome = "ordinal" if args.ordinal else "binary"
    print(
        f"\ncoverage of 95% intervals over {args.replicates} replicates (demo design, "
        f"{outcome} outcome):"
    )
    for name, hits in inside.items():
        print(f"  {name:24s} {100 * np.mean(hits):5.1f}%")
    every = np.concatenate([np.array(h) for h in inside.values()])
    se = 100 * np.sqrt(0.95 * 0.05 / args.replicates)
    print(f"overall {100 * every.mean():.1f}% (binomial SE per parameter {se:.1f} points); "
          f"{failed} fit(s) failed diagnostics; median {np.median(times):.1f} s per fit "
          f"after one compile of {compiled.compile_seconds:.1f} s")  # fmt: skip


if __name__ == "__main__":
    main()
