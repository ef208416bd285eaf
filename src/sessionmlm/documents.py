"""Config documents: YAML read with keys as written, JSON-schema checks in readable lines.

The schemas live in workflow/schemas; every problem names the file, the key and what to change.
"""

from __future__ import annotations

import copy
import difflib
import functools
import json
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from referencing import Registry, Resource

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "workflow" / "schemas"


class ConfigError(ValueError):
    """One or more problems in the config; the message lists them all."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__(
            f"{len(problems)} problem(s) in the config:\n" + "\n".join(f"- {p}" for p in problems)
        )


def load_schema(name: str) -> dict:
    """A JSON schema of workflow/schemas by file name."""
    return json.loads((SCHEMA_DIR / name).read_text())


@functools.cache
def _validator(name: str) -> jsonschema.Draft202012Validator:
    registry = Registry().with_resource(
        "config.schema.json", Resource.from_contents(load_schema("config.schema.json"))
    )
    return jsonschema.Draft202012Validator(load_schema(name), registry=registry)


def schema_problems(document: Any, schema_name: str, where: str) -> list[str]:
    """Check a document against a schema; return one readable line per problem."""
    problems = []
    validator = _validator(schema_name)
    for error in sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path)):
        path = ".".join(str(p) for p in error.absolute_path) or "(top level)"
        if error.validator == "additionalProperties":
            allowed = sorted(error.schema.get("properties", {}))
            extra = sorted(set(error.instance) - set(allowed))
            for key in extra:
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                problems.append(
                    f"{where}: unknown key {key!r} under {path}.{hint} "
                    f"Valid keys: {', '.join(allowed)}."
                )
        elif error.validator == "required":
            problems.append(f"{where}: {path}: {error.message}.")
        else:
            problems.append(f"{where}: {path}: {error.message}.")
    return problems


class _StringKeyLoader(yaml.SafeLoader):
    """Safe YAML loader that keeps mapping keys as written.

    A model called `null` or `yes`, or a code `1`, stays the string it looks like instead of
    becoming None, True or an int.
    """

    def construct_mapping(self, node, deep=False):
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                key_node.tag = "tag:yaml.org,2002:str"
        return super().construct_mapping(node, deep=deep)


def read_yaml(path: Path) -> Any:
    """Read a YAML file, turning syntax errors into a ConfigError naming the file."""
    try:
        return yaml.load(path.read_text(), Loader=_StringKeyLoader)  # noqa: S506 (safe loader)
    except yaml.YAMLError as error:
        raise ConfigError([f"{project_path(path)}: not valid YAML: {error}"]) from error
    except OSError as error:
        raise ConfigError([f"{project_path(path)}: cannot read: {error.strerror}"]) from error


def merge(defaults: dict, overrides: dict) -> dict:
    """Deep-merge overrides into a copy of defaults."""
    merged = copy.deepcopy(defaults)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def project_path(path: Path | str, root: Path | str | None = None) -> str:
    """A file as the project names it: relative to root (default: where snakemake runs).

    Outputs never carry a machine's absolute path; a file outside the project is named alone.
    """
    full, base = Path(path).resolve(), Path(root or Path.cwd()).resolve()
    return str(full.relative_to(base)) if full.is_relative_to(base) else Path(path).name


def closest(name: str, choices: list[str]) -> str:
    """The hint (" Closest: 'a', 'b'.") for a misspelt name, or "" when nothing is close."""
    close = difflib.get_close_matches(name, choices, n=3)
    return f" Closest: {', '.join(repr(c) for c in close)}." if close else ""
