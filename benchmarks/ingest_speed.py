"""Wall time to ingest and validate a cohort of 1,000,000 sessions (target: under 60 s).

Measured twice: with no `variables:` block (every type and level inferred, as for a cohort
file like the demo's) and with every variable declared.

Builds the file by repeating the demo cohort with fresh ids (so ids stay unique and nested),
then times what the workflow's ingest job does: checking the cohort file, reading the CSV,
mapping codes, validating, pseudonymising and writing the canonical table. Prints each step
and the median of the repeats.

    .venv/bin/python benchmarks/ingest_speed.py [--sessions 1000000] [--repeats 3]
"""

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from sessionmlm.config import load_config
from sessionmlm.ingest import ingest
from sessionmlm.privacy import Privacy

ROOT = Path(__file__).resolve().parents[1]


def big_cohort(folder: Path, n_sessions: int, declared: bool) -> Path:
    demo = pd.read_csv(ROOT / "data" / "demo" / "sessions.csv", dtype=str)
    copies = -(-n_sessions // len(demo))
    big = pd.concat([demo] * copies, ignore_index=True).head(n_sessions)
    copy = np.repeat(np.arange(copies), len(demo))[:n_sessions].astype(str)
    for column in ("therapist_id", "client_id", "session_id"):
        big[column] = big[column].str.cat(copy, sep="-")
    path = folder / "data" / "big.csv"
    path.parent.mkdir(parents=True)
    big.to_csv(path, index=False)
    cohort = yaml.safe_load((ROOT / "config" / "cohorts" / "demo.yaml").read_text())
    # Declared levels, types and ranges: the heaviest validation there is.
    therapist = {"level": "therapist", "type": "numeric"}
    cohort |= {"name": "big", "data": str(path)}
    if not declared:
        (folder / "cohorts").mkdir()
        (folder / "cohorts" / "big.yaml").write_text(yaml.safe_dump(cohort, sort_keys=False))
        return path
    cohort |= {"variables": {
        "child_age": {"level": "client", "type": "numeric", "min": 3, "max": 18},
        "ebp": {"level": "client", "type": "categorical"},
        **{v: therapist for v in ("licensed", "hispanic_latinx", "ebp_attitudes",
                                  "emotional_exhaustion", "direct_hours", "n_ebps_trained")},
    }}  # fmt: skip
    (folder / "cohorts").mkdir()
    (folder / "cohorts" / "big.yaml").write_text(yaml.safe_dump(cohort, sort_keys=False))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    for declared in (False, True):
        measure(args.sessions, args.repeats, declared)


def measure(n_sessions: int, repeats: int, declared: bool) -> None:
    print("variables declared" if declared else "every type and level inferred")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        start = time.perf_counter()
        path = big_cohort(folder, n_sessions, declared)
        print(f"built {path.name}: {n_sessions:,} sessions, "
              f"{path.stat().st_size / 1e6:.0f} MB, in {time.perf_counter() - start:.1f} s")  # fmt: skip
        config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
        config["cohorts_dir"] = str(folder / "cohorts")
        privacy = Privacy(key_env="SESSIONMLM_BENCH_KEY", key_file=str(folder / "key"))
        walls = []
        for i in range(repeats):
            t0 = time.perf_counter()
            cohort = load_config(config, workdir=folder).cohorts["big"]
            t1 = time.perf_counter()
            table, check = ingest(cohort, privacy)
            t2 = time.perf_counter()
            table.to_parquet(folder / "sessions.parquet", index=False)
            t3 = time.perf_counter()
            walls.append(t3 - t0)
            print(f"repeat {i + 1}: {t3 - t0:.1f} s (config {t1 - t0:.1f}, read + validate + "
                  f"pseudonymise {t2 - t1:.1f}, write {t3 - t2:.1f}); {len(table):,} rows, "
                  f"{len(check.problems)} problems, {len(check.warnings)} warnings")  # fmt: skip
        print(f"MEDIAN {statistics.median(walls):.1f} s for {n_sessions:,} sessions "
              "(target < 60 s)")  # fmt: skip


if __name__ == "__main__":
    main()
