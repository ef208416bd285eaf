"""What every workflow job does around its stage: log to its file, end plainly on user errors."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sessionmlm import atomic
from sessionmlm.errors import UserError
from sessionmlm.machine_paths import scrub, scrub_strings, this_machine

log = logging.getLogger(__name__)


class _PathlessFormatter(logging.Formatter):
    """Log lines, warnings and tracebacks with machine paths rewritten (machine_paths.py)."""

    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(record), this_machine())


def setup_logging(path: str | os.PathLike) -> None:
    """Send the package's log to a job's log file and its progress to the terminal.

    Python warnings and a crash's traceback go there too, all without machine paths.
    """
    handler = logging.FileHandler(path, mode="w")
    handler.setFormatter(_PathlessFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    # The terminal shows this package's progress (attempts, diagnostics) and others' warnings.
    console = logging.StreamHandler()
    console.setFormatter(_PathlessFormatter("[%(name)s] %(message)s"))
    console.addFilter(lambda r: r.name.startswith("sessionmlm") or r.levelno >= logging.WARNING)
    root = logging.getLogger()
    root.handlers[:] = [handler, console]
    root.setLevel(logging.INFO)
    for noisy in ("pytensor", "arviz", "numba"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # A warning's text starts with its module's path; a crash's traceback names every file.
    logging.captureWarnings(True)
    sys.excepthook = _log_crash


def _log_crash(kind, error, traceback) -> None:
    """An unexpected error: its traceback in the job's log and on the terminal, pathless."""
    log.critical("sessionmlm stopped on an unexpected error", exc_info=(kind, error, traceback))


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn problems the user must fix into a plain message and a non-zero exit.

    Bad data or a model the data cannot support end without a traceback, and in the job's log.
    """
    try:
        yield
    except UserError as error:
        log.error("%s", error)
        raise SystemExit(scrub(f"sessionmlm: {error}", this_machine())) from None


def run_job(log_file: str | os.PathLike, stage: Callable[..., None], *args, **kwargs) -> None:
    """What every workflow script does: log to the job's file, run a stage, plain errors."""
    setup_logging(log_file)
    with user_errors():
        stage(*args, **kwargs)


def file_hash(path: str | os.PathLike) -> str:
    """SHA-256 of a file, recorded so a result can be traced to its exact input."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def inputs_hash(paths: list[Path]) -> str:
    """One SHA-256 for a cohort's input: the file's own, or one over each file's when several."""
    hashes = [file_hash(p) for p in paths]
    if len(hashes) == 1:
        return hashes[0]
    return hashlib.sha256("".join(hashes).encode()).hexdigest()


def write_json(path: str | os.PathLike, value: Any) -> None:
    """Write JSON with a trailing newline; strings in it name no machine path."""
    value = scrub_strings(json.loads(json.dumps(value, default=str)), this_machine())
    atomic.write_text(path, json.dumps(value, indent=2) + "\n")
