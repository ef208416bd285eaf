"""numba's on-disk cache of the ml kernels follows an edit of any kernel file.

The package is copied into a temporary folder, the likelihood is evaluated once (filling the
cache), a helper in quadrature_modes.py, which the kernels of quadrature_therapist.py inline,
is edited, and the likelihood is evaluated again in a new process with the same cache: it
must be the edited code's value.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sessionmlm.kernel_cache import kernel_files

from .conftest import ROOT

pytestmark = pytest.mark.slow

LOGLIK = """
import numpy as np
from sessionmlm.engines.ml.quadrature import NestedQuadrature, nesting_from_codes

rng = np.random.default_rng(0)
therapist = np.repeat(np.arange(6), 12)
client = np.repeat(np.arange(24), 3)
y = (rng.random(72) < 0.4).astype(np.float64)
order, nesting = nesting_from_codes(therapist, client)
quadrature = NestedQuadrature(y[order], nesting, 5, 5)
print(repr(quadrature.evaluate(np.full(72, -0.3), 0.8, 0.5)[0]), int((y == 0).sum()))
"""

# _node, the log-probability at a quadrature node (inlined in quadrature_therapist.py only):
# a session with y = 0 loses 0.01 there. The modes (found with _session) stay, and every
# node's integrand of a therapist is multiplied by exp(-0.01 per such session): the
# log-likelihood falls by 0.01 per session with y = 0.
ORIGINAL = "return ll, F1 - 1.0, 1.0 - F1"
EDITED = "return ll - 0.01, F1 - 1.0, 1.0 - F1"


def _loglik(package_root: Path, cache: Path) -> tuple[float, int]:
    run = subprocess.run(
        [sys.executable, "-c", LOGLIK],
        capture_output=True, text=True, timeout=600,
        env=os.environ | {"PYTHONPATH": str(package_root), "NUMBA_CACHE_DIR": str(cache)},
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    value, zeros = run.stdout.split()
    return float(value), int(zeros)


def test_every_cached_kernel_of_the_package_is_keyed_on_all_kernel_files():
    """A file compiling kernels with numba's cache, however it spells it, is a kernel file."""
    cached = {
        p.resolve()
        for p in (ROOT / "src" / "sessionmlm").rglob("*.py")
        if "cache=True" in p.read_text() and "numba" in p.read_text()
    } - {(ROOT / "src" / "sessionmlm" / "kernel_cache.py").resolve()}  # it says the words
    assert cached and cached <= set(kernel_files())


def test_editing_an_inlined_helper_recompiles_the_kernels_that_use_it(tmp_path):
    root = tmp_path / "src"
    shutil.copytree(
        ROOT / "src" / "sessionmlm", root / "sessionmlm",
        ignore=shutil.ignore_patterns("__pycache__"),
    )  # fmt: skip
    cache = tmp_path / "numba"
    before, zeros = _loglik(root, cache)
    assert zeros > 0
    modes = root / "sessionmlm" / "engines" / "ml" / "quadrature_modes.py"
    text = modes.read_text()
    assert text.count(ORIGINAL) == 1
    modes.write_text(text.replace(ORIGINAL, EDITED))
    after, _ = _loglik(root, cache)
    assert after == pytest.approx(before - 0.01 * zeros, rel=1e-10)
