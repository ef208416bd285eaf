import json
import subprocess
import sys

import numpy as np

from sessionmlm.simulate import (
    CohortShape,
    TrueParameters,
    allocate,
    canonical,
    simulate_cohort,
    write_cohort,
)

from .conftest import ROOT


def test_default_design_matches_reference_study():
    table = simulate_cohort(seed=1)
    assert len(table) == 680
    assert table.therapist_id.nunique() == 103
    assert table.client_id.nunique() == 274
    clients_per_therapist = table.groupby("therapist_id").client_id.nunique()
    sessions_per_client = table.groupby("client_id").size()
    assert clients_per_therapist.between(1, 6).all() and clients_per_therapist.nunique() > 3
    assert sessions_per_client.between(1, 6).all() and sessions_per_client.nunique() > 3
    assert table.groupby("client_id").therapist_id.nunique().max() == 1
    assert table.child_age.between(4, 18).all()
    assert set(table.ebp) <= {"MAP", "TF-CBT", "CBITS", "Seeking Safety", "CPP", "Triple P"}


def test_base_rate_between_30_and_50_percent_over_seeds():
    rates = [
        (simulate_cohort(seed=s).eval("hw_assigned | hw_reviewed")).mean() for s in range(1, 11)
    ]
    assert 0.30 <= min(rates) and max(rates) <= 0.50


def test_outcome_is_union_of_the_two_codes_and_both_occur():
    table = simulate_cohort(seed=2)
    both = (table.hw_assigned == 1) & (table.hw_reviewed == 1)
    only_one = table.hw_assigned != table.hw_reviewed
    assert both.any() and only_one.any()


def test_therapist_variables_constant_within_therapist():
    table = simulate_cohort(seed=4)
    for column in ["licensed", "hispanic_latinx", "ebp_attitudes", "emotional_exhaustion",
                   "direct_hours", "n_ebps_trained"]:  # fmt: skip
        assert table.groupby("therapist_id")[column].nunique().max() == 1
    assert table.groupby("client_id").child_age.nunique().max() == 1


def test_simulated_data_show_the_study_directions():
    # The simulator must put the effects into the data, not only into TrueParameters: a plain
    # (population-averaged) logistic regression on a large cohort recovers their signs. (Its
    # standard errors ignore clustering, so it cannot check the near-zero effects.)
    import statsmodels.api as sm

    table = canonical(simulate_cohort(CohortShape(1000, 3000, 9000), seed=5))
    X = sm.add_constant(table[["caregiver_present", "child_age", "licensed"]])
    glm = sm.GLM(table.homework, X, family=sm.families.Binomial()).fit()
    low, high = glm.conf_int().T.values
    assert low[1] > 0 and low[2] > 0 and high[3] < 0  # caregiver, age up; licensed down
    truth = TrueParameters()
    assert truth.sd_therapist > 0 and truth.sd_client > 0


def test_allocate_respects_bounds_and_total():
    rng = np.random.default_rng(0)
    parent = allocate(50, 20, (1, 4), rng)
    counts = np.bincount(parent, minlength=20)
    assert counts.sum() == 50 and counts.min() >= 1 and counts.max() <= 4


def test_same_seed_same_bytes_and_committed_demo_is_seed_1(tmp_path):
    write_cohort(tmp_path / "a", CohortShape(), TrueParameters(), seed=1)
    write_cohort(tmp_path / "b", CohortShape(), TrueParameters(), seed=1)
    for name in ["sessions.csv", "truth.json"]:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
        assert (tmp_path / "a" / name).read_bytes() == (ROOT / "data" / "demo" / name).read_bytes()
    write_cohort(tmp_path / "c", CohortShape(), TrueParameters(), seed=2)
    assert (tmp_path / "c" / "sessions.csv").read_bytes() != (
        tmp_path / "a" / "sessions.csv"
    ).read_bytes()


def test_truth_file_names_terms_as_engines_do():
    truth = json.loads((ROOT / "data" / "demo" / "truth.json").read_text())
    assert truth["coefficients"]["ebp[TF-CBT]"] == 0.3
    assert set(truth["variance"]) == {"therapist", "client"}
    assert truth["variance"]["client"]["icc"] > truth["variance"]["therapist"]["icc"]


def test_command_line_entry_point(tmp_path):
    exe = ROOT / ".venv" / "bin" / "sessionmlm-simulate"
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "sessionmlm.simulate"]
    run = subprocess.run(
        [*command, str(tmp_path), "--seed", "5", "--therapists", "10", "--clients", "20",
         "--sessions", "50"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert "sessions.csv" in run.stdout
    assert len((tmp_path / "sessions.csv").read_text().splitlines()) == 51
    bad = subprocess.run(
        [*command, str(tmp_path), "--therapists", "10", "--clients", "100"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert bad.returncode == 2 and "cannot place 100 units in 10 parents" in bad.stderr
