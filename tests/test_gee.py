"""The GEE engine against the truth: population-averaged effects of simulated cohorts."""

import json
import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy.special import expit, logit
from statsmodels.genmod.cov_struct import Nested
from statsmodels.genmod.generalized_estimating_equations import GEE

from sessionmlm.engines import ESTIMATE_COLUMNS, FIT_KEYS, VARIANCE_COLUMNS, write_result
from sessionmlm.engines.gee import QUANTITY, fit
from sessionmlm.formula import parse_formula
from sessionmlm.model_data import build_model_data
from sessionmlm.simulate import CohortShape, TrueParameters, canonical, simulate_cohort

# Every predictor with a nonzero true effect, so the only source of attenuation is the random
# intercepts (leaving out a predictor would attenuate too: logistic models are non-collapsible).
RHS = "caregiver_present + child_age + licensed + stressful_event + n_ebps_trained + ebp"
C = 16 * math.sqrt(3) / (15 * math.pi)  # Zeger, Liang & Albert (1988)


def model_data(shape, truth, groups="therapist/client", seed=1):
    table = canonical(simulate_cohort(shape, truth, seed=seed))
    spec = parse_formula(f"homework ~ {RHS} + (1 | {groups})", "m")
    return build_model_data(table, spec, {"ebp": "MAP"})


@pytest.fixture(scope="module")
def small():
    return model_data(CohortShape(60, 200, 700), TrueParameters(sd_therapist=1.2, sd_client=1.2))


@pytest.fixture(scope="module")
def unclustered():
    truth = TrueParameters(sd_therapist=0.0, sd_client=0.0)
    return model_data(CohortShape(n_therapists=300, n_clients=1500, n_sessions=6000), truth, seed=5)


def test_output_contract(small, tmp_path):
    result = fit(small, {})
    est, var, info = result.estimates, result.variance, result.info
    assert result.converged and info["status"] == "ok" and info["problems"] == []
    assert list(est.columns) == [*ESTIMATE_COLUMNS, "p_value"]
    assert list(est.term) == ["Intercept", *small.terms]
    assert np.allclose(est.odds_ratio, np.exp(est.estimate))
    assert np.allclose(est.ci_high - est.estimate, 1.959964 * est.std_error)
    assert set(FIT_KEYS) <= set(info) and info["engine"] == "gee" and info["seed"] is None
    assert info["scale"] == "population-averaged"
    assert info["units"] == {"therapist": 60, "client": 200} and info["n_obs"] == 700
    assert info["diagnostics"]["working_covariance"] == "Nested"
    assert info["diagnostics"]["n_clusters"] == 60
    assert info["settings"] == {"covariance": "robust", "max_iter": 100, "working": "exchangeable"}
    assert (
        info["warnings"] == []
        and "nested exchangeable" in info["diagnostics"]["working_covariance_note"]
    )
    assert list(var.level) == ["therapist", "client"]
    assert (var["quantity"] == QUANTITY).all() and "not a random-effect variance" in QUANTITY
    assert var[["sd", "sd_low", "sd_high", "mor"]].isna().all().all()
    # Sharing a client means sharing its therapist too, so that correlation is the larger.
    assert 0 < var.icc[0] < var.icc[1] < 1
    paths = [tmp_path / n for n in ("estimates.csv", "variance.csv", "fit.json")]
    write_result(result, *paths)
    assert list(pd.read_csv(paths[0]).columns) == [*ESTIMATE_COLUMNS, "p_value"]
    written = pd.read_csv(paths[1])
    assert list(written.columns[:6]) == VARIANCE_COLUMNS and (written.quantity == QUANTITY).all()
    assert json.loads(paths[2].read_text())["engine"] == "gee"


def test_working_correlations_are_those_statsmodels_fits_with(small):
    """The icc column must equal the entries of statsmodels' own working correlation matrix."""
    var = fit(small, {}).variance
    therapist, client = small.unit_of_session
    exog = np.column_stack([np.ones(len(small.y)), small.X])
    model = GEE(small.y, exog, groups=therapist, family=sm.families.Binomial(),
                cov_struct=Nested(), dep_data=client[:, None])  # fmt: skip
    result = model.fit(maxiter=100)
    # The first therapist with two clients, one of whom has two sessions.
    for i, label in enumerate(model.group_labels):  # noqa: B007 (i is used after the loop)
        rows = model.group_indices[label]
        clients = client[rows]
        if len(set(clients)) > 1 and len(clients) > len(set(clients)):
            break
    else:
        pytest.fail("no therapist with two clients, one with two sessions")
    vmat, is_cor = result.cov_struct.covariance_matrix(model.cached_means[i][0], i)
    assert is_cor
    same_client = clients[:, None] == clients[None, :]
    off_diagonal = ~np.eye(len(rows), dtype=bool)
    assert np.allclose(vmat[same_client & off_diagonal], var.icc[1])
    assert np.allclose(vmat[~same_client], var.icc[0])


def test_bias_reduced_covariance_widens_the_intervals(small):
    robust = fit(small, {"covariance": "robust"}).estimates
    reduced = fit(small, {"covariance": "bias_reduced"})
    assert reduced.info["diagnostics"]["cov_type"] == "bias_reduced"
    # Mancl & DeRouen's correction inflates residuals by the leverage; estimates are unchanged.
    assert np.allclose(reduced.estimates.estimate, robust.estimate)
    assert (reduced.estimates.std_error > robust.std_error).all()


def test_agrees_with_logistic_regression_without_clustering(unclustered):
    data = unclustered
    result = fit(data, {})
    est = result.estimates
    exog = np.column_stack([np.ones(len(data.y)), data.X])
    logistic = sm.Logit(data.y, exog).fit(disp=0)
    # With no clustering the working correlations are moment estimates of 0 (the inner one
    # is also clipped at 0): with 300 therapists of ~20 sessions their noise is below 0.01.
    assert np.all(np.abs(result.variance.icc) < 0.02)
    # Near-zero working correlations make the GEE equations the logistic score equations, so
    # the estimates differ by a small fraction of a standard error.
    assert np.all(np.abs(est.estimate - logistic.params) < 0.1 * logistic.bse)
    # The GEE sandwich is then the therapist-clustered sandwich of the logistic fit.
    clustered = sm.Logit(data.y, exog).fit(
        disp=0,
        cov_type="cluster",
        cov_kwds={"groups": data.unit_of_session[0], "use_correction": False},
    )
    assert np.allclose(est.std_error, clustered.bse, rtol=0.02)


def test_independence_working_covariance_is_clustered_logistic_regression(small):
    """Exact reference: GEE with independence working covariance solves the logistic score
    equations, and its sandwich is the therapist-clustered sandwich of that fit."""
    result = fit(small, {"working": "independence"})
    est, var = result.estimates, result.variance
    assert result.converged and result.info["diagnostics"]["working_covariance"] == "Independence"
    exog = np.column_stack([np.ones(len(small.y)), small.X])
    clustered = sm.Logit(small.y, exog).fit(
        disp=0,
        cov_type="cluster",
        cov_kwds={"groups": small.unit_of_session[0], "use_correction": False},
    )
    assert np.allclose(est.estimate, clustered.params, atol=1e-8)
    assert np.allclose(est.std_error, clustered.bse, rtol=1e-8)
    # No working correlation was estimated: the one assumed is 0, and the table says so.
    assert (var.icc == 0).all() and var.dependence_parameter.isna().all()
    assert var.quantity.str.startswith("none: independence").all()


def exact_marginal_log_or(beta, sd, eta):
    """Population-averaged log-odds ratio of a 0/1 predictor at fixed-part linear predictor eta."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(60)
    weights = weights / weights.sum()

    def marginal(e):
        return logit(expit(e[:, None] + sd * nodes[None, :]) @ weights)

    return marginal(eta + beta) - marginal(eta)


def test_population_averaged_attenuation():
    truth = TrueParameters(sd_therapist=1.5, sd_client=1.5)
    # 1000 therapists, 5000 clients, 20000 sessions: the robust SE of the caregiver effect is
    # about 0.027 (20 seeds gave an empirical SD of 0.026), so 3 SE is 0.08, well under the
    # 0.28 gap between the conditional effect (0.75) and its marginal counterpart (0.47).
    data = model_data(CohortShape(1000, 5000, 20000), truth)
    result = fit(data, {})
    assert result.converged
    row = result.estimates.set_index("term").loc["caregiver_present"]
    beta = truth.caregiver_present
    sd = math.hypot(truth.sd_therapist, truth.sd_client)
    approx = beta / math.sqrt(1 + C**2 * sd**2)
    assert row.ci_high < beta  # clearly attenuated
    # The approximation is itself off by a few hundredths at this SD (the logistic-normal
    # integral is not exactly a rescaled logistic); bound that error by exact quadrature over
    # the central 90% of the sessions' true linear predictors (caregiver term excluded).
    coefficients = truth.coefficients()
    fixed = coefficients["Intercept"] + data.X @ [coefficients[t] for t in data.terms]
    fixed -= beta * data.X[:, data.terms.index("caregiver_present")]
    eta = np.linspace(*np.quantile(fixed, [0.05, 0.95]), 50)
    approx_error = np.max(np.abs(exact_marginal_log_or(beta, sd, eta) - approx))
    assert approx_error < 0.05
    assert abs(row.estimate - approx) < 3 * row.std_error + approx_error
    # The working correlations are on the observed 0/1 scale, below the latent-scale ICCs.
    latent = np.cumsum([truth.sd_therapist**2, truth.sd_client**2]) / (sd**2 + math.pi**2 / 3)
    assert np.all((result.variance.icc > 0.5 * latent) & (result.variance.icc < latent))


def test_one_grouping_level_uses_exchangeable():
    data = model_data(CohortShape(80, 250, 900), TrueParameters(sd_client=0.0), groups="therapist")
    result = fit(data, {})
    var, info = result.variance, result.info
    assert result.converged and info["diagnostics"]["working_covariance"] == "Exchangeable"
    assert info["units"] == {"therapist": 80} and list(var.level) == ["therapist"]
    # Exchangeable's dependence parameter is the working correlation itself; the therapist
    # intercepts (SD 0.8) make it positive.
    assert var.icc[0] == var.dependence_parameter[0] and 0 < var.icc[0] < 0.3


def test_iteration_limit_is_reported_as_failure(small):
    result = fit(small, {"max_iter": 1})
    assert not result.converged and result.info["status"] == "failed"
    # statsmodels itself flags this run converged (see the engine); the engine does not.
    assert result.info["problems"] == ["GEE iterations did not converge within max_iter = 1"]
    limited = fit(small, {"max_iter": 3})  # stops at the limit, and statsmodels warns
    assert not limited.converged
    assert limited.info["problems"][0].startswith("statsmodels IterationLimitWarning")


def test_unknown_setting_names_the_valid_keys(small):
    with pytest.raises(ValueError, match="unknown gee setting.*'chains'.*covariance, max_iter"):
        fit(small, {"chains": 4})
    with pytest.raises(ValueError, match="robust, bias_reduced"):
        fit(small, {"covariance": "naive"})
    with pytest.raises(ValueError, match="exchangeable, independence"):
        fit(small, {"working": "nested"})
