"""The same data, seed and settings give the same draws whatever PyTensor's caches hold.

Two processes fit the same tiny model with one PyTensor compile folder: the first finds it
empty and compiles every piece of the log-density, the second loads them from it. With numba's
fastmath on, these gave other draws (LLVM fused and reordered floating-point operations across
pieces compiled together, not across pieces loaded from the cache); bayes compiles without it.
The null model of two nested levels showed the difference; about 50 s, then 25 s.
"""

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow

FIT = """
import hashlib
from sessionmlm.engines.bayes import BayesSettings, fit
from sessionmlm.formula import parse_formula
from sessionmlm.model_data import build_model_data
from sessionmlm.simulate import CohortShape, canonical, simulate_cohort

table = canonical(simulate_cohort(CohortShape(10, 20, 60), seed=2))
data = build_model_data(table, parse_formula("homework ~ 1 + (1 | therapist/client)", "t"), {})
result = fit(data, BayesSettings(chains=2, draws=100, tune=100, max_attempts=1, seed=1))
draws = result.posterior.coefficients.tobytes() + result.posterior.sigma.tobytes()
print(hashlib.sha256(draws).hexdigest(), result.info["wall_seconds"]["compile"])
"""


def _fit_in_new_process(compiledir) -> str:
    """SHA-256 of the draws of a fit in a process with that PyTensor compile folder."""
    run = subprocess.run(
        [sys.executable, "-c", FIT],
        capture_output=True, text=True, timeout=900,
        env=os.environ | {"PYTENSOR_FLAGS": f"base_compiledir={compiledir}"},
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    return run.stdout.split()[0]


def test_draws_do_not_depend_on_what_the_compile_cache_holds(tmp_path):
    compiledir = tmp_path / "pytensor"
    cold = _fit_in_new_process(compiledir)
    assert (compiledir / "numba").is_dir() and any((compiledir / "numba").iterdir())
    warm = _fit_in_new_process(compiledir)
    assert warm == cold
