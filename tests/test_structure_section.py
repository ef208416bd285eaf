"""The Study structure section: the nesting diagram, and unit-size bar charts with no small cells."""

import random
import re
import xml.etree.ElementTree as ET
from types import SimpleNamespace

import pandas as pd
import pytest

from sessionmlm.config import load_config
from sessionmlm.describe import describe
from sessionmlm.figures import coarsen_histogram, level_diagram
from sessionmlm.outcomes import Outcome
from sessionmlm.report import structure_section

from .conftest import ROOT

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def demo_desc(demo_config):
    """describe() of the demo cohort: 25 programs, 103 therapists, 274 clients, 680 sessions."""
    from sessionmlm.ingest import to_canonical
    from sessionmlm.tables import read_table

    cohort = load_config(demo_config, workdir=ROOT).cohorts["demo"]
    table, _ = to_canonical(read_table(cohort.data), cohort, b"k")
    return describe(table, cohort, min_cell=11)


def synthetic_desc(clients_per_therapist: list[int], min_cell: int = 11) -> dict:
    """describe() of a hand-made table: one session per client, alternating outcome."""
    rows, client = [], 0
    for therapist, n_clients in enumerate(clients_per_therapist):
        for _ in range(n_clients):
            rows.append({"therapist": f"t{therapist}", "client": f"c{client}",
                         "session": f"s{client}", "homework": client % 2})  # fmt: skip
            client += 1
    cohort = SimpleNamespace(
        name="synthetic",
        levels=["therapist", "client", "session"],
        outcomes={"homework": Outcome("homework", ("hw_assigned",))},
    )
    return describe(pd.DataFrame(rows), cohort, min_cell=min_cell)


def bar_counts(html: str) -> list[int]:
    """The count of every bar drawn by histogram_bars (from each bar's own <title>)."""
    return [int(n) for n in re.findall(r"<rect [^>]*><title>(\d+) ", html)]


def svgs(html: str) -> list[ET.Element]:
    return [ET.fromstring(s) for s in re.findall(r"<svg.*?</svg>", html, flags=re.S)]


def test_level_diagram_shows_each_level_with_its_count_and_has_alt_text(demo_desc):
    svg = level_diagram(demo_desc["counts"], demo_desc["levels"], demo_desc["sizes"])
    root = ET.fromstring(svg)  # well-formed XML
    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    assert root.get("width") == "100%" and root.get("viewBox")
    title = root.find(f"{SVG}title")
    assert title is not None
    text = " ".join("".join(t.itertext()) for t in root.iter(f"{SVG}text"))
    for count, name in [(103, "therapists"), (274, "clients"), (680, "sessions")]:
        assert f"{count} {name}" in text
        assert f"{count} {name}" in title.text
    # Outermost level on top.
    assert text.index("103 therapists") < text.index("274 clients") < text.index("680 sessions")
    assert not re.search(r"<script|href=|url\(|@import|<image|<foreignObject", svg)


def test_level_diagram_says_how_many_inner_units_each_outer_unit_holds(demo_desc):
    svg = level_diagram(demo_desc["counts"], demo_desc["levels"], demo_desc["sizes"])
    assert "2.7 clients per therapist on average" in svg
    assert "median 3, range 1–6" in svg
    assert "2.5 sessions per client on average" in svg
    title = ET.fromstring(svg).find(f"{SVG}title").text
    assert "each therapist has 2.7 clients on average (median 3, range 1 to 6)" in title
    assert title.startswith(
        "Study structure: 680 sessions within 274 clients within 103 therapists"
    )
    assert "within 25 programs. Each program has 4.1 therapists on average" in title


def test_level_diagram_escapes_names_and_copes_with_missing_sizes():
    svg = level_diagram({"a<b": 12, "visit": 40}, ["a<b", "visit"], {}, note="50% with y&z")
    root = ET.fromstring(svg)
    assert "12 a&lt;bs" in svg and "visits within each a&lt;b" in svg
    assert "50% with y&z" in root.find(f"{SVG}title").text


def test_coarsening_leaves_a_histogram_without_small_cells_unchanged():
    fine = {"1": 40, "2": 30, "3": 0, "4": 11}
    assert coarsen_histogram(fine, 11) == fine


def test_coarsening_top_codes_the_small_upper_tail():
    hist = {"1": 20, "2": 31, "3": 25, "4": 21, "5": 3, "6": 3}
    assert coarsen_histogram(hist, 11) == {"1": 20, "2": 31, "3": 25, "≥4": 27}
    assert coarsen_histogram({"1": 4, "2": 30, "3": 20}, 11) == {"≤2": 34, "3": 20}


def test_coarsening_with_a_small_total_gives_one_bin_with_the_total():
    assert coarsen_histogram({"1": 3, "2": 4}, 11) == {"1–2": 7}
    assert coarsen_histogram({"1": 5, "2": 30, "3": 5}, 11) == {"1–3": 40}


def test_coarsening_never_shows_a_small_cell_and_keeps_the_total():
    rng = random.Random(7)
    for _ in range(3000):
        min_cell = rng.choice([2, 5, 11])
        hist = {str(k): rng.choice([0, 1, 2, 3, 5, 9, 10, 11, 12, 40])
                for k in sorted(rng.sample(range(1, 30), rng.randint(1, 10)))}  # fmt: skip
        shown = coarsen_histogram(hist, min_cell)
        total = sum(hist.values())
        assert sum(shown.values()) == total
        if 0 < total < min_cell:
            assert list(shown.values()) == [total]
        else:
            assert not any(0 < n < min_cell for n in shown.values()), (hist, shown)
        # A single bin is already "one bin with the total": nothing to merge.
        needed = len(hist) > 1 and any(0 < n < min_cell for n in hist.values())
        assert (shown != hist) == needed, (hist, shown)


def test_structure_section_starts_with_the_diagram_and_shows_no_small_bar(demo_desc):
    html = structure_section(demo_desc)
    assert html.startswith("<h2 id='structure'>")
    figures = svgs(html)
    assert "680 sessions" in "".join(figures[0].itertext())  # the diagram comes first
    assert html.index("<svg") < html.index("Units per level")
    assert "38.4% of sessions with homework" in html  # base rate with the diagram
    assert "<strong>38.4%</strong> of 680 sessions" in html  # and in the paragraph
    counts = bar_counts(html)
    assert counts and not any(0 < n < 11 for n in counts)
    # The demo has 3 therapists with 5 clients and 5 clients with 6 sessions: merged.
    assert ">≥4<" in html and ">≥5<" in html
    assert html.count("merged with neighbouring sizes for privacy") == 3
    # 25 programs: every size is held by fewer than 11, so one bar holds them all.
    assert (
        "fewer than 11 programs are merged with neighbouring sizes for privacy (bars 1–7)" in html
    )
    # Both top bars merged: the largest sizes (6, 6) are withheld, or with the totals they would
    # give the merged counts away; the smallest stay.
    assert "Clients per therapist: median 3, mean 2.66, smallest 1 (bar" in html
    assert "range 1–6" not in html and "1 to 6" not in html
    assert all(svg.find(f"{SVG}title") is not None for svg in figures)


def test_structure_section_says_nothing_of_merging_when_no_bar_is_small():
    desc = synthetic_desc([1] * 30 + [2] * 15)
    assert desc["sizes"]["client_per_therapist"]["histogram"] == {"1": 30, "2": 15}
    html = structure_section(desc)
    assert sorted(bar_counts(html)) == [15, 30, 60]  # 60 clients with one session each
    assert "merged" not in html
    assert "45 therapists" in html and "60 clients" in html


def test_structure_section_merges_small_bars_of_a_synthetic_table():
    desc = synthetic_desc([1] * 20 + [2] * 4 + [3] * 25 + [7] * 2)
    html = structure_section(desc)
    assert not any(0 < n < 11 for n in bar_counts(html))
    assert "merged with neighbouring sizes for privacy" in html
    assert ">≥3<" in html and ">≤2<" in html


def test_structure_section_draws_no_bars_when_there_are_too_few_units_in_all():
    desc = synthetic_desc([2] * 4 + [3] * 3)
    html = structure_section(desc)
    assert not any(0 < n < 11 for n in bar_counts(html))
    assert "No bar chart: fewer than 11 therapists in all" in html
    for svg in svgs(html):
        assert svg.find(f"{SVG}title") is not None


def test_an_end_bar_merged_hides_that_end_of_the_range():
    """20 therapists with 1 client, 4 with 2, 25 with 3, 2 with 7: with the largest size (7)
    and the total (103 clients), the merged bar "≥3" would give away the 2 therapists with 7."""
    desc = synthetic_desc([1] * 20 + [2] * 4 + [3] * 25 + [7] * 2)
    html = structure_section(desc)
    assert "Clients per therapist: median 3, mean 2.29 (bar" in html
    assert not re.search(r"\b7\b", re.sub(r"<[^>]+>", " ", html))
    assert "largest" not in html and "smallest" not in html  # both ends merged


def test_structure_section_gives_each_outcome_its_base_rate():
    desc = synthetic_desc([1] * 30 + [2] * 15)  # 60 sessions, every other one with homework
    homework = desc["outcomes"]["homework"]
    desc["outcomes"]["set"] = homework | {"name": "set", "base_rate": 0.25, "sources": ["a"]}
    html = structure_section(desc)
    assert "Base rate of <code>homework</code>: 50.0% of 60 sessions." in html
    assert "Base rate of <code>set</code>: 25.0% of 60 sessions." in html
    assert "50.0% of sessions with homework; 25.0% of sessions with set" in html  # the diagram
    assert "<p>Outcome <code>set</code> (any of a): base rate <strong>25.0%</strong>" in html


def test_structure_section_gives_an_ordinal_outcome_its_shares_by_category():
    desc = synthetic_desc([1] * 30 + [2] * 15)
    desc["outcomes"]["extent"] = {
        "name": "extent", "type": "ordinal", "sources": ["rating"], "n": 60, "missing": 2,
        "categories": {"low": {"n": 30, "suppressed": False}, "mid": {"n": None, "suppressed": True},
                       "high": {"n": None, "suppressed": True}},
    }  # fmt: skip
    html = structure_section(desc)
    assert "<code>extent</code> by category: low 50.0%, mid withheld, high withheld of 60" in html
    assert (
        "<p>Outcome <code>extent</code> (rating, ordinal, categories lowest first): <strong>low "
        "50.0%, mid withheld, high withheld</strong> of 60 sessions; 2 sessions without it. "
        "Categories with few sessions are withheld for privacy.</p>" in html
    )
    assert "with extent" not in html  # the diagram's note gives base rates only


def test_units_identified_within_their_parent_are_counted_apart_at_every_level():
    # Four levels; client ids restart under each therapist, therapist ids under each program.
    rows = [
        {"program": p, "therapist": t, "client": c, "session": f"{p}{t}{c}{s}", "homework": s % 2}
        for p in ("p1", "p2") for t in ("t1", "t2") for c in ("c1", "c2", "c3") for s in (0, 1)
    ]  # fmt: skip
    cohort = SimpleNamespace(
        name="four",
        levels=["program", "therapist", "client", "session"],
        outcomes={"homework": Outcome("homework", ("hw",))},
    )
    desc = describe(pd.DataFrame(rows), cohort, min_cell=1)
    assert desc["counts"] == {"program": 2, "therapist": 4, "client": 12, "session": 24}
    assert desc["sizes"]["client_per_therapist"]["histogram"] == {"3": 4}
    assert desc["sizes"]["therapist_per_program"]["histogram"] == {"2": 2}
    assert "program" in structure_section(desc)
