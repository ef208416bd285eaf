"""Wall time of one full demo-model fit with the Bayesian engine, as a user's job sees it.

Each repeat is a fresh Python process (imports, model and its log density, sampling,
diagnostics), the way a Snakemake job runs, importing this checkout's package. Each repeat
fits the demo model twice, in turn: to the demo's binary outcome and to an ordinal one (four
categories) made from a latent logistic variable on the same sessions and design. Prints every
fit, the medians of each outcome and the ratio ordinal / binary. Each fit also runs the
job's posterior checks; each repeat also times the peer, plain PyMC + nutpie (4 chains x 1,000
draws) on the same model in a fresh process, and the binary job's ratio to it is printed.

    .venv/bin/python benchmarks/bayes_speed.py [--repeats 3] [--model full]
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
import yaml, nutpie, arviz_stats  # what a job imports (PyMC only for random slopes)
from sessionmlm.config import load_config
from sessionmlm.model_data import build_model_data
from sessionmlm.engines.bayes import fit
from sessionmlm.ingest import ingest
t_import = time.perf_counter() - t0
config = load_config(yaml.safe_load(open("config/config.yaml")))
cohort = config.cohorts["demo"]
table, _ = ingest(cohort, config.privacy)
data = build_model_data(table, cohort.models[sys.argv[1]], cohort.reference)
if sys.argv[2] == "ordinal":
    # The demo's own generating model (truth.json) with logistic noise, cut into four
    # categories at fixed shares: same sessions, design and predictors as the binary fit.
    import dataclasses
    import numpy as np
    truth = json.load(open("data/demo/truth.json"))
    rng = np.random.default_rng(20261122)
    latent = data.X @ np.array([truth["coefficients"][t] for t in data.terms])
    for group, units, n in zip(data.groups, data.unit_of_session, data.n_units):
        latent = latent + truth["variance"][group]["sd"] * rng.standard_normal(n)[units]
    latent = latent + rng.logistic(size=len(latent))
    y = np.searchsorted(np.quantile(latent, [0.35, 0.6, 0.8]), latent).astype(float)
    data = dataclasses.replace(data, y=y, outcome_type="ordinal", categories=("1", "2", "3", "4"))
result = fit(data, cohort.engine_settings["bayes"], threads=2)
info = result.info
# The job's posterior checks (engines/bayes _posterior_checks), as the fit job runs them.
from sessionmlm.checks import categorical_columns, posterior_checks
t_checks = time.perf_counter()
posterior_checks(table, data, result.posterior,
                 categorical_columns(table, cohort.reference, tuple(cohort.levels)), 10,
                 seed=info["seed"])
t_checks = time.perf_counter() - t_checks
print(json.dumps({
    "wall": time.perf_counter() - t0, "imports": t_import, "checks": t_checks,
    "compile": info["wall_seconds"]["compile"], "sampling": info["wall_seconds"]["sampling"],
    "attempts": len(info["attempts"]), "converged": info["converged"],
    "kept": info["attempts"][-1].get("kept_draws", info["attempts"][-1]["draws"]),
    "chains": info["settings"]["chains"],
    **{k: info["diagnostics"][k] for k in ("max_rhat", "min_ess_bulk", "min_ess_tail", "divergences")},
}))
"""

# The peer: plain PyMC + nutpie on the same model (sessionmlm's build_model, the reference for
# the hand-written density), 4 chains x 1,000 draws after nutpie's default warm-up, in a fresh
# process: imports, nutpie's compile, sampling; no checks.
PEER = """
import json, sys, time
t0 = time.perf_counter()
import yaml, pymc, nutpie
from sessionmlm.config import load_config
from sessionmlm.model_data import build_model_data
from sessionmlm.ingest import ingest
from sessionmlm.engines.bayes.model import build_model
from sessionmlm.engines.bayes.settings import BayesSettings
config = load_config(yaml.safe_load(open("config/config.yaml")))
cohort = config.cohorts["demo"]
table, _ = ingest(cohort, config.privacy)
data = build_model_data(table, cohort.models[sys.argv[1]], cohort.reference)
compiled = nutpie.compile_pymc_model(build_model(data, BayesSettings()))
trace = nutpie.sample(compiled, chains=4, draws=1000, seed=1, progress_bar=False)
print(json.dumps({"wall": time.perf_counter() - t0}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--model", default="full")
    args = parser.parse_args()
    # The package of this checkout, not whichever one the environment has installed.
    env = {"SESSIONMLM_KEY": "benchmark", "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT / "src")}
    runs: dict[str, list[dict]] = {"binary": [], "ordinal": []}
    peer = []
    for i in range(args.repeats):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", PEER, args.model], cwd=ROOT, capture_output=True,
                       text=True, check=True, env=env)  # fmt: skip
        peer.append(time.perf_counter() - start)
        print(f"repeat {i + 1} peer (plain PyMC + nutpie, binary): process {peer[-1]:.1f} s")
        for outcome, done in runs.items():  # in turn, so both see the same machine load
            start = time.perf_counter()
            out = subprocess.run(
                [sys.executable, "-c", ONE_FIT, args.model, outcome], cwd=ROOT,
                capture_output=True, text=True, check=True, env=env,
            )  # fmt: skip
            run = json.loads(out.stdout.strip().splitlines()[-1])
            run["process"] = time.perf_counter() - start
            done.append(run)
            print(
                f"repeat {i + 1} {outcome:7s}: process {run['process']:.1f} s (checks "
                f"{run['checks']:.1f}, imports "
                f"{run['imports']:.1f}, compile {run['compile']:.1f}, sampling "
                f"{run['sampling']:.1f} over {run['attempts']} attempt(s), {run['chains']} x {run['kept']} draws "
                f"kept); max R-hat "
                f"{run['max_rhat']:.3f}, min ESS bulk {run['min_ess_bulk']:.0f}, tail "
                f"{run['min_ess_tail']:.0f}, {run['divergences']} divergences, converged "
                f"{run['converged']}",
                flush=True,
            )
    keys = ("process", "imports", "compile", "sampling", "checks", "min_ess_bulk", "min_ess_tail",
            "max_rhat")  # fmt: skip
    med = {o: {k: statistics.median(r[k] for r in done) for k in keys} for o, done in runs.items()}
    for outcome, m in med.items():
        print(
            f"{outcome} median of {len(runs[outcome])}: wall {m['process']:.1f} s = imports "
            f"(nutpie, package) {m['imports']:.1f} + compile {m['compile']:.1f} + sampling "
            f"{m['sampling']:.1f} + checks {m['checks']:.1f} + rest; min ESS bulk {m['min_ess_bulk']:.0f}, tail "
            f"{m['min_ess_tail']:.0f}; max R-hat {m['max_rhat']:.3f}; all converged: "
            f"{all(r['converged'] for r in runs[outcome])}"
        )
    b, o = med["binary"], med["ordinal"]
    p = statistics.median(peer)
    print(
        f"binary job against the peer (plain PyMC + nutpie, 4 x 1,000 draws, no checks): "
        f"{b['process']:.1f} s / {p:.1f} s = {b['process'] / p:.2f} (target: <= 5 s and <= 0.5)"
    )
    print(
        f"ordinal / binary: wall {o['process'] / b['process']:.2f}x, compile "
        f"{o['compile'] / b['compile']:.2f}x, sampling {o['sampling'] / b['sampling']:.2f}x "
        "(target: wall within 1.5x)"
    )


if __name__ == "__main__":
    main()
