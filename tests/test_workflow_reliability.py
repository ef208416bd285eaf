"""A coding study end to end with snakemake: items fitted by templates, the double-coded table's
reliability, and a report that answers first and flags the unreliable item."""

import re

import pandas as pd
import pytest

from .conftest import write_project
from .test_double_coded import tables
from .test_items import coding_cohort
from .test_workflow import snakemake

pytestmark = pytest.mark.slow


def test_coding_study_end_to_end(tmp_path, monkeypatch):
    sessions, double = tables()
    cohort = coding_cohort(double_coded={"data": "data/tiny/double.csv", "coder": "coder_id",
                                         "primary": "coder_id"})  # fmt: skip
    write_project(tmp_path, {"tiny": cohort},
                  {"data/tiny/sessions.csv": sessions, "data/tiny/double.csv": double})  # fmt: skip
    monkeypatch.setenv("SESSIONMLM_KEY", "test-key")
    run = snakemake(tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "sessionmlm: tiny: 2 templates (bare, small) x 3 items = 6 models." in run.stderr
    results = tmp_path / "results" / "tiny"
    for item in ["hw_assigned", "hw_reviewed", "extent"]:
        for template in ["bare", "small"]:
            for engine in ["ml", "gee"]:
                assert (results / f"{item}-{template}" / engine / "estimates.csv").is_file()
    reliability = pd.read_csv(results / "reliability.csv")
    assert len(reliability) == 3 * 9 and set(reliability.item) == {"hw_assigned", "hw_reviewed",
                                                                   "extent"}  # fmt: skip
    kappa = reliability.set_index(["item", "statistic"]).estimate
    # Every second and third coder flipped hw_assigned and copied the rest (tests' tables()).
    assert kappa["hw_assigned", "Fleiss' kappa"] < 0 and kappa["hw_reviewed", "Fleiss' kappa"] == 1
    flagged = reliability.drop_duplicates("item").set_index("item").flagged
    assert flagged.to_dict() == {"hw_assigned": True, "hw_reviewed": False, "extent": False}
    assert (reliability.sessions_double_coded == 40).all() and (reliability.coders == 3).all()
    overview = pd.read_csv(results / "overview.csv")
    assert set(overview.engine) == {"ml", "gee"}
    assert set(overview.outcome) == {"hw_assigned", "hw_reviewed", "extent"}
    # Each outcome's main model is its last; null (homework's) has no predictor, so no cells.
    assert set(overview.model) == {"hw_assigned-small", "hw_reviewed-small", "extent-small"}

    html = (results / "report.html").read_text()
    assert html.index("id='overview'") < html.index("aria-label='Contents'")
    assert "id='reliability'" in html and "id='items'" in html
    assert html.count("<details id='item-") == 3
    # Each item's engines side by side has its own id; ids are unique on the page.
    assert "<h3 id='engines-extent'>" in html
    ids = re.findall(r" id='([^']+)'", html)
    assert len(ids) == len(set(ids))
    assert "associations with this item are attenuated by unreliable coding" in html
    assert "1 outcome was coded unreliably (†: <code>hw_assigned</code>)" in html
    # No raw session id in the reliability table or the report.
    raw = set(double.session_id)
    for text in [(results / "reliability.csv").read_text(), html]:
        assert not [s for s in raw if re.search(rf"\b{s}\b", text)]

    # A bad double-coded table stops the reliability job with every problem; results stay.
    before = {p: p.read_bytes() for p in results.rglob("*") if p.is_file()}
    bad = double.copy()
    bad.loc[0, "coder_id"], bad.loc[1, "hw_extensiveness"] = "Z", 9
    bad.to_csv(tmp_path / "data" / "tiny" / "double.csv", index=False)
    broken = snakemake(tmp_path)
    assert broken.returncode != 0
    assert "coder ids ['Z'] are not among the known coders" in broken.stderr
    assert "codes ['9'] are outside the item's scale" in broken.stderr
    assert {p: p.read_bytes() for p in results.rglob("*") if p.is_file()} == before
