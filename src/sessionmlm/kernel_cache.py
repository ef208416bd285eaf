"""numba's on-disk cache of the package's kernels, keyed on every kernel file, not one.

numba keys a cached function on its own file's contents only. The kernels of
engines/ml/quadrature_therapist.py inline the Newton steps and constants of
quadrature_modes.py, so an edit there (a new release, a git pull) would leave the old machine
code in use, silently, while Snakemake reruns the fit for the changed code. Every cached kernel
of the package (ml quadrature, the bayes density, the posterior checks) is keyed on the
contents of all the package's files that compile kernels with numba's cache: an edit of any
of them recompiles them all once.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from numba.core.caching import CacheImpl, _CacheLocator

PACKAGE = Path(__file__).resolve().parent


@functools.cache  # the files do not change under a running process
def kernel_files() -> tuple[Path, ...]:
    """The package's files that compile numba kernels into its disk cache, sorted."""
    here = Path(__file__).resolve()
    return tuple(sorted(p for p in PACKAGE.rglob("*.py") if p != here and _compiles_cached(p)))


def _compiles_cached(path: Path) -> bool:
    text = path.read_text()
    return "numba" in text and "cache=True" in text


@functools.cache
def kernels_digest() -> str:
    """SHA-256 over the name and contents of every kernel file."""
    digest = hashlib.sha256()
    for path in kernel_files():
        name = path.relative_to(PACKAGE).as_posix()
        digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


class KernelFilesLocator(_CacheLocator):
    """numba's own locator for a kernel (same folder, same file names), with a wider stamp."""

    def __init__(self, inner: _CacheLocator):
        self._inner = inner

    def ensure_cache_path(self):
        """As numba's own locator does."""
        self._inner.ensure_cache_path()

    def get_cache_path(self):
        """The folder numba's own locator chose (NUMBA_CACHE_DIR, __pycache__, ...)."""
        return self._inner.get_cache_path()

    def get_source_stamp(self):
        """The kernel's own file, as numba stamps it, and every kernel file's contents."""
        return (self._inner.get_source_stamp(), kernels_digest())

    def get_disambiguator(self):
        """As numba's own locator does (the kernel's line number)."""
        return self._inner.get_disambiguator()

    @classmethod
    def from_function(cls, py_func, py_file):
        """Wrap the locator numba would use, for the package's kernels only."""
        if Path(py_file).resolve() not in kernel_files():
            return None
        for locator in CacheImpl._locator_classes:
            if locator is not cls:
                inner = locator.from_function(py_func, py_file)
                if inner is not None:
                    return cls(inner)
        return None


def register() -> None:
    """Put the locator first, before any kernel of the package is decorated (idempotent)."""
    if KernelFilesLocator not in CacheImpl._locator_classes:
        CacheImpl._locator_classes.insert(0, KernelFilesLocator)
