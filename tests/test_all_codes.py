"""Every coder's codes in the models: the cohort key, the long table, its weights, the stage
that builds it from the double-coded table (all_codes.py, stages/all_codes.py) and the
report's section (report/coders.py). The bayes fits against the truth are in
test_all_codes_bayes.py."""

import json

import numpy as np
import pandas as pd
import pytest

from sessionmlm.all_codes import (
    CODER,
    AllCodesError,
    coder_engines,
    coder_models,
    coder_severities,
    long_table,
)
from sessionmlm.config import ConfigError, load_config
from sessionmlm.formula import parse_formula
from sessionmlm.ingest import ingest
from sessionmlm.model_data import build_model_data
from sessionmlm.privacy import Privacy
from sessionmlm.pseudonyms import pseudonymise
from sessionmlm.report.coders import coders_section
from sessionmlm.stages.all_codes import run_all_codes

from .conftest import write_project
from .test_double_coded import tables
from .test_items import coding_cohort

DOUBLE = {"data": "data/tiny/double.csv", "coder": "coder_id", "primary": "coder_id"}


def small_sessions() -> pd.DataFrame:
    """Four sessions of two clients: a binary item a and an ordinal item b."""
    table = pd.DataFrame({
        "therapist": ["t1", "t1", "t1", "t1"], "client": ["c1", "c1", "c2", "c2"],
        "session": ["s1", "s2", "s3", "s4"], "x": [0.0, 1.0, 2.0, 3.0],
        "a": [1.0, 0.0, 1.0, 0.0], "b": [0.0, 2.0, 1.0, 2.0],
    })  # fmt: skip
    table.attrs["variables"] = {"b": {"type": "ordinal", "categories": ["0", "1", "2"]}}
    return table


def small_codes() -> pd.DataFrame:
    """The double-coded rows: s1 by A (its primary, a differs) and B; s2 by A and C; s4 by B."""
    return pd.DataFrame({
        "session": ["s1", "s1", "s2", "s2", "s4"], CODER: ["A", "B", "A", "C", "B"],
        "a": [0.0, 1.0, 1.0, 0.0, 1.0], "b": [0.0, 1.0, 2.0, np.nan, 0.0],
    })  # fmt: skip


def test_each_other_coders_codes_become_a_row_of_the_session():
    # s1 and s2 have primary A and B, s3 A, s4 none (missing in the sessions table).
    joined = long_table(
        small_sessions(), "session", ["A", "B", "A", None], small_codes(), ["a", "b"]
    )
    table = joined.table
    # The four sessions' own rows, then s1 by B, s2 by A and by C, s4 by B: A's row of s1 is
    # its primary coder's, not added again; its differing code a is counted, not used.
    assert table.session.tolist() == ["s1", "s2", "s3", "s4", "s1", "s2", "s2", "s4"]
    assert table[CODER].tolist()[:3] == ["A", "B", "A"] and pd.isna(table[CODER][3])
    assert table[CODER].tolist()[4:] == ["B", "A", "C", "B"]
    assert table.a.tolist() == [1, 0, 1, 0, 1, 1, 0, 1]
    assert table.b.tolist()[4:6] == [1, 2] and np.isnan(table.b[6])
    # Every predictor and level is the session's.
    extra = table.iloc[4:].set_index("session")
    own = small_sessions().set_index("session").loc[extra.index]
    assert (extra[["therapist", "client", "x"]] == own[["therapist", "client", "x"]]).all().all()
    assert joined.differ == {"a": 1, "b": 0}
    assert (joined.sessions, joined.extra_rows, joined.double_coded) == (4, 4, 3)
    assert (joined.coders, joined.without_coder) == (3, 1)
    assert table.attrs["variables"]["b"]["type"] == "ordinal"  # the item's scale goes along
    record = joined.record()
    assert record["extra_rows"] == 4 and "weighs 1/m" in record["note"]


def test_each_session_weighs_one_in_a_coder_model_after_listwise_deletion():
    joined = long_table(
        small_sessions(), "session", ["A", "B", "A", None], small_codes(), ["a", "b"]
    )
    spec = parse_formula("b ~ x + (1 | therapist/client)", "m")
    tiny = type("C", (), {})()  # what coder_models reads of a cohort
    tiny.double_coding = type("D", (), {"all_codes": True})()
    tiny.models, tiny.item_models, tiny.session_level = {"m": spec}, {"m": ("b", "t")}, "session"
    coder_spec = coder_models(tiny)["m-coders"]
    assert coder_spec.groups == (CODER, "therapist", "client")
    assert coder_spec.unit_keys == ((CODER,), ("therapist",), ("therapist", "client"))
    assert coder_spec.formula.endswith("+ (1 | coder)") and coder_spec.crossed
    data = build_model_data(joined.table, coder_spec, {})
    # Kept: s1 by A and B, s2 by B and A (C left b blank), s3 by A; s4 has no coder on its own
    # row, so only B's row of it: each session's kept rows weigh one together.
    kept = joined.table.session.to_numpy()[data.rows]
    assert sorted(kept.tolist()) == ["s1", "s1", "s2", "s2", "s3", "s4"]
    weights = dict(zip(zip(kept, data.rows, strict=True), data.weights, strict=True))
    assert pd.Series(weights).groupby(level=0).sum().tolist() == [1.0, 1.0, 1.0, 1.0]
    assert data.record()["weights"] == {"by": "session", "rows": 6, "total": 4.0}
    assert list(data.unit_ids[0]) == ["A", "B"]  # the coders the kept rows name, sorted


def test_repeated_session_ids_cannot_be_joined():
    sessions = small_sessions()
    sessions.loc[1, "session"] = "s1"
    with pytest.raises(AllCodesError, match=r"session ids repeat in the sessions table \(1 ids\)"):
        long_table(sessions, "session", ["A"] * 4, small_codes(), ["a", "b"])


def test_severities_are_sigma_times_z_per_draw():
    # Two coders, four draws: severity = sigma * z; medians and the share above zero by hand.
    sigma = np.array([1.0, 2.0, 3.0, 4.0])
    z = np.array([[1.0, -1.0], [1.0, -1.0], [-1.0, 1.0], [1.0, 1.0]])
    table = coder_severities(np.array(["A", "B"]), sigma, z)
    # A: 1, 2, -3, 4 -> median 1.5, 3 of 4 above 0; B: -1, -2, 3, 4 -> median 1, 2 of 4.
    assert table.severity.tolist() == [1.5, 1.0]
    assert table.prob_positive.tolist() == [0.75, 0.5]


def project(tmp_path, engines=("bayes", "ml"), **coding):
    sessions, double = tables()
    coding = {k: v for k, v in {**DOUBLE, **coding}.items() if v is not None}  # None: left out
    cohort = coding_cohort(double_coded=coding, engines=list(engines))
    write_project(tmp_path, {"tiny": cohort},
                  {"data/tiny/sessions.csv": sessions, "data/tiny/double.csv": double})  # fmt: skip
    return load_config({"cohorts_dir": "config/cohorts"}, workdir=tmp_path).cohorts["tiny"]


def test_the_cohort_key_adds_a_coder_model_per_item_model(tmp_path):
    tiny = project(tmp_path, all_codes=True)
    models = coder_models(tiny)
    assert list(models) == [f"{m}-coders" for m in tiny.item_models]
    assert all(coder_engines(tiny, spec) == ("bayes",) for spec in models.values())
    assert coder_models(project(tmp_path / "off")) == {}  # off unless asked for


def test_the_cohort_key_says_what_it_needs(tmp_path):
    with pytest.raises(ConfigError) as raised:
        project(tmp_path, engines=("ml", "gee"), all_codes=True, models_use="consensus")
    message = str(raised.value)
    assert "all_codes: the sessions table's codes must be the primary coder's" in message
    assert "none of the cohort's engines (ml, gee) fits a coder random intercept" in message
    with pytest.raises(ConfigError, match="must be named under primary"):
        project(tmp_path, all_codes=True, primary=None)


def test_the_stage_joins_both_tables_under_pseudonyms(tmp_path, monkeypatch):
    # tables(): 40 sessions coded again by the two other coders, each giving the opposite
    # hw_assigned code and the same hw_reviewed and extent codes.
    monkeypatch.setenv("SESSIONMLM_KEY", "k")
    sessions, double = tables()
    tiny = project(tmp_path, all_codes=True)
    canonical, _ = ingest(tiny.for_ingest(), Privacy())
    canonical.to_parquet(tmp_path / "sessions.parquet", index=False)
    out, record = tmp_path / "all_codes.parquet", tmp_path / "all_codes.json"
    run_all_codes(tiny, Privacy(), str(tmp_path / "sessions.parquet"), str(out), str(record))
    table = pd.read_parquet(out)
    assert len(table) == len(sessions) + 80
    assert json.loads(record.read_text())["extra_rows"] == 80
    # Coders under keyed pseudonyms only; each session's own row under its primary coder.
    key = b"k"
    coder = dict(zip("ABC", pseudonymise(pd.Series(list("ABC")), "rater", key), strict=True))
    assert all(c.startswith("R-") for c in coder.values())
    assert set(table[CODER]) == set(coder.values())
    own = table.iloc[: len(sessions)]
    assert own[CODER].tolist() == [coder[c] for c in sessions.coder_id]
    extra = table.iloc[len(sessions) :]
    first = own.set_index("session").loc[extra.session]
    assert (extra.hw_assigned.to_numpy() == 1 - first.hw_assigned.to_numpy()).all()
    assert (extra.extent.to_numpy() == first.extent.to_numpy()).all()
    assert (extra.licensed.to_numpy() == first.licensed.to_numpy()).all()
    assert (extra[CODER].to_numpy() != first[CODER].to_numpy()).all()
    assert not {"A", "B", "C"} & set(table[CODER])


def write_fit(folder, estimates, variance, info):
    folder.mkdir(parents=True)
    pd.DataFrame(estimates).to_csv(folder / "estimates.csv", index=False)
    pd.DataFrame(variance).to_csv(folder / "variance.csv", index=False)
    (folder / "fit.json").write_text(json.dumps(info))


def test_the_report_section_sets_each_item_model_beside_its_coder_model(tmp_path):
    tiny = project(tmp_path, all_codes=True)
    results = tmp_path / "results" / "tiny"
    assert coders_section(tiny, results) == ""  # nothing fitted yet: no section
    row = {"term": "licensed", "estimate": 0.5, "ci_low": 0.3, "ci_high": 0.7,
           "odds_ratio": 1.65, "or_low": 1.35, "or_high": 2.01}  # fmt: skip
    info = {"status": "ok", "converged": True, "outcome_type": "binary"}
    write_fit(results / "hw_assigned-small" / "bayes", [row],
              [{"level": "client", "sd": 0.5, "sd_low": 0.2, "sd_high": 0.9}], info)  # fmt: skip
    coder = results / "hw_assigned-small-coders" / "bayes"
    write_fit(coder, [{**row, "estimate": 0.6, "odds_ratio": 1.82, "or_low": 1.5, "or_high": 2.2}],
              [{"level": "coder", "sd": 0.3, "sd_low": 0.1, "sd_high": 0.7}],
              {**info, "n_obs": 280, "units": {CODER: 3},
               "all_codes": {"note": "Each of a session's m codes weighs 1/m."}})  # fmt: skip
    pd.DataFrame({CODER: ["R-1a2b"], "severity": [0.2], "ci_low": [-0.1], "ci_high": [0.5],
                  "prob_positive": [0.9]}).to_csv(coder / "coders.csv", index=False)  # fmt: skip
    html = coders_section(tiny, results)
    assert "<h2 id='coders'>" in html and "weighs 1/m" in html
    assert "0.30 (0.10 to 0.70)" in html  # the coder SD with its interval
    assert "1.65 (1.35 to 2.01)" in html and "1.82 (1.50 to 2.20)" in html
    # The shift: (0.6 - 0.5) over the first fit's SD, (0.7 - 0.3) / 3.92.
    assert f"{0.1 / (0.4 / 3.92):.2f}" == "0.98" and "<td class='num'>0.98</td>" in html
    assert "R-1a2b" in html and "0.20 (-0.10 to 0.50)" in html
