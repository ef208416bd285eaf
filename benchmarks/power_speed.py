"""Wall time of a design simulation: 1,000 replicates of the demo design, locally and on SLURM.

The demo design is the reference study's (103 therapists, 274 clients, 680 sessions); each
replicate is simulated and fitted with the ml engine (three predictors, 12 points, no
profile intervals), 50 replicates per job. The same design also runs as one-replicate jobs to
measure what each job costs besides its fits: locally (a new Python process, imports, the
compiled kernels loaded from cache) and through SLURM (sbatch, the scheduler, the plugin's
polling). SLURM runs need a cluster: start the local one with
`bash tests/slurm/local_slurm.sh start` (root, Debian).

    .venv/bin/python benchmarks/power_speed.py [--replicates 1000] [--repeats 3] [--no-slurm]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
DESIGN = {
    "formula": "homework ~ caregiver_present + child_age + licensed + (1 | therapist/client)",
    "study": {"odds_ratios": {"licensed": 0.55, "caregiver_present": 2.1, "child_age": 1.08}},
    "seed": 7,
    "ml": {"points": 12, "profile": False},
}


def project(folder: Path, replicates: int, per_job: int) -> Path:
    """A copy of the demo project whose only design is the demo design."""
    (folder / "config").mkdir(parents=True)
    shutil.copytree(ROOT / "config" / "cohorts", folder / "config" / "cohorts")
    shutil.copytree(ROOT / "data" / "demo", folder / "data" / "demo")
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    config["designs"] = {"demo": DESIGN | {"replicates": replicates, "replicates_per_job": per_job}}
    (folder / "config" / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return folder


# The local single-node SLURM has no accounting database: the plugin must poll squeue.
LOCAL_SLURM = ["--slurm-status-command", "squeue", "--slurm-init-seconds-before-status-checks",
               "1", "--seconds-between-status-checks", "2"]  # fmt: skip


def run(folder: Path, profile: str) -> float:
    """Seconds for `snakemake designs` from nothing to power.html."""
    extra = LOCAL_SLURM if profile == "slurm" else []
    start = time.perf_counter()
    done = subprocess.run(
        [SNAKEMAKE, "-s", str(ROOT / "Snakefile"), "--directory", str(folder),
         "--profile", str(ROOT / "workflow" / "profiles" / profile), *extra, "designs"],
        capture_output=True, text=True,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{profile} run failed:\n{done.stderr[-3000:]}")
    return seconds


def run_times(profile: str, replicates: int, per_job: int, repeats: int) -> list[float]:
    """Seconds of each of `repeats` runs from nothing, each in a fresh project."""
    times = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as tmp:
            times.append(run(project(Path(tmp) / "p", replicates, per_job), profile))
    return times


def cores() -> int:
    """The cores jobs run on: the default profile's `cores: all` and the local SLURM node
    (tests/slurm/local_slurm.sh gives it `nproc` CPUs) both take every core this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--overhead-jobs", type=int, default=20)
    parser.add_argument("--no-slurm", action="store_true")
    args = parser.parse_args()
    profiles = ["default"] + ([] if args.no_slurm else ["slurm"])
    print(f"{args.replicates} replicates of the demo design, 50 per job "
          f"({-(-args.replicates // 50)} jobs), {args.repeats} repeats:")  # fmt: skip
    for profile in profiles:
        t = run_times(profile, args.replicates, 50, args.repeats)
        print(f"  {profile:8s} median {statistics.median(t):6.1f} s  "
              f"(runs {', '.join(f'{x:.1f}' for x in t)})")  # fmt: skip
    n = args.overhead_jobs
    print(f"per-job overhead: {n} one-replicate jobs, {args.repeats} repeats:")
    for profile in profiles:
        t = run_times(profile, n, 1, args.repeats)
        per_job = statistics.median(t) / n
        print(f"  {profile:8s} median {statistics.median(t):6.1f} s for {n} jobs on {cores()} cores: "
              f"{per_job:.2f} s of wall time per one-replicate job")  # fmt: skip


if __name__ == "__main__":
    main()
