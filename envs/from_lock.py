"""Write envs/sessionmlm.yaml (for `snakemake --sdm conda` on clusters) from requirements.lock.

The conda environment gets the same Python minor version and the exact pins of the lock, so a
cluster job runs the same package set as a laptop. `make lock` runs this; a test checks that the
two files agree.
"""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s\\;]+)")


def pins(lock_text: str) -> list[str]:
    """Every `name==version` line of a pip-compile lock, in order."""
    return [f"{m[1]}=={m[2]}" for line in lock_text.splitlines() if (m := PIN.match(line))]


def render(lock_text: str) -> str:
    """The conda environment file for the given lock."""
    lines = [
        "# Generated from requirements.lock by envs/from_lock.py: do not edit by hand.",
        "name: sessionmlm",
        "channels:",
        "  - conda-forge",
        "dependencies:",
        "  - python=3.12",
        "  - pip",
        "  - pip:",
    ]
    lines += [f"      - {pin}" for pin in pins(lock_text)]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    out = ROOT / "envs" / "sessionmlm.yaml"
    out.write_text(render((ROOT / "requirements.lock").read_text()))
    print(f"wrote {out}", file=sys.stderr)
