"""Coverage of the Bayesian engine's 95% intervals over simulated cohorts of the demo design.

Compiles the model once and reuses it for every replicate (same shapes, new data), which is
also the measure of what compile reuse buys. Prints coverage per parameter and overall.
With --structure slope|programs|crossed the cohorts are simulate_structures.py's designs (a
correlated random slope of caregiver_present over therapists, four levels, crossed clients),
their random slopes' SDs and correlations measured too. With --ordinal the outcome has four
categories, drawn from the same model's latent logistic
variable cut at known thresholds (logit P(y <= k) = threshold_k - eta), and their coverage is
measured too.

    .venv/bin/python benchmarks/bayes_coverage.py [--replicates 100] [--ordinal]
        [--structure demo|slope|programs|crossed]
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
from sessionmlm.simulate_structures import Structure, simulate_structure

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


# --structure: designs of simulate_structures.py, with their true parameters.
STRUCTURES = {
    "slope": Structure(
        therapists=150, clients_per_therapist=4, sessions_per_client=6, slope_sd=0.9,
        correlation=-0.6, sd={"therapist": 0.8, "client": 0.5},
    ),
    "programs": Structure(programs=20, therapists=120, clients_per_therapist=4,
                          sessions_per_client=5),
    "crossed": Structure(therapists=80, clients_per_therapist=5, sessions_per_client=6,
                         crossed=0.35, sd={"therapist": 0.8, "client": 0.9}),
}  # fmt: skip


def demo_replicate(seed: int, ordinal: bool) -> tuple:
    """The demo design's data and truth (coefficients, sds, thresholds, correlations)."""
    shape, truth = CohortShape(), TrueParameters()
    record = truth_record(shape, truth, 0)
    table = canonical(simulate_cohort(shape, truth, seed))
    data = build_model_data(table, parse_formula(FULL, "full"), {"ebp": "MAP"})
    if ordinal:
        data = ordinal_version(data, record, seed)
    sds = {level: true["sd"] for level, true in record["variance"].items()}
    return data, record["coefficients"], sds, THRESHOLDS if ordinal else (), {}


def structure_replicate(name: str, seed: int, ordinal: bool) -> tuple:
    """A simulate_structures design's data and truth, as demo_replicate."""
    s = STRUCTURES[name]
    if ordinal:
        s = dataclasses.replace(s, thresholds=THRESHOLDS)
    data = build_model_data(simulate_structure(s, seed), s.spec(), {})
    coefficients = {"Intercept": s.intercept, **s.coefficients}
    sds = {g: s.sd[g] for g in s.groups}
    correlations = {}
    if s.slope_sd:
        sds["therapist:caregiver_present"] = s.slope_sd
        correlations["therapist Intercept, caregiver_present"] = s.correlation
    return data, coefficients, sds, s.thresholds, correlations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=100)
    parser.add_argument("--first-seed", type=int, default=1000)
    parser.add_argument("--ordinal", action="store_true", help="an ordinal outcome (4 categories)")
    parser.add_argument(
        "--structure", choices=["demo", *STRUCTURES], default="demo",
        help="demo: the demo design; slope: a correlated random slope of caregiver_present over "
        "therapists; programs: four levels; crossed: clients seeing two therapists",
    )  # fmt: skip
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    settings = BayesSettings()  # the defaults users get
    inside: dict[str, list[bool]] = {}
    compiled, times, failed = None, [], 0

    def record(name: str, low: float, value: float, high: float) -> None:
        inside.setdefault(name, []).append(bool(low <= value <= high))

    for r in range(args.replicates):
        seed = args.first_seed + r
        if args.structure == "demo":
            data, coefficients, sds, cuts_true, corr_true = demo_replicate(seed, args.ordinal)
        else:
            data, coefficients, sds, cuts_true, corr_true = structure_replicate(
                args.structure, seed, args.ordinal
            )
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
        for term, value in coefficients.items():
            if term in est.index:  # an ordinal outcome has no intercept
                record(term, est.ci_low[term], value, est.ci_high[term])
        if cuts_true:
            cuts = result.thresholds.set_index("threshold")
            for name, value in zip(data.threshold_names, cuts_true, strict=True):
                record(f"threshold {name}", cuts.ci_low[name], value, cuts.ci_high[name])
        var = result.variance.set_index("level")
        for level, value in sds.items():
            record(f"sd {level}", var.sd_low[level], value, var.sd_high[level])
        for c in result.info.get("correlations", []):
            name = f"{c['level']} {', '.join(c['terms'])}"
            record(f"correlation {name}", c["ci_low"], corr_true[name], c["ci_high"])
        if (r + 1) % 10 == 0:
            print(f"{r + 1} replicates, median {np.median(times):.1f} s per fit", flush=True)
    outcome = "ordinal" if args.ordinal else "binary"
    print(
        f"\ncoverage of 95% intervals over {args.replicates} replicates ({args.structure} design, "
        f"{outcome} outcome):"
    )
    for name, hits in inside.items():
        print(f"  {name:40s} {100 * np.mean(hits):5.1f}%")
    every = np.concatenate([np.array(h) for h in inside.values()])
    se = 100 * np.sqrt(0.95 * 0.05 / args.replicates)
    print(f"overall {100 * every.mean():.1f}% (binomial SE per parameter {se:.1f} points); "
          f"{failed} fit(s) failed diagnostics; median {np.median(times):.1f} s per fit "
          f"after one compile of {compiled.compile_seconds:.1f} s")  # fmt: skip


if __name__ == "__main__":
    main()
