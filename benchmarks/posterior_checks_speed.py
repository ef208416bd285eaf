"""Wall time of each part of the posterior checks of one demo bayes fit, binary and ordinal.

Fits the demo cohort's `full` model (binary) and `extensiveness_full` (ordinal) once each with
the engine's default settings, saves nothing, then times every part of
checks.posterior_checks and ordinal_checks.ordinal_posterior_checks with time.perf_counter
(the median of --repeats runs; the first run of each also compiles or loads numba's cache,
reported apart), and the whole call as the fit job makes it. Prints the machine's load
average too: the figures are only comparable at similar load.

    .venv/bin/python benchmarks/posterior_checks_speed.py [--repeats 5]
"""

import argparse
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import yaml

from sessionmlm import checks, ordinal_checks
from sessionmlm.config import load_config
from sessionmlm.engines.bayes import fit
from sessionmlm.ingest import ingest
from sessionmlm.model_data import build_model_data
from sessionmlm.posterior import linear_predictor
from sessionmlm.sensitivity import prior_sensitivity


def timed(parts: dict[str, list[float]], name: str, run: Callable[[], Any]) -> Any:
    start = time.perf_counter()
    out = run()
    parts.setdefault(name, []).append(time.perf_counter() - start)
    return out


def binary_parts(table, data, post, categorical, min_cell, seed, parts) -> None:
    joint = timed(parts, "joint draws", post.joint)
    eta = timed(parts, "linear predictor (S, n)", lambda: linear_predictor(data, joint))
    # With its outer linear predictor, the (S, J) log-likelihoods and (S, n) new-unit
    # probabilities.
    loglik, new_unit = timed(parts, "unit loglik (S, J)", lambda: checks.unit_loglik(data, joint))
    loo = timed(parts, "psis_loo", lambda: checks.psis_loo(loglik))
    units = data.unit_of_session[-1]
    prob = timed(
        parts,
        "LOO-weighted probability",
        lambda: np.einsum("is,si->i", np.exp(loo["log_weights"])[units], new_unit),
    )
    timed(
        parts,
        "predictive checks",
        lambda: checks.predictive_checks(table, data, eta, categorical, min_cell, seed),
    )
    timed(parts, "calibration", lambda: checks.calibration(data.y, prob, min_cell))
    ids = data.unit_ids[-1]
    timed(parts, "loo summary", lambda: checks.loo_summary(loo, data.groups[-1], ids))
    timed(parts, "prior sensitivity", lambda: prior_sensitivity(post, list(data.terms)))


def ordinal_parts(table, data, post, categorical, min_cell, seed, parts) -> None:
    oc = ordinal_checks
    joint = timed(parts, "joint draws", post.joint)
    eta = timed(parts, "linear predictor (S, n)", lambda: linear_predictor(data, joint))
    loglik = timed(parts, "unit loglik (S, J)", lambda: oc.ordinal_unit_loglik(data, joint))
    loo = timed(parts, "psis_loo", lambda: checks.psis_loo(loglik))
    timed(
        parts,
        "predictive checks",
        lambda: oc.ordinal_predictive_checks(
            table, data, eta, joint.thresholds, categorical, min_cell, seed
        ),
    )
    timed(
        parts,
        "threshold calibration",
        lambda: oc.threshold_calibration(data, joint, loo["log_weights"], min_cell),
    )
    ids = data.unit_ids[-1]
    timed(parts, "loo summary", lambda: checks.loo_summary(loo, data.groups[-1], ids))
    timed(parts, "prior sensitivity", lambda: prior_sensitivity(post, list(data.terms)))


def accuracy(data, post, unit_loglik) -> None:
    """What fewer quadrature points or kept draws would change in PSIS-LOO, on this fit.

    Quadrature: each Q against Q = 61 (per unit and draw, and elpd_loo). Draws: LOO from each
    half of the kept draws (every other one) against all of them.
    """
    joint = post.joint()
    best = unit_loglik(data, joint, 61)
    best_elpd = checks.psis_loo(best)["elpd"]
    for points in (7, 11, 15, 21, 31):
        ll = unit_loglik(data, joint, points)
        elpd = checks.psis_loo(ll)["elpd"]
        print(
            f"  Q = {points:2d} against 61: max |log-lik| difference {np.abs(ll - best).max():.1e}, "
            f"pointwise elpd {np.abs(elpd - best_elpd).max():.1e}, "
            f"elpd_loo {abs(elpd.sum() - best_elpd.sum()):.1e}"
        )
    ll = unit_loglik(data, joint, checks.QUADRATURE_POINTS)
    for name, rows in (("all", slice(None)), ("half a", slice(0, None, 2)),
                       ("half b", slice(1, None, 2))):  # fmt: skip
        loo = checks.psis_loo(ll[rows])
        summary = checks.loo_summary(loo, "unit", np.arange(ll.shape[1]))
        print(
            f"  {name:6s} {ll[rows].shape[0]:5d} draws: elpd_loo {summary['elpd']:.2f} "
            f"(SE {summary['se']:.2f}), p_loo {summary['p_loo']:.2f}, max k "
            f"{summary['k_max']:.2f}, k > {summary['k_threshold']:.2f}: {summary['k_bad']}"
        )


def report(title: str, parts: dict[str, list[float]], whole: list[float]) -> None:
    print(f"\n{title}")
    for name, seconds in parts.items():
        first = f" (first run {seconds[0]:.3f})" if len(seconds) > 1 else ""
        print(f"  {name:28s} {statistics.median(seconds[1:] or seconds):7.3f} s{first}")
    print(
        f"  {'sum of parts':28s} {sum(statistics.median(s[1:] or s) for s in parts.values()):7.3f} s"
    )
    print(f"  {'posterior_checks (whole)':28s} {statistics.median(whole):7.3f} s (runs: "
          + ", ".join(f"{w:.2f}" for w in whole) + ")")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    config = load_config(yaml.safe_load(open("config/config.yaml")))
    cohort = config.cohorts["demo"]
    table, _ = ingest(cohort, config.privacy)
    levels = tuple(cohort.levels)
    categorical = checks.categorical_columns(table, cohort.reference, levels)
    min_cell = config.privacy.min_cell
    for model, split in (("full", binary_parts), ("extensiveness_full", ordinal_parts)):
        data = build_model_data(table, cohort.models[model], cohort.reference)
        start = time.perf_counter()
        result = fit(data, cohort.engine_settings["bayes"], threads=2)
        post, seed = result.posterior, result.info["seed"]
        print(
            f"{model}: fit {time.perf_counter() - start:.1f} s, {len(post.sigma)} draws, "
            f"{len(post.kept)} kept, {len(data.y)} sessions, units "
            f"{dict(zip(data.groups, data.n_units, strict=True))}; load {os.getloadavg()}"
        )
        parts: dict[str, list[float]] = {}
        whole = []
        for _ in range(args.repeats):
            split(table, data, post, categorical, min_cell, seed, parts)
            start = time.perf_counter()
            checks.posterior_checks(table, data, post, categorical, min_cell, seed)
            whole.append(time.perf_counter() - start)
        report(f"{model}, median of {args.repeats} runs after the first:", parts, whole)
        print(f"{model}: accuracy of the quadrature and of fewer draws")
        if data.ordinal:
            accuracy(data, post, ordinal_checks.ordinal_unit_loglik)
        else:
            accuracy(data, post, lambda d, p, q: checks.unit_loglik(d, p, q)[0])
        print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
