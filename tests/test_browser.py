"""Open the real HTML reports in a real headless Chromium, as a reader's laptop would.

The workflow runs once (two cohorts, one of them a coding study with items and double coding,
and a small design simulation); then every page is loaded at 1280x800 and checked: no console
errors or warnings, no fetches, every section, every figure drawn and titled, the answer on the
first screen, nothing wider than the window (also at 768 px), and it prints. Full-page screenshots go to
$SESSIONMLM_SCREENSHOTS (else a temporary folder); their paths are printed.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
import yaml

from sessionmlm.simulate import TrueParameters, simulate_cohort

from .browser.cdp import Browser, Page
from .conftest import ROOT, TINY, TINY_COHORT, write_project
from .test_double_coded import tables as coding_tables
from .test_items import coding_cohort
from .test_resume import DESIGN
from .test_workflow import SNAKEMAKE

pytestmark = pytest.mark.slow
LAPTOP = (1280, 800)
COHORTS = ["north", "south"]
PAGES = {
    "north": "north/report.html",
    "south": "south/report.html",
    "index": "index.html",
    "power": "designs/plan/power.html",
}
# What each page must show: the ids of its <h2> sections.
COHORT_IDS = ["overview", "glance", "structure", "table1", "models", "engines", "comparison", "forest",
              "checks", "predicted", "plain", "appendix"]  # fmt: skip
BAYES_IDS = ["sensitivity"]  # sections from the bayes engine's posterior checks
SECTIONS = {
    "north": ("id", COHORT_IDS + BAYES_IDS),
    # A coding study: several outcomes (sections per outcome), items folded, no forest plot
    # (homework's only model outside the items has no predictor).
    "south": ("id", [i for i in COHORT_IDS if i not in ("checks", "predicted", "plain", "forest")]
              + ["checks-homework", "plain-homework", "reliability", "items"]),
    "index": ("id", ["cohorts", "across"]),
    "power": ("id", ["answer", "curves", "study", "accuracy"]),
}  # fmt: skip
NARROW = (768, 800)  # a laptop window at half the screen: wide tables scroll in their box
CHECKS = ["console", "requests", "sections", "figures", "overflow", "narrow", "pdf", "answer"]

# Everything the checks need, measured in the page as laid out.
FACTS = """(() => {
  const root = document.documentElement, view = root.clientWidth;
  const text = el => (el ? el.textContent : '').trim().replace(/\\s+/g, ' ').slice(0, 60);
  const name = el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
    + (typeof el.className === 'string' && el.className.trim()
       ? '.' + el.className.trim().split(/\\s+/).join('.') : '');
  const clipped = el => {  // inside a box that scrolls or clips sideways: no page overflow
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement)
      if (getComputedStyle(a).overflowX !== 'visible') return true;
    return false;
  };
  const wide = new Set([...document.body.querySelectorAll('*')]
    .filter(el => el.getBoundingClientRect().right > view + 0.5 && !clipped(el)));
  return {
    scrollWidth: root.scrollWidth, clientWidth: view, innerWidth: window.innerWidth,
    innerHeight: window.innerHeight,
    wide: [...wide].filter(el => !wide.has(el.parentElement)).map(el => {
      const r = el.getBoundingClientRect();
      return `${name(el)} "${text(el)}": ${Math.round(r.width)} px wide, `
        + `from x=${Math.round(r.left)} to x=${Math.round(r.right)}`;
    }),
    h2: [...document.querySelectorAll('h2')].map(h => ({id: h.id, text: text(h)})),
    ids: [...document.querySelectorAll('[id]')].map(el => el.id),
    answerBottom: (() => {  // where the overview's grid ends: the answer's last line
      const f = document.querySelector('#overview ~ figure svg');
      return f ? f.getBoundingClientRect().bottom + window.scrollY : null;
    })(),
    anchors: [...document.querySelectorAll('a[href^="#"]')].map(a => a.getAttribute('href')),
    links: [...document.querySelectorAll('a[href]:not([href^="#"])')].map(a => a.href),
    svgs: [...document.querySelectorAll('svg')].map(s => {
      const r = s.getBoundingClientRect();
      return {title: text(s.querySelector(':scope > title')), width: r.width, height: r.height,
              drawn: s.querySelectorAll(':scope > :not(title):not(desc)').length};
    }),
    figures: [...document.querySelectorAll('figure')].map(f => {
      const s = f.querySelector('svg');
      return {caption: text(f.querySelector('figcaption')), svg: !!s,
              title: s ? text(s.querySelector(':scope > title')) : ''};
    }),
  };
})()"""


def problems(page: Page, sections: tuple[str, list[str]], pdf: Path) -> dict[str, list[str]]:
    """Every check on one open page: a list of problems per check (empty: it passes)."""
    facts = page.evaluate(FACTS)
    found = page.report()
    kind, expected = sections
    have = [h[kind] for h in facts["h2"]]
    targets = [unquote(urlparse(u).path) for u in facts["links"] if u.startswith("file:")]
    pdf_bytes = page.pdf(pdf)
    return {
        "console": found.console,
        "requests": found.requests,
        "sections": [f"no <h2> with {kind} {e!r} (the page has {have})" for e in expected
                     if e not in have]
        + [f"link {a} goes to no id" for a in facts["anchors"] if a[1:] not in facts["ids"]]
        + [f"link to missing file {t}" for t in targets if not Path(t).is_file()],
        "figures": [f"<svg> {i} ({s['title'] or 'untitled'}) is drawn {s['width']:.0f}x"
                    f"{s['height']:.0f} px with {s['drawn']} shapes"
                    for i, s in enumerate(facts["svgs"])
                    if s["width"] <= 50 or s["height"] <= 50 or not s["drawn"]]
        + [f"<figure> {i} ({f['caption']!r}) has " + ("no <svg>" if not f["svg"] else
           "an <svg> without a <title> (alt text)")
           for i, f in enumerate(facts["figures"]) if not f["title"]],
        "overflow": overflow(facts),
        "answer": answer_below(facts),
        "pdf": [] if pdf_bytes > 1024 and pdf.read_bytes().startswith(b"%PDF") else [
            f"printToPDF gave {pdf_bytes} bytes"],
    }  # fmt: skip


def answer_below(facts: dict) -> list[str]:
    """A cohort report opens with the answer on one screen: question, sentences and grid."""
    bottom, screen = facts["answerBottom"], facts["innerHeight"]
    if bottom is None or bottom <= screen:
        return []
    return [f"the overview ends {bottom:.0f} px down, below the first screen ({screen} px)"]


def overflow(facts: dict) -> list[str]:
    """The page is wider than the window: which outermost elements stick out."""
    if facts["scrollWidth"] <= facts["clientWidth"]:
        return []
    return [f"page is {facts['scrollWidth']} px wide in a {facts['clientWidth']} px window "
            f"(innerWidth {facts['innerWidth']}); too wide: " + "; ".join(facts["wide"])]  # fmt: skip


@pytest.fixture(scope="module")
def chromium() -> str:
    """Chromium's path, installed first if need be (as CI does on a fresh Debian)."""
    run = subprocess.run(["bash", str(ROOT / "tests" / "browser" / "chromium.sh")],
                         capture_output=True, text=True, timeout=900)  # fmt: skip
    assert run.returncode == 0, f"tests/browser/chromium.sh failed:\n{run.stderr[-3000:]}"
    return run.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> Path:
    """Run the real workflow once: north (bayes, ml, gee), south (ml, gee), the index, a design."""
    folder = tmp_path_factory.mktemp("project")
    spec = {k: v for k, v in TINY_COHORT.items() if k != "bayes"} | {"engines": ["ml", "gee"]}
    cohorts = {c: spec | {"name": c, "data": f"data/{c}/sessions.csv"} for c in COHORTS}
    cohorts["north"] = TINY_COHORT | {"name": "north", "data": "data/north/sessions.csv"}
    sessions, double = coding_tables(seed=5)  # south is a coding study: items, double coding
    cohorts["south"] = coding_cohort(
        name="south",
        data="data/south/sessions.csv",
        double_coded={"data": "data/south/double.csv", "coder": "coder_id", "primary": "coder_id"},
    )
    tables = {"data/north/sessions.csv": simulate_cohort(TINY, TrueParameters(), seed=4),
              "data/south/sessions.csv": sessions, "data/south/double.csv": double}  # fmt: skip
    write_project(folder, cohorts, tables)
    config_file = folder / "config" / "config.yaml"
    config = yaml.safe_load(config_file.read_text())
    config["designs"] = {"plan": DESIGN | {"replicates": 6, "replicates_per_job": 3}}
    config_file.write_text(yaml.safe_dump(config, sort_keys=False))
    run = subprocess.run(
        [SNAKEMAKE, "-s", str(ROOT / "Snakefile"), "--directory", str(folder), "--cores", "2",
         "all", "designs"],
        capture_output=True, text=True, timeout=900,
        env=os.environ | {"SESSIONMLM_KEY": "test-key"},
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    return folder / "results"


@pytest.fixture(scope="module")
def browser(chromium):
    """One headless Chromium for the whole module."""
    with Browser(chromium) as running:
        yield running


@pytest.fixture(scope="module")
def checked(results, browser, tmp_path_factory) -> dict[str, tuple[dict[str, list[str]], Path]]:
    """Open every page once at laptop size, screenshot it, run every check on it."""
    shots = Path(os.environ.get("SESSIONMLM_SCREENSHOTS") or tmp_path_factory.mktemp("shots"))
    shots.mkdir(parents=True, exist_ok=True)
    pdfs = tmp_path_factory.mktemp("pdf")
    outcome = {}
    for name, relative in PAGES.items():
        page = browser.open(results / relative, *LAPTOP)
        shot = page.screenshot(shots / f"{name}.png")
        found = problems(page, SECTIONS[name], pdfs / f"{name}.pdf")
        page.close()
        page = browser.open(results / relative, *NARROW)
        found["narrow"] = overflow(page.evaluate(FACTS))
        page.close()
        outcome[name] = found, shot
    return outcome


@pytest.mark.parametrize("check", CHECKS)
@pytest.mark.parametrize("name", PAGES)
def test_report_in_chromium(checked, name, check):
    found = checked[name][0][check]
    assert not found, f"{PAGES[name]} fails {check}:\n" + "\n".join(found)


def test_screenshots_are_saved(checked, capsys):
    with capsys.disabled():  # for a human to look at, even when the tests pass
        print("\nFull-page screenshots at 1280x800:")
        for name, (_, shot) in checked.items():
            print(f"  {PAGES[name]}: {shot}")
    for _, shot in checked.values():
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000


def test_the_checks_catch_a_broken_page(browser, tmp_path):
    """A page that fetches, logs an error, overflows and has a bare figure fails every check."""
    bad = tmp_path / "bad.html"
    bad.write_text(
        "<!DOCTYPE html><html><body><h2 id='other'>Other</h2><a href='#gone'>gone</a>"
        "<img src='http://example.invalid/x.png' alt='x'>"
        "<script>console.error('boom')</script>"
        "<div style='width:3000px'>wide</div>"
        "<figure><svg width='10' height='10'></svg><figcaption>bare</figcaption></figure>"
        "</body></html>"
    )
    page = browser.open(bad, *LAPTOP)
    found = problems(page, ("id", ["structure"]), tmp_path / "bad.pdf")
    # Offline the fetch fails, but it was attempted, so it is recorded.
    assert found["requests"] == ["http://example.invalid/x.png"]
    assert "console.error: boom" in found["console"]
    assert "no <h2> with id 'structure'" in found["sections"][0]
    assert found["sections"][1] == "link #gone goes to no id"
    assert "<svg> 0 (untitled) is drawn 10x10 px with 0 shapes" in found["figures"]
    assert "an <svg> without a <title>" in found["figures"][1]
    assert 'div "wide": 3000 px wide' in found["overflow"][0]
    assert not found["pdf"]
    # An overview whose figure starts below the first screen fails the answer check.
    late = tmp_path / "late.html"
    late.write_text("<!DOCTYPE html><html><body><h2 id='overview'>A</h2><div style='height:900px'>"
                    "</div><figure><svg><title>t</title><rect width='60' height='60'/></svg>"
                    "</figure></body></html>")  # fmt: skip
    assert (
        "below the first screen (800 px)"
        in answer_below(browser.open(late, *LAPTOP).evaluate(FACTS))[0]
    )
    # 1,000 px fits a laptop window but not a half-screen one: only the narrow check sees it.
    half = tmp_path / "half.html"
    half.write_text("<!DOCTYPE html><html><body><div style='width:1000px'>x</div></body></html>")
    assert not overflow(browser.open(half, *LAPTOP).evaluate(FACTS))
    assert "1000 px" in " ".join(overflow(browser.open(half, *NARROW).evaluate(FACTS)))
