import json
import subprocess
import sys

import numpy as np
import pytest

from sessionmlm.simulate import (
    DEMO_TRUTH,
    CohortShape,
    OrdinalParameters,
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
    assert table.program_id.nunique() == 25  # as 4KEEPS
    therapists_per_program = table.groupby("program_id").therapist_id.nunique()
    assert therapists_per_program.between(1, 10).all() and therapists_per_program.nunique() > 3
    assert table.groupby("therapist_id").program_id.nunique().max() == 1
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
    write_cohort(tmp_path / "a", CohortShape(), DEMO_TRUTH, seed=1)
    write_cohort(tmp_path / "b", CohortShape(), DEMO_TRUTH, seed=1)
    for name in ["sessions.csv", "truth.json"]:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
        assert (tmp_path / "a" / name).read_bytes() == (ROOT / "data" / "demo" / name).read_bytes()
    write_cohort(tmp_path / "c", CohortShape(), DEMO_TRUTH, seed=2)
    assert (tmp_path / "c" / "sessions.csv").read_bytes() != (
        tmp_path / "a" / "sessions.csv"
    ).read_bytes()


def test_truth_file_names_terms_as_engines_do():
    truth = json.loads((ROOT / "data" / "demo" / "truth.json").read_text())
    assert truth["coefficients"]["ebp[TF-CBT]"] == 0.3
    assert list(truth["variance"]) == ["program", "therapist", "client", "session"]
    variance = truth["variance"]
    assert [variance[level]["sd"] for level in ("program", "therapist", "client")] == [
        0.5,
        0.8,
        0.9,
    ]
    icc = [variance[level]["icc"] for level in ("program", "therapist", "client")]
    assert icc == sorted(icc)  # each level's ICC includes the levels above it
    assert icc[-1] + variance["session"]["share"] == pytest.approx(1)
    assert icc[0] == pytest.approx(0.25 / (0.25 + 0.64 + 0.81 + np.pi**2 / 3))
    assert truth["shape"]["n_programs"] == 25 and truth["shape"]["therapists_per_program"] == [
        1,
        10,
    ]
    # caregiver presence: its parts, named as model_terms.part_names, and the coefficient of a
    # model that does not split it is the within-client one (the note says what it estimates).
    assert truth["within_between"]["caregiver_present"] == {
        "within client": 0.3, "between client": 1.2, "between therapist": 1.2,
        "between program": 1.2,
    }  # fmt: skip
    assert truth["coefficients"]["caregiver_present"] == 0.3
    assert "blend" in truth["coefficients_note"]


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


def implied_shares(table, params: OrdinalParameters) -> np.ndarray:
    """Each category's expected share of the table's sessions under the cumulative logit.

    P(y <= k) = logistic(threshold_k - eta - u), u the therapist plus client intercept
    (normal, SD sqrt(sd_t^2 + sd_c^2)), integrated by Gauss-Hermite and averaged over the
    sessions' own predictors: computed here from the parameters, not by the simulator.
    """
    eta = np.zeros(len(table))
    for term, beta in params.coefficients().items():
        column = table.ebp == term[4:-1] if term.startswith("ebp[") else table[term]
        eta += beta * np.asarray(column, float)
    nodes, weights = np.polynomial.hermite_e.hermegauss(40)  # standard normal nodes
    u = np.hypot(params.sd_therapist, params.sd_client) * nodes
    cuts = np.asarray(params.thresholds)[None, :, None] - eta[:, None, None] - u[None, None, :]
    below = (1 / (1 + np.exp(-cuts))) @ (weights / weights.sum())  # (n, K-1): P(y <= k)
    cumulative = np.column_stack([np.zeros(len(table)), below, np.ones(len(table))])
    return np.diff(cumulative, axis=1).mean(axis=0)


def test_ordinal_item_shares_match_the_shares_its_parameters_imply():
    params = OrdinalParameters()
    table = canonical(simulate_cohort(CohortShape(1000, 3000, 9000), seed=5))
    observed = np.bincount(table.hw_extensiveness, minlength=5) / len(table)
    implied = implied_shares(table, params)
    assert np.abs(observed - implied).max() < 0.02, (observed, implied)
    assert implied.min() > 0.10  # every category has a reasonable share
    # The effects go in with their signs: a caregiver present (+0.6) shifts sessions up.
    for present in (0.0, 1.0):
        rows = table[table.caregiver_present == present]
        seen = np.bincount(rows.hw_extensiveness, minlength=5) / len(rows)
        assert np.abs(seen - implied_shares(rows, params)).max() < 0.03
    with_carer = table[table.caregiver_present == 1].hw_extensiveness.mean()
    assert with_carer > table[table.caregiver_present == 0].hw_extensiveness.mean()
    # Thresholds that differ from the truth's are told apart at this size.
    shifted = OrdinalParameters(thresholds=tuple(t + 0.3 for t in params.thresholds))
    assert np.abs(observed - implied_shares(table, shifted)).max() > 0.04


def test_the_ordinal_item_has_its_own_stream_and_the_canonical_table_its_categories():
    base = simulate_cohort(seed=3)
    other = TrueParameters(extensiveness=OrdinalParameters(thresholds=(0, 1, 2), sd_client=2.0))
    changed = simulate_cohort(truth=other, seed=3)
    rest = [c for c in base.columns if c != "hw_extensiveness"]
    assert changed[rest].equals(base[rest])  # no other column depends on the item
    assert set(changed.hw_extensiveness) == {0, 1, 2, 3}
    assert not changed.hw_extensiveness.equals(base.hw_extensiveness)
    table = canonical(base)
    assert np.array_equal(table.extensiveness, base.hw_extensiveness.astype(float))
    assert table.attrs["variables"]["extensiveness"] == {
        "type": "ordinal", "categories": ["0", "1", "2", "3", "4"]
    }  # fmt: skip


def test_truth_file_holds_the_ordinal_items_parameters():
    truth = json.loads((ROOT / "data" / "demo" / "truth.json").read_text())["extensiveness"]
    params = OrdinalParameters()
    assert truth["column"] == "hw_extensiveness"
    assert truth["categories"] == ["0", "1", "2", "3", "4"]
    assert truth["thresholds"] == {"0|1": 0.8, "1|2": 1.9, "2|3": 3.0, "3|4": 4.1}
    assert truth["coefficients"] == params.coefficients()
    assert truth["coefficients"]["caregiver_present"] == 0.6
    assert (
        truth["coefficients"]["ebp[Triple P]"] == 0.5 and "Intercept" not in truth["coefficients"]
    )
    assert truth["variance"]["therapist"]["sd"] == 0.7 and truth["variance"]["client"]["sd"] == 0.6
    assert truth["variance"]["program"]["sd"] == 0.5
    assert set(truth["within_between"]["caregiver_present"].values()) == {0.6}  # not split
    assert truth["variance"]["client"]["icc"] > truth["variance"]["therapist"]["icc"]


def test_programs_and_the_propensity_leave_the_other_columns_alone():
    # Programs, their intercepts and the caregiver propensity come from their own stream: with
    # no program variance and no propensity (TrueParameters()), every other column is what it
    # was before programs existed, seed for seed.
    plain = simulate_cohort(seed=3)
    fewer = simulate_cohort(CohortShape(n_programs=5, therapists_per_program=(10, 40)), seed=3)
    rest = [c for c in plain.columns if c != "program_id"]
    assert fewer[rest].equals(plain[rest])
    assert fewer.program_id.nunique() == 5
    assert fewer.groupby("program_id").therapist_id.nunique().between(10, 40).all()
    assert CohortShape(10, 20, 40).programs == 10  # at most one program per therapist
    assert canonical(fewer)["program"].equals(fewer.program_id)


def test_demo_truth_gives_programs_variance_and_clients_their_own_caregiver_rates():
    plain = canonical(simulate_cohort(CohortShape(1000, 3000, 9000), seed=6))
    demo = canonical(simulate_cohort(CohortShape(1000, 3000, 9000), DEMO_TRUTH, seed=6))

    # The propensity (SD 1.5 on the log-odds) spreads the clients' caregiver rates: many more
    # clients with three or more sessions always or never come with a caregiver.
    def constant_share(table):
        by_client = table.groupby("client").caregiver_present
        return by_client.nunique()[by_client.size() >= 3].eq(1).mean()

    assert constant_share(demo) > constant_share(plain) + 0.1
    assert 0.30 <= demo.homework.mean() <= 0.45
    assert DEMO_TRUTH.caregiver_split and not TrueParameters().caregiver_split
    assert DEMO_TRUTH.caregiver_parts() == (0.3, 1.2, 1.2)
