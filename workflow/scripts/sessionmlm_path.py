"""Make the package in src/ importable from a workflow script, wherever the job runs.

Snakemake puts this folder on a script's sys.path; the package may not be installed in the job's
environment (a conda env on a cluster), so each script imports this module first.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))
