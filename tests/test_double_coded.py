"""The double-coded table: declared in the cohort file, checked cell by cell, and able to feed
the models a consensus or a named coder's codes (double_coded.py)."""

import numpy as np
import pandas as pd
import pytest

from sessionmlm.config import ConfigError, load_config
from sessionmlm.double_coded import load_double_coded
from sessionmlm.ingest import ingest
from sessionmlm.privacy import Privacy
from sessionmlm.simulate import TrueParameters, simulate_cohort
from sessionmlm.tables import read_table

from .conftest import TINY, write_project
from .test_items import coding_cohort

CODERS = ["A", "B", "C"]


def tables(seed=3):
    """The tiny cohort with a primary coder per session, and 40 sessions coded again by others."""
    sessions = simulate_cohort(TINY, TrueParameters(), seed=seed)
    rng = np.random.default_rng(seed)
    sessions["coder_id"] = rng.choice(CODERS, len(sessions))
    rows = []
    for _, s in sessions.sample(40, random_state=seed).iterrows():
        rows.append({"session_id": s.session_id, "coder_id": s.coder_id,
                     "hw_assigned": s.hw_assigned, "hw_reviewed": s.hw_reviewed,
                     "hw_extensiveness": s.hw_extensiveness})  # fmt: skip
        for other in [c for c in CODERS if c != s.coder_id]:
            rows.append({"session_id": s.session_id, "coder_id": other,
                         "hw_assigned": 1 - s.hw_assigned, "hw_reviewed": s.hw_reviewed,
                         "hw_extensiveness": s.hw_extensiveness})  # fmt: skip
    return sessions, pd.DataFrame(rows)


def project(tmp_path, double, sessions=None, **coding):
    sessions = tables()[0] if sessions is None else sessions
    cohort = coding_cohort(double_coded={"data": "data/tiny/double.csv", "coder": "coder_id",
                                         "primary": "coder_id", **coding})  # fmt: skip
    write_project(tmp_path, {"tiny": cohort},
                  {"data/tiny/sessions.csv": sessions, "data/tiny/double.csv": double})  # fmt: skip
    return load_config({"cohorts_dir": "config/cohorts"}, workdir=tmp_path).cohorts["tiny"]


def test_declared_table_is_read_per_item(tmp_path):
    sessions, double = tables()
    tiny = project(tmp_path, double)
    assert tiny.double_coding.session == "session_id"  # the session level's id by default
    assert tiny.double_coding.thresholds == {"kappa": 0.40, "alpha": 0.667, "icc": 0.40}
    items = {i: tiny.outcomes[i] for i in tiny.items}
    coded, problems = load_double_coded(tiny.double_coding, items, read_table(tiny.data),
                                        "session_id", tiny.missing)  # fmt: skip
    assert not problems and coded.sessions == 40 and coded.coders == ("A", "B", "C")
    ratings = coded.ratings["extent"]
    assert ratings.shape == (40, 3) and set(np.unique(ratings)) <= {0, 1, 2, 3, 4}
    assert coded.kinds == {"hw_assigned": "binary", "hw_reviewed": "binary", "extent": "ordinal"}
    # The second and third coders disagree with the first on every hw_assigned code.
    assigned = coded.ratings["hw_assigned"]
    assert ((assigned.min(axis=1) == 0) & (assigned.max(axis=1) == 1)).all()


def test_every_cell_problem_is_reported_at_once(tmp_path):
    sessions, double = tables()
    double.loc[3, "coder_id"] = "Z"  # line 5
    double.loc[7, "hw_extensiveness"] = 7  # line 9
    double.loc[10, "session_id"] = "no-such-session"  # line 12
    double = pd.concat([double, double.iloc[[0]]])  # line 122: a coder twice on a session
    tiny = project(tmp_path, double)
    items = {i: tiny.outcomes[i] for i in tiny.items}
    coded, problems = load_double_coded(tiny.double_coding, items, read_table(tiny.data),
                                        "session_id", tiny.missing)  # fmt: skip
    text = "\n".join(str(p) for p in problems)
    assert coded is None and len(problems) == 4, text
    assert "double.csv: column 'coder_id', rows 5 (1 in all): coder ids ['Z'] are not among" in text
    assert "column 'session_id', rows 12 (1 in all): sessions not in the sessions table" in text
    assert "column 'hw_extensiveness', rows 9 (1 in all): codes ['7'] are outside" in text
    assert "the same coder coded the same session more than once" in text


def test_declared_columns_are_checked_when_the_config_loads(tmp_path):
    sessions, double = tables()
    with pytest.raises(ConfigError) as raised:
        project(tmp_path, double.drop(columns="hw_reviewed"), primary="rater")
    message = str(raised.value)
    assert "double.csv has no column 'hw_reviewed' (column of hw_reviewed)" in message
    assert "double_coded.primary: the sessions table has no column 'rater'" in message


def test_consensus_feeds_the_models_and_says_so(tmp_path, monkeypatch):
    sessions, double = tables()
    # Two of three coders give the opposite hw_assigned code: the consensus flips it.
    tiny = project(tmp_path, double, models_use="consensus")
    monkeypatch.setenv("SESSIONMLM_KEY", "k")
    table, validation = ingest(tiny.for_ingest(), Privacy())
    primary, _ = ingest(project(tmp_path, double).for_ingest(), Privacy())
    flipped = (table.hw_assigned != primary.hw_assigned).sum()
    assert flipped == 40 and (table.hw_reviewed == primary.hw_reviewed).all()
    said = [q for q in validation.to_dict()["quirks"] if "models_use" in q["what"]]
    assert said and "the models use the most frequent code" in said[0]["what"]
    assert "40 item codes of the sessions table were replaced" in said[0]["what"]


def test_a_named_coder_feeds_the_models_where_they_coded(tmp_path, monkeypatch):
    sessions, double = tables()
    monkeypatch.setenv("SESSIONMLM_KEY", "k")
    tiny = project(tmp_path, double, models_use="B", coders=CODERS)
    table, _ = ingest(tiny.for_ingest(), Privacy())
    primary, _ = ingest(project(tmp_path, double).for_ingest(), Privacy())
    # B coded all 40 sessions; where B was the primary coder nothing changes.
    by_b = (double.coder_id == "B") & ~double.session_id.isin(
        sessions[sessions.coder_id == "B"].session_id
    )
    assert (table.hw_assigned != primary.hw_assigned).sum() == by_b.sum()


def test_sources_of_codes_are_compared_with_each_other(tmp_path):
    from sessionmlm.stages.reliability import run_reliability

    sessions, double = tables()
    tiny = project(tmp_path, double, sources={"first": ["A"], "others": ["B", "C"]})
    out = tmp_path / "reliability.csv"
    run_reliability(tiny, str(out))
    table = pd.read_csv(out)
    assert set(table.comparison) == {"all coders", "first vs others"}
    pair = table[table.comparison == "first vs others"].set_index(["item", "statistic"])
    # Every double-coded session has A and B or C: A's code against the first of B's and C's.
    assert (pair[pair.estimate.notna()].units == 40).all()
    assert pair.estimate["hw_reviewed", "Cohen's kappa"] == 1  # copied by every coder
    # The non-primary coders flip hw_assigned: A and "others" (B's code) agree only where both
    # flipped, that is where C was the primary coder (each session's first row).
    primary = double.groupby("session_id", sort=False).coder_id.first()
    assert pair.estimate["hw_assigned", "percent agreement"] == pytest.approx(
        (primary == "C").mean()
    )
    assert not table[table.comparison != "all coders"].flagged.any()


def test_a_coder_in_two_sources_is_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"sources: coders \['B'\] are in more than one"):
        project(tmp_path, tables()[1], sources={"x": ["A", "B"], "y": ["B", "C"]})
