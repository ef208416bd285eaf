"""CITATION.cff is valid Citation File Format 1.2.0 and names this version and licence.

tests/data/cff-1.2.0.schema.json is the CFF 1.2.0 schema (CC-BY-4.0, the Citation File Format
project, as shipped in cffconvert 2.0.0), kept here so the check runs offline.
"""

import json
import tomllib

import jsonschema
import pytest
import yaml

from sessionmlm import __version__

from .conftest import ROOT

SCHEMA = json.loads((ROOT / "tests" / "data" / "cff-1.2.0.schema.json").read_text())


def problems(document: dict) -> list[str]:
    """Every way the document breaks the CFF schema."""
    return [e.message for e in jsonschema.Draft7Validator(SCHEMA).iter_errors(document)]


@pytest.fixture(scope="module")
def citation() -> dict:
    return yaml.safe_load((ROOT / "CITATION.cff").read_text())


def test_citation_file_is_valid_cff(citation):
    assert problems(citation) == []


def test_the_schema_check_finds_a_broken_citation(citation):
    broken = {k: v for k, v in citation.items() if k != "authors"} | {"licence": "MIT"}
    found = problems(broken)
    assert any("'authors' is a required property" in p for p in found)
    assert any("'licence' was unexpected" in p for p in found)


def test_citation_names_this_version_and_licence(citation):
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert citation["version"] == __version__
    assert citation["license"] == pyproject["license"]
    assert citation["cff-version"] == "1.2.0"


def test_changelog_has_an_entry_for_this_version():
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert f"## [{__version__}]" in changelog
    assert "## [Unreleased]" in changelog
