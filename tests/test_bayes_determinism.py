"""The same data, seed and settings give the same draws whatever the compile caches hold.

Two processes fit the same tiny model with one compile folder: the first finds it empty and
compiles the log-density, the second loads it. For the PyMC model (PyTensor's folder): with
numba's fastmath on, these gave other draws (LLVM fused and reordered floating-point operations
across pieces compiled together, not across pieces loaded from the cache); bayes compiles
without it. The null model of two nested levels showed the difference; about 50 s, then 25 s.
The hand-written log density of random-intercept models (density.py) is cached by numba
(NUMBA_CACHE_DIR): the same holds for it.
"""

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow

FIT = """
import hashlib
import sys
from sessionmlm.engines.bayes import BayesSettings, fit
from sessionmlm.formula import parse_formula
from sessionmlm.model_data import build_model_data
from sessionmlm.simulate import CohortShape, canonical, simulate_cohort

table = canonical(simulate_cohort(CohortShape(10, 20, 60), seed=2))
data = build_model_data(table, parse_formula("homework ~ 1 + (1 | therapist/client)", "t"), {})
settings = BayesSettings(chains=2, draws=100, tune=100, max_attempts=1, seed=1)
if sys.argv[1] == "pymc":
    from sessionmlm.engines.bayes.model import compile_pymc

    result = fit(data, settings, compiled=compile_pymc(data, settings))
else:
    result = fit(data, settings)
draws = result.posterior.coefficients.tobytes() + result.posterior.sigma.tobytes()
print(hashlib.sha256(draws).hexdigest(), result.info["wall_seconds"]["compile"])
"""


def _fit_in_new_process(path: str, cache) -> str:
    """SHA-256 of the draws of a fit in a new process whose compile folder is cache."""
    env = {"PYTENSOR_FLAGS": f"base_compiledir={cache}"} if path == "pymc" else {}
    run = subprocess.run(
        [sys.executable, "-c", FIT, path],
        capture_output=True, text=True, timeout=900,
        env=os.environ | env | ({} if path == "pymc" else {"NUMBA_CACHE_DIR": str(cache)}),
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    return run.stdout.split()[0]


@pytest.mark.parametrize("path", ["pymc", "hand-written"])
def test_draws_do_not_depend_on_what_the_compile_cache_holds(tmp_path, path):
    cache = tmp_path / "cache"
    cold = _fit_in_new_process(path, cache)
    filled = cache / "numba" if path == "pymc" else cache
    assert filled.is_dir() and any(
        p.is_file() for p in filled.rglob("*")
    )  # the first process wrote the cache
    warm = _fit_in_new_process(path, cache)
    assert warm == cold
