"""Predicted probabilities against brute force and the delta method."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from scipy.special import expit

from sessionmlm.predictions import (
    AVERAGED,
    CONDITIONAL,
    averaged_probability,
    predicted_probabilities,
)

TERMS = ["Intercept", "caregiver_present", "child_age", "licensed", "stressful_event"]
BETA = np.array([-2.2, 0.75, 0.08, -0.6, -0.1])


def test_averaged_probability_equals_monte_carlo():
    u = np.random.default_rng(0).normal(0, 1.2, 2_000_000)
    for eta in (-2.5, 0.0, 1.3):
        assert averaged_probability(np.array([eta]), 1.2)[0] == pytest.approx(
            expit(eta + u).mean(), abs=1e-3
        )
    assert averaged_probability(np.array([0.7]), 0.0)[0] == pytest.approx(expit(0.7))


def test_conditional_and_averaged_predictions():
    vcov = np.diag([0.16, 0.04, 0.0009, 0.08, 0.01])
    table = predicted_probabilities(TERMS, BETA, vcov, np.array([0.8, 0.9]),
                                    {"stressful_event": 0.2}, draws=20_000)  # fmt: skip
    row = table[(table.kind == CONDITIONAL) & (table.caregiver_present == 1)
                & (table.licensed == 0) & (table.child_age == 10)].iloc[0]  # fmt: skip
    x = np.array([1, 1, 10, 0, 0.2])
    assert row.probability == pytest.approx(expit(x @ BETA))
    # The simulated interval agrees with the delta method on the logit scale.
    se = np.sqrt(x @ vcov @ x)
    z = stats.norm.ppf(0.975)
    assert (row.low, row.high) == pytest.approx(
        (expit(x @ BETA - z * se), expit(x @ BETA + z * se)), abs=0.01
    )
    averaged = table[(table.kind == AVERAGED) & (table.caregiver_present == 1)
                     & (table.licensed == 0) & (table.child_age == 10)].iloc[0]  # fmt: skip
    assert averaged.probability == pytest.approx(
        averaged_probability(np.array([x @ BETA]), np.hypot(0.8, 0.9))[0]
    )
    # Below one half, averaging over therapists pulls the probability up towards one half.
    assert averaged.probability > row.probability
    assert len(table) == 2 * 2 * 2 * 15


def test_no_uncertainty_gives_a_point_interval():
    table = predicted_probabilities(TERMS, BETA, np.zeros((5, 5)), np.array([0.8, 0.9]),
                                    {"stressful_event": 0.0}, draws=50)  # fmt: skip
    assert np.allclose(table.low, table.probability) and np.allclose(table.high, table.probability)
