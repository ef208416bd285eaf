"""No machine paths in outputs: absolute paths in text rewritten to names that tell no machine.

Logs, warnings, tracebacks and problem messages name files. In a shared report or a pasted log
an absolute path tells a user name, a home folder and how a machine is laid out, so what the
tool writes names files as the project does instead:

- a file in the project (the folder snakemake runs in) relative to it: `data/x.csv`; the
  project itself is `.`;
- the sessionmlm checkout, when the project is elsewhere: `<sessionmlm>/src/...`;
- an installed package: `<site-packages>/numpy/...` (any environment's, also another
  machine's); Python's own library `<python>/...`; the virtual environment `<venv>/...`;
- any home folder `~/...` (no user name, anyone's);
- any other absolute path, one in the temporary folder too (pytest's are named after the
  user): `…/` and its last part (`/opt/x/data.csv` -> `…/data.csv`).

Windows drive paths (C: and a backslash) are not rewritten: the workflow runs on POSIX systems.
"""

from __future__ import annotations

import functools
import re
import site
import sys
import sysconfig
from collections.abc import Iterable
from pathlib import Path
from typing import Any

PROJECT = "."
# A path starts at "/" that does not continue a word, a relative path, a URL or a rewritten name.
_START = r"(?<![\w.~<>/\\:…-])"
_PART = r"[^\s/'\"<>|,;()\[\]{}]"  # one character of a path's part (spaces end a path)
_SITE = re.compile(_START + rf"/(?:{_PART}+/)*?(?:site|dist)-packages(?![\w.-])")
_HOME = re.compile(_START + rf"(?:/(?:home|Users)/{_PART}+|/root)(?![\w.-])")
_ANY = re.compile(_START + rf"/{_PART}+(?:/{_PART}+)*/?")

Folders = tuple[tuple[str, str], ...]  # (absolute folder, what is written instead)


def machine_folders(
    project: Path | str,
    checkout: Path | str | None = None,
    site_packages: Iterable[Path | str] = (),
    python: Path | str | None = None,
    venv: Path | str | None = None,
    home: Path | str | None = None,
) -> Folders:
    """Folders that outputs must not name, each with its replacement, longest first.

    Each folder is listed as given and resolved (a symlinked /tmp), so either spelling matches.
    """
    named = [(project, PROJECT), (checkout, "<sessionmlm>"), (python, "<python>"),
             (venv, "<venv>"), (home, "~")]  # fmt: skip
    named += [(folder, "<site-packages>") for folder in site_packages]
    pairs = {}
    for folder, name in named:
        if folder is None or str(folder) in ("", "/"):
            continue
        for spelling in (str(folder), str(Path(folder).resolve())):
            pairs.setdefault(spelling.rstrip("/"), name)
    return tuple(sorted(pairs.items(), key=lambda pair: -len(pair[0])))


def this_machine(project: Path | str | None = None) -> Folders:
    """machine_folders of the running process; the project defaults to the working directory."""
    return _this_machine(str(project or Path.cwd()))


@functools.cache  # every log line asks; the answer changes only with the working directory
def _this_machine(project: str) -> Folders:
    package = Path(__file__).resolve().parent
    return machine_folders(
        project=project,
        checkout=package.parents[1] if package.parent.name == "src" else None,
        site_packages=[*site.getsitepackages(), site.getusersitepackages()],
        python=sysconfig.get_paths()["stdlib"],
        venv=sys.prefix if sys.prefix != sys.base_prefix else None,
        home=Path.home(),
    )


def scrub(text: str, folders: Folders) -> str:
    """The text with every absolute path rewritten (see the module's docstring)."""
    text = _SITE.sub("<site-packages>", text)
    if folders:
        names = dict(folders)

        def named(match: re.Match) -> str:
            name, slash = names[match[1]], match[2]
            if name == PROJECT:
                return "" if slash else PROJECT  # data/x.csv, not ./data/x.csv
            return name + slash

        text = _known(folders).sub(named, text)
    text = _HOME.sub("~", text)
    return _ANY.sub(_last_part, text)


@functools.cache  # one pattern per set of folders, not one per log line
def _known(folders: Folders) -> re.Pattern:
    """Any of the folders (longest first, as listed), then "/" or the end of the path."""
    either = "|".join(re.escape(folder) for folder, _ in folders)
    return re.compile(_START + f"({either})" + r"(/|(?![\w.-]))")


def _last_part(match: re.Match) -> str:
    parts = [p for p in match[0].split("/") if p]
    return "…/" + parts[-1] + ("/" if match[0].endswith("/") else "")


def scrub_strings(value: Any, folders: Folders) -> Any:
    """A JSON-like value with scrub applied to every string in it (keys included)."""
    if isinstance(value, str):
        return scrub(value, folders)
    if isinstance(value, dict):
        return {scrub_strings(k, folders): scrub_strings(v, folders) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_strings(v, folders) for v in value]
    return value
