"""Wall time of a cohort with 40 coded items x 3 templates x (ml, gee), end to end (target: < 5 min).

Builds a temporary project on the demo design (680 sessions, program/therapist/client): the
demo's own sessions, with its ten items re-drawn from the demo truth (simulate_items, the
model the demo's items come from) under `--copies` seeds, 1 being the demo's own codes, so 40
items of the same kinds (five binary, five ordinal per copy). The cohort fits three templates,
null, controls and full, with ml and gee. Then times `snakemake --profile
workflow/profiles/default` from nothing to the report, `--runs` times in fresh folders, and
prints each run's wall time and job count, their median, and `uptime` before and after (other
work on the machine slows it).

    .venv/bin/python benchmarks/many_items.py [--runs 2] [--copies 4] [--workflow DIR]

--workflow runs another checkout's Snakefile (e.g. an older commit's, for a baseline).
"""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml

from sessionmlm.simulate import EBPS
from sessionmlm.simulate_items import simulate_items
from sessionmlm.simulate_parameters import DEMO_TRUTH

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
TEMPLATES = {
    "null": "item ~ 1 + (1 | program/therapist/client)",
    "controls": "item ~ ebp + n_ebps_trained + (1 | program/therapist/client)",
    "full": "item ~ ebp + n_ebps_trained + caregiver_present + stressful_event + child_age"
    " + licensed + ebp_attitudes + emotional_exhaustion + (1 | program/therapist/client)",
}
PREDICTORS = ["child_age", "stressful_event", "licensed", "hispanic_latinx", "ebp_attitudes",
              "emotional_exhaustion", "direct_hours", "n_ebps_trained"]  # fmt: skip


def redrawn_items(demo: pd.DataFrame, seed: int) -> pd.DataFrame:
    """The demo's ten items drawn again from the demo truth on the demo's own sessions."""
    predictors = {name: demo[name].to_numpy(float) for name in PREDICTORS}
    predictors["caregiver_present"] = (demo.caregiver_present == "Y").to_numpy(float)
    predictors |= {f"ebp[{e}]": (demo.ebp == e).to_numpy(float) for e in EBPS[1:]}
    units = []
    for column in ("program_id", "therapist_id", "client_id"):
        codes, uniques = pd.factorize(demo[column])
        units.append((codes, len(uniques)))
    codes, _ = simulate_items(DEMO_TRUTH.coding, predictors, tuple(units), seed)
    return codes.drop(columns="coder_id")


def build(folder: Path, copies: int, ml: dict | None = None) -> int:
    """Write the project into folder; return the number of items."""
    demo = pd.read_csv(ROOT / "data" / "demo" / "sessions.csv")
    cohort = yaml.safe_load((ROOT / "config" / "cohorts" / "demo.yaml").read_text())
    demo_items = cohort["items"]
    table = demo.drop(columns=list(demo_items))
    items = {}
    for copy in range(1, copies + 1):
        codes = demo[list(demo_items)] if copy == 1 else redrawn_items(demo, seed=copy)
        for name, definition in demo_items.items():
            column = f"{name}_{copy}"
            table[column] = codes[name].to_numpy()
            items[column] = definition | {"column": column}
    for key in ("double_coded", "within_between", "predictions", "labels", "outcomes"):
        cohort.pop(key)
    cohort |= {"name": "many", "data": "data/many/sessions.csv", "items": items,
               "models": TEMPLATES, "engines": ["ml", "gee"]}  # fmt: skip
    if ml:
        cohort["ml"] = ml
    (folder / "config" / "cohorts").mkdir(parents=True)
    (folder / "data" / "many").mkdir(parents=True)
    table.to_csv(folder / "data" / "many" / "sessions.csv", index=False)
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    (folder / "config" / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    (folder / "config" / "cohorts" / "many.yaml").write_text(
        yaml.safe_dump(cohort, sort_keys=False)
    )
    return len(items)


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def run_once(
    workflow: Path, copies: int, ml: dict | None = None, keep: Path | None = None
) -> tuple[float, int, dict[str, int]]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        build(folder, copies, ml)
        start = time.perf_counter()
        done = subprocess.run(
            [SNAKEMAKE, "-s", str(workflow / "Snakefile"), "--directory", str(folder),
             "--profile", str(workflow / "workflow" / "profiles" / "default")],
            capture_output=True, text=True, env=os.environ | {"SESSIONMLM_KEY": "benchmark"},
        )  # fmt: skip
        seconds = time.perf_counter() - start
        log = done.stdout + done.stderr
        if keep is not None:  # the project with its logs, to see where the time went
            shutil.copytree(folder, keep, dirs_exist_ok=True)
            (keep / "snakemake.log").write_text(log)
        if done.returncode != 0 or not (folder / "results" / "many" / "report.html").is_file():
            raise SystemExit(f"snakemake failed:\n{log[-4000:]}")
    table = log.split("Job stats:", 1)[1].split("\ntotal", 1)[0]
    per_rule = {rule: int(n) for rule, n in re.findall(r"^(\w+)\s+(\d+)$", table, re.M)}
    return seconds, sum(per_rule.values()), per_rule


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--copies", type=int, default=4, help="copies of the ten demo items")
    parser.add_argument("--workflow", type=Path, default=ROOT, help="checkout to run")
    parser.add_argument(
        "--no-profile",
        action="store_true",
        help="ml: {profile: false} (Wald intervals for the SDs) in the cohort",
    )
    parser.add_argument("--keep", type=Path, help="copy each run's project (logs too) here")  # fmt: skip
    args = parser.parse_args()
    ml = {"profile": False} if args.no_profile else None
    print(f"{args.copies * 10} items x {len(TEMPLATES)} templates x (ml, gee); "
          f"workflow {args.workflow}; {os.cpu_count()} cores"
          f"{'; ml profile intervals off' if ml else ''}")  # fmt: skip
    print(f"before: {uptime()}")
    times = []
    for run in range(args.runs):
        seconds, jobs, per_rule = run_once(
            args.workflow, args.copies, ml, args.keep and args.keep / f"run{run + 1}"
        )
        times.append(seconds)
        print(f"run {run + 1}: {seconds:.0f} s, {jobs} jobs {per_rule}", flush=True)
        print(f"  {uptime()}", flush=True)
    print(f"median of {len(times)} runs: {statistics.median(times):.0f} s "
          f"({'pass' if statistics.median(times) < 300 else 'FAIL'}: target 300 s)")  # fmt: skip


if __name__ == "__main__":
    main()
