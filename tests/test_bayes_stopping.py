"""Sampling stops at the first check whose draws pass the diagnostics (engines/bayes/stopping.py)."""

import numpy as np
import pytest

from sessionmlm.engines.bayes import BayesSettings, fit
from sessionmlm.engines.bayes.model import compile_model
from sessionmlm.engines.bayes.stopping import checks_at
from sessionmlm.formula import parse_formula
from sessionmlm.model_data import build_model_data
from sessionmlm.simulate import CohortShape, canonical, simulate_cohort


def test_checks_start_where_the_posterior_checks_have_their_draws_and_end_before_the_last():
    s = BayesSettings(draws=2000, check_every=500)
    assert checks_at(s, least=1000, n_sessions=20_000) == [1000, 1500]
    assert checks_at(s, least=50, n_sessions=20_000) == [500, 1000, 1500]
    assert checks_at(s, least=1001, n_sessions=20_000) == [1500]
    assert checks_at(s, least=2000, n_sessions=20_000) == []
    assert checks_at(BayesSettings(draws=2000, check_every=0), 50, n_sessions=20_000) == []


def test_small_cohorts_take_every_draw_unless_told_otherwise():
    s = BayesSettings(draws=2000, check_every=500)
    assert s.check_from_sessions == 10_000
    assert checks_at(s, least=50, n_sessions=9_999) == []
    assert checks_at(s, least=50, n_sessions=10_000) == [500, 1000, 1500]
    assert checks_at(BayesSettings(draws=2000, check_every=500, check_from_sessions=0), 1000,
                     n_sessions=200) == [1000, 1500]  # fmt: skip


# 200 sessions: the posterior checks keep 4,000 draws, 2,000 per chain of two, so the first
# check is at 2,000 draws per chain.
RUN = BayesSettings(chains=2, draws=2400, tune=200, min_ess=50, max_rhat=1.05, max_attempts=1,
                    check_from_sessions=0)  # fmt: skip


@pytest.fixture(scope="module")
def runs():
    table = canonical(simulate_cohort(CohortShape(30, 80, 200), seed=11))
    spec = parse_formula("homework ~ caregiver_present + (1 | therapist/client)", "small")
    data = build_model_data(table, spec, {})
    compiled = compile_model(data, RUN)
    settings = {
        "all": RUN.__class__(**{**RUN.__dict__, "check_every": 0}),
        "stopped": RUN.__class__(**{**RUN.__dict__, "check_every": 400}),
        "never passes": RUN.__class__(**{**RUN.__dict__, "check_every": 400, "min_ess": 1e9}),
    }
    return {name: fit(data, s, compiled=compiled) for name, s in settings.items()}


def _draws(result, chains=2):
    """Coefficient draws as (chains, draws, terms)."""
    flat = result.posterior.coefficients
    return flat.reshape(chains, -1, flat.shape[-1])


@pytest.mark.slow
def test_a_fit_stopped_at_a_passed_check_has_the_first_draws_of_the_full_run(runs):
    full, stopped = _draws(runs["all"]), _draws(runs["stopped"])
    assert runs["all"].info["attempts"][0]["kept_draws"] == 2400 == full.shape[1]
    attempt = runs["stopped"].info["attempts"][0]
    assert attempt["kept_draws"] == 2000 == stopped.shape[1] and attempt["draws"] == 2400
    assert runs["stopped"].converged
    np.testing.assert_array_equal(stopped, full[:, :2000])


@pytest.mark.slow
def test_a_check_that_does_not_pass_samples_on_to_the_end(runs):
    never = runs["never passes"]
    assert never.info["attempts"][0]["kept_draws"] == 2400
    np.testing.assert_array_equal(_draws(never), _draws(runs["all"]))
    assert not never.converged and any("ESS" in p for p in never.info["problems"])
