"""Random slopes in the after-fit steps against brute-force integrals (no fit)."""

import numpy as np
from scipy import integrate, stats
from scipy.special import expit

from sessionmlm.checks import Posterior, unit_loglik
from sessionmlm.posterior import SlopeDraws
from sessionmlm.prediction_plan import PredictionPlan
from sessionmlm.predictions import AVERAGED, probabilities_from_draws
from tests.test_checks import HALF, NORMAL, _data

COV = np.array([[0.5, -0.3], [-0.3, 0.8]])  # client intercept at x = 0 and slope of x


def _slope_posterior(S: int, n_therapists: int, n_clients: int) -> Posterior:
    rng = np.random.default_rng(2)
    coefficients = np.array([-0.3, 0.8]) + 0.1 * rng.standard_normal((S, 2))
    cov = np.broadcast_to(COV, (S, 2, 2)) * np.exp(0.1 * rng.standard_normal((S, 1, 1)))
    sigma = np.column_stack([np.full(S, 0.7), np.sqrt(cov[:, 0, 0])])
    return Posterior(
        gamma=coefficients[:, 1:], coefficients=coefficients, sigma=sigma,
        z=(rng.standard_normal((S, n_therapists)), rng.standard_normal((S, n_clients))),
        priors={"coefficients": NORMAL, "group_sd": HALF},
        slopes=(SlopeDraws(1, (0,), cov, rng.standard_normal((S, n_clients, 1))),),
    )  # fmt: skip


def test_loo_integrates_a_clients_intercept_and_slope_out():
    """A client's log-likelihood with its (intercept, slope) integrated over their bivariate
    normal, against scipy's adaptive 2-D integral."""
    y, x = [1, 0, 1, 1, 0], [0.0, 1.0, 2.0, -1.0, 0.5]
    data = _data(y, x, [0, 0, 0, 1, 1], [0, 0, 1, 2, 2])
    post = _slope_posterior(3, 2, 3)
    loglik, _ = unit_loglik(data, post)
    s, client = 1, 0
    sessions = np.flatnonzero(data.unit_of_session[1] == client)
    b0, b1 = post.coefficients[s]
    fixed = b0 + b1 * data.X[sessions, 0] + post.sigma[s, 0] * post.z[0][s, 0]
    density = stats.multivariate_normal(np.zeros(2), post.slopes[0].cov[s])

    def integrand(u1, u0):
        p = expit(fixed + u0 + u1 * data.X[sessions, 0])
        return np.prod(np.where(data.y[sessions] == 1, p, 1 - p)) * density.pdf([u0, u1])

    exact, _ = integrate.dblquad(integrand, -6, 6, -6, 6, epsabs=1e-10)
    assert np.isclose(loglik[s, client], np.log(exact), atol=1e-4)


def test_averaged_predictions_spread_with_x_under_a_random_slope():
    """E[expit(x'beta + u0 + u1 x)] with (u0, u1) ~ N(0, COV) at each x, against 1-D
    integration over u0 + u1 x ~ N(0, r' COV r), r = (1, x), with a therapist SD on top."""
    plan = PredictionPlan("m", "x", (0.0, 1.0, 3.0), (), {}, {})
    beta = np.array([[-0.3, 0.8]])
    sds = np.array([[0.7, np.sqrt(COV[0, 0])]])
    slopes = ((1, [1], COV[None]),)
    rows = probabilities_from_draws(["Intercept", "x"], beta, sds, plan, slopes=slopes)
    got = rows[rows.kind == AVERAGED].probability.to_numpy()
    for x, p in zip(plan.x_values, got, strict=True):
        r = np.array([1.0, x])
        sd = np.sqrt(0.7**2 + r @ COV @ r)
        exact, _ = integrate.quad(
            lambda u, x=x, sd=sd: expit(-0.3 + 0.8 * x + u) * stats.norm.pdf(u, 0, sd), -12, 12
        )
        assert np.isclose(p, exact, atol=1e-6), x
