"""The package's source files a job runs, read from the code's own import statements.

Snakemake reruns a job when an input file is newer than its outputs; giving each job the
modules its stage imports (directly, inside functions, through other package modules) as
inputs reruns exactly the jobs whose code changed. The list is derived, never kept by hand,
so it follows renames, new modules and a module becoming a package.

Only import statements are followed: a module chosen by name at run time (an engine, which
the registry in engines/__init__.py imports lazily) must be given as a root of its own;
stage_files does that for the engines a job runs and leaves out the others. Every package
(__init__.py) above a module counts, since importing the module runs it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from pathlib import Path

PACKAGE = "sessionmlm"
PACKAGE_DIR = Path(__file__).resolve().parent


@functools.cache  # asked thousands of times at every snakemake start; the files do not move
def module_file(name: str, package_dir: Path = PACKAGE_DIR) -> Path | None:
    """The source file of a dotted module name inside the package, or None if there is none."""
    parts = name.split(".")
    if parts[0] != PACKAGE:
        return None
    base = package_dir.joinpath(*parts[1:])
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _package_of(name: str, file: Path) -> str:
    """The package a module's relative imports start from."""
    return name if file.name == "__init__.py" else name.rpartition(".")[0]


# Import statements anywhere in a file, at any indent (imports inside functions count):
# `import a.b as c, d` and `from .a import (b, c as d)`, over several lines in parentheses.
IMPORT = re.compile(r"^[ \t]*import[ \t]+([\w. \t,]+)", re.M)
FROM_IMPORT = re.compile(
    r"^[ \t]*from[ \t]+(\.*[\w.]*)[ \t]+import[ \t]+(\([^)]*\)|[\w \t,*]+)", re.M
)


def _names(clause: str) -> list[str]:
    """`a.b as c, d` -> ["a.b", "d"] (comments and parentheses removed)."""
    clause = re.sub(r"#[^\n]*", "", clause).strip("() \t\n")
    return [part.split()[0] for part in clause.split(",") if part.strip()]


@functools.cache
def imported_names(file: Path, name: str) -> tuple[str, ...]:
    """Every module name a file's import statements may load, anywhere in the file.

    `from a import b` may load module a.b (when b is a submodule) or only a (when b is a
    name in it); both candidates are listed and the caller keeps those that exist. Read with
    regular expressions, not ast: ten times faster, and this runs at every snakemake start. A
    line in a docstring that reads like an import can only add a file, never lose one.
    """
    text = file.read_text()
    found = [n for clause in IMPORT.findall(text) for n in _names(clause)]
    for module, clause in FROM_IMPORT.findall(text):
        dots = len(module) - len(module.lstrip("."))
        if dots:
            anchor = _package_of(name, file).split(".")
            anchor = anchor[: len(anchor) - (dots - 1)]
            base = ".".join(anchor + ([module[dots:]] if module[dots:] else []))
        else:
            base = module
        found.append(base)
        found += [f"{base}.{alias}" for alias in _names(clause) if alias != "*"]
    return tuple(found)


def _with_parents(name: str) -> list[str]:
    """A module and every package above it: a.b.c -> a, a.b, a.b.c."""
    parts = name.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


def modules_used(
    roots: Iterable[str], skip: Iterable[str] = (), package_dir: Path = PACKAGE_DIR
) -> list[Path]:
    """Source files of the roots and of every package module they import, transitively.

    roots are dotted module names (e.g. "sessionmlm.stages.fit"); a module in skip, or under a
    package in skip, is left out with everything only it imports. Returns sorted paths.
    Raises ValueError naming a root that is not a module of the package.
    """
    skip = tuple(skip)

    def skipped(name: str) -> bool:
        return any(name == s or name.startswith(s + ".") for s in skip)

    files: dict[str, Path] = {}
    pending = []
    for root in roots:
        if module_file(root, package_dir) is None:
            raise ValueError(f"{root!r} is not a module of {PACKAGE} in {package_dir}")
        pending += _with_parents(root)
    while pending:
        name = pending.pop()
        if name in files or skipped(name):
            continue
        file = module_file(name, package_dir)
        if file is None:
            continue
        files[name] = file
        for imported in imported_names(file, name):
            pending += _with_parents(imported)
    return sorted(files.values())


def stage_files(
    stage: str,
    engine_modules: dict[str, tuple[str, ...]],
    run: Iterable[str] = (),
    package_dir: Path = PACKAGE_DIR,
) -> list[Path]:
    """The package files a job of `stage` runs: its stage module and the engines it runs.

    engine_modules maps each registered engine to its own module (first) and the package
    modules it names (engines.Engine.code); run names the engines this job runs (a fit its own,
    the report every one). Every other engine's own module or folder is left out, with what
    only it imports. An engine kept outside the package (SESSIONMLM_ENGINES) has no files here.
    """
    run = tuple(run)
    roots = [f"{PACKAGE}.stages.{stage}"] + [
        module
        for name in run
        for module in engine_modules[name]
        if module_file(module, package_dir) is not None
    ]
    skip = [modules[0] for name, modules in engine_modules.items() if name not in run]
    return modules_used(roots, skip=skip, package_dir=package_dir)
