"""The ml engine against glmmTMB (Laplace) on the demo model, at 680 and 100,000 sessions.

Issue 17 item 3: our fit, 12-point adaptive quadrature with profile-likelihood intervals for
the SDs, should take at most 0.7x glmmTMB's time at 680 sessions and 0.5x at 100,000. Both
fit the same simulated cohort (the demo's shape, ml_speed.cohort) in the same run, each
repeat in turn; glmmTMB runs in one R process per size (Debian's r-cran-glmmtmb, for this
benchmark only; R is not part of the product), timed inside R around glmmTMB() alone, after one
warm-up fit, so R's start-up, package loading and first-call costs are not counted against it. Our time is ml.fit's whole
wall time in a warm process (kernels loaded). Prints every repeat, medians and the ratio.

    .venv/bin/python benchmarks/ml_vs_glmmtmb.py [--repeats 5] [--sizes 680 100000]
"""

import argparse
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
from ml_speed import FULL, cohort

from sessionmlm.engines import ml

R_SCRIPT = r"""
suppressMessages(library(glmmTMB))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
d$therapist <- factor(d$therapist); d$client <- factor(d$client)
terms <- setdiff(names(d), c("y", "therapist", "client"))
f <- as.formula(paste("y ~", paste(terms, collapse = " + "), "+ (1 | therapist/client)"))
for (i in seq_len(as.integer(args[2]))) {
  t <- system.time(m <- glmmTMB(f, data = d, family = binomial))[["elapsed"]]
  cat(sprintf("%.4f %.6f\n", t, as.numeric(logLik(m))))
}
"""


def write_csv(data, path: Path) -> None:
    """The model's design as R reads it: outcome, numeric predictor columns, unit codes."""
    columns = {"y": data.y}
    for k in range(len(data.terms)):
        columns[f"x{k}"] = data.X[:, k]
    columns["therapist"], columns["client"] = data.unit_of_session[0], data.unit_of_session[1]
    header = ",".join(columns)
    np.savetxt(path, np.column_stack(list(columns.values())), delimiter=",", header=header,
               comments="", fmt="%.10g")  # fmt: skip


def glmmtmb(path: Path, repeats: int, workdir: Path) -> list[tuple[float, float]]:
    script = workdir / "fit.R"
    script.write_text(R_SCRIPT)
    out = subprocess.run(["Rscript", str(script), str(path), str(repeats)], capture_output=True,
                         text=True, check=True)  # fmt: skip
    return [tuple(map(float, line.split())) for line in out.stdout.split("\n") if line.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--sizes", type=int, nargs="+", default=[680, 100_000])
    args = parser.parse_args()
    print(f"model: {FULL}")
    targets = {680: 0.7, 100_000: 0.5}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        for n in args.sizes:
            data = cohort(n)
            path = workdir / f"cohort{n}.csv"
            write_csv(data, path)
            ml.fit(data, {"profile": False})  # warm-up: the kernels load
            ours, peer = [], []
            fits = glmmtmb(path, args.repeats + 1, workdir)[1:]  # the first is the warm-up
            for k in range(args.repeats):
                start = time.perf_counter()
                result = ml.fit(data, {"points": 12})
                ours.append(time.perf_counter() - start)
                seconds, loglik = fits[k]
                peer.append(seconds)
                print(f"  {n} sessions, repeat {k + 1}: sessionmlm {ours[-1]:.3f} s "
                      f"({result.info['wall_seconds']}), loglik {result.info['loglik']:.3f} "
                      f"(12-point AGQ); glmmTMB {seconds:.3f} s, loglik {loglik:.3f} (Laplace)",
                      flush=True)  # fmt: skip
            ratio = statistics.median(ours) / statistics.median(peer)
            target = targets.get(n)
            met = target is not None and ratio <= target
            verdict = (
                "" if target is None else f"; target <= {target} ({'met' if met else 'MISSED'})"
            )
            print(f"{n} sessions: MEDIAN sessionmlm {statistics.median(ours):.3f} s, glmmTMB "
                  f"{statistics.median(peer):.3f} s, ratio {ratio:.2f}{verdict}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
