"""The bayes engine on every coder's codes: weighted rows, and coders' severities recovered.

The weights are checked exactly (a duplicated row of weight 1/2 is the row once); the coder
model against the simulator's truth (simulate_item_truth.py: every coder's code of an item is
a logit of the item's effects, the units' intercepts and the coder's severity), on one seed
chosen before this test's first run.
"""

import dataclasses

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sessionmlm.all_codes import CODER, long_table, with_coder
from sessionmlm.engines.bayes import BayesSettings, fit
from sessionmlm.engines.bayes.model import build_model
from sessionmlm.engines.bayes.settings import BayesSettings as Settings
from sessionmlm.formula import parse_formula
from sessionmlm.model_data import build_model_data
from sessionmlm.simulate import DEMO_TRUTH, CohortShape, canonical, simulate_coded_cohort
from sessionmlm.structure import complete_spec

pytestmark = pytest.mark.slow

# A first attempt that misses its diagnostics is retried with twice the draws, as the engine
# does (default max_attempts 3): one attempt of this size sometimes missed (R-hat 1.056 in CI).
QUICK = BayesSettings(chains=2, draws=500, tune=500, min_ess=100, max_rhat=1.05, max_attempts=2)
LEVELS = ("program", "therapist", "client")


def spec_of(formula: str, name: str = "m"):
    spec, problems = complete_spec(parse_formula(formula, name), {}, LEVELS, "test")
    assert not problems
    return spec


@pytest.mark.parametrize("item", ["pe_praise", "pe_rapport"])  # binary, ordinal
def test_a_row_twice_at_weight_one_half_is_the_row_once(item):
    # Brute force: the model's log density at random points, the data as they are against
    # every session twice with each row weighing 1/2 (weight_by the session).
    table = canonical(simulate_coded_cohort(CohortShape(20, 50, 120), DEMO_TRUTH, seed=4)[0],
                      coding=DEMO_TRUTH.coding)  # fmt: skip
    spec = spec_of(f"{item} ~ caregiver_present + child_age + (1 | therapist/client)")
    once = build_model(build_model_data(table, spec, {}), Settings())
    twice_data = build_model_data(
        pd.concat([table, table], ignore_index=True), dataclasses.replace(spec, weight_by="session"),
        {},
    )  # fmt: skip
    assert np.allclose(twice_data.weights, 0.5)
    twice = build_model(twice_data, Settings())
    logp_once, logp_twice = once.compile_logp(), twice.compile_logp()
    rng = np.random.default_rng(0)
    for _ in range(3):
        point = {k: v + rng.normal(0, 0.5, np.shape(v)) for k, v in once.initial_point().items()}
        assert logp_twice(point) == pytest.approx(logp_once(point), rel=1e-10)


# Every session coded by its primary coder; 60% by a second, 15% by a third (the demo has
# 20% and 5%: more, for power). Six coders with severities -0.45 to 0.40 (SD 0.31).
CODING = dataclasses.replace(DEMO_TRUTH.coding, double_share=0.6, triple_share=0.15)
TRUTH = dataclasses.replace(DEMO_TRUTH, coding=CODING)
ITEM = next(item for item in CODING.items if item.name == "pe_praise")  # binary, reliable


@pytest.fixture(scope="module")
def coder_fit():
    raw, double = simulate_coded_cohort(CohortShape(150, 600, 2000), TRUTH, seed=5)
    items = [item.name for item in CODING.items]
    codes = double.rename(columns={"session_id": "session", "coder_id": CODER})
    codes[items] = codes[items].astype(float)
    table = canonical(raw, coding=CODING).drop(columns="coder_id")
    joined = long_table(table, "session", raw.coder_id.to_numpy(), codes, items)
    spec = with_coder(
        spec_of("pe_praise ~ caregiver_present + child_age + ebp + (1 | program/therapist/client)"),
        "session",
    )  # fmt: skip
    data = build_model_data(joined.table, spec, {"ebp": "MAP"})
    return joined, data, fit(data, QUICK)


def test_the_long_table_holds_every_simulated_code(coder_fit):
    joined, data, _ = coder_fit
    # 1,200 sessions with a second coder, 300 of them a third: 1,500 more rows, none differing
    # from the primary codes (the simulator's double-coded table repeats them).
    assert (joined.extra_rows, joined.double_coded, joined.coders) == (1500, 1200, 6)
    assert not any(joined.differ.values())
    assert data.weights.sum() == pytest.approx(2000)


def test_coder_severities_and_their_sd_are_recovered(coder_fit):
    joined, data, result = coder_fit
    assert result.converged, result.info["problems"]
    post = result.posterior
    severity = post.sigma[post.kept, 0][:, None] * post.z[0]  # (T, 6), coders in id order
    assert list(data.unit_ids[0]) == list(CODING.coders)
    truth = np.asarray(CODING.severities)
    # Six intervals at once: each at 1 - 0.05/6 (Bonferroni), so all six cover with >= 95%.
    low, high = np.quantile(severity, [0.05 / 12, 1 - 0.05 / 12], axis=0)
    assert ((low <= truth) & (truth <= high)).all(), (low, high)
    # The coder model tells coders apart: the most lenient (R06, +0.40) above the most severe
    # (R01, -0.45) in nearly every draw.
    assert (severity[:, 5] > severity[:, 0]).mean() > 0.975
    row = result.variance.set_index("level").loc[CODER]
    sd_truth = np.std(truth, ddof=1)  # truth.json's sd_severity
    assert row.sd_low <= sd_truth <= row.sd_high and row.units == 6


def test_coefficients_agree_with_the_truth(coder_fit):
    _, data, result = coder_fit
    estimates = result.estimates.set_index("term")
    truth = {term: ITEM.coefficients.get(term, 0.0) for term in data.terms}
    truth["Intercept"] = ITEM.intercept  # the severities average zero, as the truth's
    assert np.mean(CODING.severities) == pytest.approx(0.0)
    # Every coefficient at once: normal intervals at 1 - 0.05/k from the posterior draws.
    draws = pd.DataFrame(result.posterior.coefficients, columns=["Intercept", *data.terms])
    z = stats.norm.ppf(1 - 0.05 / (2 * len(truth)))
    for term, value in truth.items():
        gap = abs(draws[term].mean() - value) / draws[term].std()
        assert gap < z, (term, estimates.loc[term, "estimate"], value)
