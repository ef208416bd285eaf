"""Compare two results/ trees: are the numbers the same, timings and versions apart?

    .venv/bin/python benchmarks/compare_outputs.py OLD/results NEW/results [--rtol 0]

Compares every estimates.csv, variance.csv and fit.json of each (cohort, model, engine), the
tables beside each report (model_comparison, predicted_probabilities, loo_comparison,
prior_sensitivity), cohort_comparison.csv, descriptives.json and validation.json. fit.json is
compared without what changes from run to run: wall_seconds, versions, the seconds of each
sampling attempt, the date and time lines of the statsmodels summary, and the settings' cores
(the machine's). Prints one line per difference and exits 1 if there is any, 0 if none.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

import pandas as pd

CSV_NAMES = ("estimates.csv", "variance.csv", "model_comparison.csv",
             "predicted_probabilities.csv", "loo_comparison.csv", "prior_sensitivity.csv",
             "cohort_comparison.csv")  # fmt: skip
JSON_NAMES = ("fit.json", "descriptives.json", "validation.json")
RUN_TO_RUN = {"wall_seconds", "versions"}  # fit.json keys that differ between identical runs


def comparable_files(root: Path) -> set[Path]:
    """Every compared file under root, relative to it."""
    return {p.relative_to(root) for p in root.rglob("*") if p.name in CSV_NAMES + JSON_NAMES}


def without_run_details(value: Any, key: str = "") -> Any:
    """A fit.json record without timings, versions and the summary's date and time."""
    if isinstance(value, dict):
        return {k: without_run_details(v, k) for k, v in value.items()
                if k not in RUN_TO_RUN and k != "seconds"}  # fmt: skip
    if isinstance(value, list):
        if key == "summary":  # statsmodels prints when it ran
            return [line for line in value if not line.startswith(("Date:", "Time:"))]
        return [without_run_details(v) for v in value]
    return value


def same_number(a: Any, b: Any, rtol: float) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        try:
            a, b = float(a), float(b)
        except (TypeError, ValueError):
            return a == b
        if math.isnan(a) and math.isnan(b):
            return True
        return a == b or abs(a - b) <= rtol * max(abs(a), abs(b))
    return a == b


def json_differences(old: Any, new: Any, where: str, rtol: float) -> list[str]:
    """Paths inside two JSON values where they differ."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = [f"{where}.{k}: only in {'old' if k in old else 'new'}"
               for k in sorted(set(old) ^ set(new))]  # fmt: skip
        for k in old:
            if k in new:
                out += json_differences(old[k], new[k], f"{where}.{k}", rtol)
        return out
    if isinstance(old, list) and isinstance(new, list):
        if len(old) != len(new):
            return [f"{where}: {len(old)} items, now {len(new)}"]
        return [d for i, (a, b) in enumerate(zip(old, new, strict=True))
                for d in json_differences(a, b, f"{where}[{i}]", rtol)]  # fmt: skip
    return [] if same_number(old, new, rtol) else [f"{where}: {old!r} -> {new!r}"]


def csv_differences(old: Path, new: Path, where: str, rtol: float) -> list[str]:
    """Columns and cells where two CSV tables differ."""
    a = pd.read_csv(old, keep_default_na=False, na_values=[""])
    b = pd.read_csv(new, keep_default_na=False, na_values=[""])
    if list(a.columns) != list(b.columns):
        return [f"{where}: columns {list(a.columns)} -> {list(b.columns)}"]
    if len(a) != len(b):
        return [f"{where}: {len(a)} rows -> {len(b)}"]
    out = []
    for column in a.columns:
        for row, (x, y) in enumerate(zip(a[column], b[column], strict=True)):
            if not same_number(x, y, rtol) and not (pd.isna(x) and pd.isna(y)):
                out.append(f"{where}: row {row + 1}, {column}: {x!r} -> {y!r}")
    return out


def compare(old_root: Path, new_root: Path, rtol: float = 0.0) -> list[str]:
    """Every difference between two results/ trees, one line each."""
    old_files, new_files = comparable_files(old_root), comparable_files(new_root)
    out = [f"{p}: only in {old_root}" for p in sorted(old_files - new_files)]
    out += [f"{p}: only in {new_root}" for p in sorted(new_files - old_files)]
    for relative in sorted(old_files & new_files):
        old, new = old_root / relative, new_root / relative
        if relative.suffix == ".csv":
            out += csv_differences(old, new, str(relative), rtol)
        else:
            a, b = json.loads(old.read_text()), json.loads(new.read_text())
            if relative.name == "fit.json":
                a, b = without_run_details(a), without_run_details(b)
            out += json_differences(a, b, str(relative), rtol)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", type=Path, help="results/ of the reference run")
    parser.add_argument("new", type=Path, help="results/ of the run to check")
    parser.add_argument("--rtol", type=float, default=0.0, help="relative tolerance (0: exact)")
    args = parser.parse_args(argv)
    differences = compare(args.old, args.new, args.rtol)
    files = len(comparable_files(args.old) | comparable_files(args.new))
    for line in differences:
        print(line)
    print(f"{files} files compared: {len(differences)} difference(s)")
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
