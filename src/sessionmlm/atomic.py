"""Outputs are either absent or complete: write to a hidden temporary name, then rename.

A job killed halfway (Ctrl-C, a SLURM time limit, a lost node) then leaves no half-written
file that looks like a result; the rename is atomic on one file system.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; it becomes `path` only if the block succeeds."""
    final = Path(path)
    temporary = final.with_name(f".{final.name}.{os.getpid()}.partial")
    try:
        yield temporary
        temporary.replace(final)
    finally:
        temporary.unlink(missing_ok=True)


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write text atomically."""
    with atomic(path) as temporary:
        temporary.write_text(text)
