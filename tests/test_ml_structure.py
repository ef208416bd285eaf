"""Program levels and random slopes in the ml engine against brute-force integration."""

from __future__ import annotations

import numpy as np
import pytest

from sessionmlm.engines.ml.quadrature import NestedQuadrature, nesting_from_codes
from sessionmlm.engines.ml.quadrature_outer import OuterQuadrature
from tests.reference_ordinal import three_level_loglik
from tests.reference_outer import program_loglik, slope_loglik

THRESHOLDS = np.array([-1.2, 0.3, 1.9])


def tiny(seed: int, programs: int = 2, ordinal: bool = False):
    """2 therapists per program, 2 clients each, 2-3 sessions each; offsets, outcomes, x."""
    rng = np.random.default_rng(seed)
    program, therapist, client = [], [], []
    for p in range(programs):
        for t in range(2):
            for c in range(2):
                n = rng.integers(2, 4)
                program += [p] * n
                therapist += [2 * p + t] * n
                client += [4 * p + 2 * t + c] * n
    program, therapist, client = map(np.array, (program, therapist, client))
    n = len(program)
    offset = rng.normal(-0.3, 1.0, n)
    if ordinal:
        y = np.r_[np.arange(4), rng.integers(0, 4, n - 4)]
    else:
        y = (rng.random(n) < 0.5).astype(np.int64)
    x = rng.integers(0, 2, n).astype(float)
    return y, offset, program, therapist, client, x


def outer(y, program, therapist, client, points, kernel_points=12, by_therapist=False):
    """OuterQuadrature over programs (or therapists) and the order it sorts sessions in."""
    order = np.lexsort((client, therapist, program))
    _, nesting = nesting_from_codes(therapist[order], client[order])
    first = nesting.client_start[nesting.therapist_start[:-1]]
    if by_therapist:
        starts = np.arange(nesting.n_therapists + 1)
    else:
        unit = program[order][first]
        starts = np.r_[0, np.flatnonzero(np.diff(unit)) + 1, nesting.n_therapists]
    quadrature = OuterQuadrature(
        y[order].astype(float), nesting, starts, points, (kernel_points, kernel_points)
    )
    return quadrature, order


def test_oracle_agrees_with_gauss_kronrod_and_with_more_nodes():
    # The Legendre oracle with no program variance is scipy's nested adaptive Gauss-Kronrod
    # oracle (a different method), and 200 nodes change nothing where the integrand is
    # most peaked (the largest SD, ordinal).
    y, offset, program, therapist, client, _ = tiny(1)
    ours = program_loglik(y, offset, program, therapist, client, [0.0], 0.0, 1.0, 0.8)
    quad = three_level_loglik(y, offset, therapist, client, [0.0], 1.0, 0.8)
    assert ours == pytest.approx(quad, abs=1e-10)
    y, offset, program, therapist, client, _ = tiny(2, ordinal=True)
    args = (y, offset, program, therapist, client, THRESHOLDS, 2.0, 0.7, 0.4)
    assert program_loglik(*args) == pytest.approx(program_loglik(*args, nodes=200), abs=1e-10)


# 20 points per level reach 1e-9 on these cases and 30 reach 1e-13 (measured). With 12, the
# kernel's client integral is 4e-7 off at sd_c = 1.5 with 2-3 sessions per client, and 3
# program points are 8e-5 off at sd_p = 1.2, 5 are 8e-7 and 8 are 1e-9.
@pytest.mark.parametrize("ordinal", [False, True])
@pytest.mark.parametrize("sd_p, sd_t, sd_c", [(1.2, 1.0, 0.8), (0.5, 0.3, 1.5), (2.0, 0.7, 0.4)])
def test_program_level_equals_brute_force(ordinal, sd_p, sd_t, sd_c):
    y, offset, program, therapist, client, _ = tiny(2, ordinal=ordinal)
    theta = THRESHOLDS if ordinal else None
    exact = program_loglik(y, offset, program, therapist, client,
                           [0.0] if theta is None else theta, sd_p, sd_t, sd_c)  # fmt: skip
    quadrature, order = outer(y, program, therapist, client, points=20, kernel_points=20)
    loading = np.full(len(y), sd_p)
    value = quadrature.evaluate(offset[order], loading, sd_t, sd_c, theta)[0]
    assert value == pytest.approx(exact, abs=1e-8)


def test_no_program_variance_is_the_two_level_likelihood_exactly():
    y, offset, program, therapist, client, _ = tiny(3)
    quadrature, order = outer(y, program, therapist, client, points=5)
    value = quadrature.evaluate(offset[order], np.zeros(len(y)), 0.9, 0.6)[0]
    _, nesting = nesting_from_codes(therapist[order], client[order])
    two = NestedQuadrature(y[order].astype(float), nesting, 12, 12)
    assert value == two.evaluate(offset[order], 0.9, 0.6)[0]


@pytest.mark.parametrize("ordinal", [False, True])
def test_gradient_at_fixed_nodes_matches_differences_of_the_value(ordinal):
    # The gradient holds the adapted nodes fixed; the value re-adapts them. They differ by the
    # nodes' effect on the quadrature error: with 8 program points (error about 1e-9 in the
    # value) the difference stays below 1e-6.
    y, offset, program, therapist, client, _ = tiny(4, programs=3, ordinal=ordinal)
    theta = THRESHOLDS if ordinal else None
    quadrature, order = outer(y, program, therapist, client, points=8)
    off, sd_p, sd_t, sd_c = offset[order], 1.1, 0.9, 0.7
    n = len(y)

    def ll(o=off, a=sd_p, b=sd_t, c=sd_c, th=theta):
        return quadrature.evaluate(o, np.full(n, a), b, c, th)[0]

    _, g_off, g_load, d_t, d_c, d_theta = quadrature.evaluate(off, np.full(n, sd_p), sd_t, sd_c,
                                                              theta)  # fmt: skip
    h = 1e-5
    numeric = [(ll(o=off + h * e) - ll(o=off - h * e)) / (2 * h) for e in np.eye(n)]
    assert np.allclose(g_off, numeric, atol=1e-6)
    assert g_load.sum() == pytest.approx((ll(a=sd_p + h) - ll(a=sd_p - h)) / (2 * h), abs=1e-6)
    assert d_t == pytest.approx((ll(b=sd_t + h) - ll(b=sd_t - h)) / (2 * h), abs=1e-6)
    assert d_c == pytest.approx((ll(c=sd_c + h) - ll(c=sd_c - h)) / (2 * h), abs=1e-6)
    if ordinal:
        numeric = [(ll(th=theta + h * e) - ll(th=theta - h * e)) / (2 * h) for e in np.eye(3)]
        assert np.allclose(d_theta, numeric, atol=1e-6)


# --- A therapist's random slope ---------------------------------------------------------------


def slope_model(y, offset, therapist, client, x, ordinal, points=20, outer_points=20):
    """SlopeLogit on the tiny design; its one coefficient multiplies the offset (fixed at 1)."""
    from sessionmlm.engines.ml.likelihood_outer import SlopeLogit

    program = np.zeros(len(y), dtype=np.int64)
    quadrature, order = outer(y, program, therapist, client, 2, by_therapist=True)
    names = (["offset", *(["0|1", "1|2", "2|3"] if ordinal else [])], ["therapist", "client"])
    variance = ["sd therapist", "sd client", "sd therapist:x", "atanh rho therapist"]
    model = SlopeLogit(
        y[order].astype(float), offset[order][:, None], names, variance,
        quadrature.nesting, quadrature.unit_start, 2, points, outer_points,
        3 if ordinal else 0, x=x[order],
    )  # fmt: skip
    return model


def slope_params(ordinal, s0, sd_c, s1, rho):
    return np.r_[1.0, THRESHOLDS if ordinal else [], s0, sd_c, s1, np.arctanh(rho)]


# 20 points in each of the three integrals: 1e-10 from the oracle at these SDs (measured; 5
# outer points are 5e-8 off, 8 are 2e-10).
@pytest.mark.parametrize("ordinal", [False, True])
@pytest.mark.parametrize("s0, s1, rho, sd_c", [(0.9, 0.7, -0.4, 0.8), (0.5, 1.2, 0.8, 0.3)])
def test_slope_model_equals_brute_force(ordinal, s0, s1, rho, sd_c):
    y, offset, _, therapist, client, x = tiny(5, programs=2, ordinal=ordinal)
    exact = slope_loglik(y, offset, x, therapist, client, THRESHOLDS if ordinal else [0.0],
                         s0, s1, rho, sd_c)  # fmt: skip
    model = slope_model(y, offset, therapist, client, x, ordinal)
    assert model.loglike(slope_params(ordinal, s0, sd_c, s1, rho)) == pytest.approx(exact, abs=1e-8)


@pytest.mark.parametrize("ordinal", [False, True])
def test_no_slope_variance_is_the_intercept_only_model_exactly(ordinal):
    from sessionmlm.engines.ml.likelihood import NestedLogit

    y, offset, _, therapist, client, x = tiny(6, ordinal=ordinal)
    model = slope_model(y, offset, therapist, client, x, ordinal, points=12, outer_points=5)
    order, nesting = nesting_from_codes(therapist, client)
    names = (["offset", *(["0|1", "1|2", "2|3"] if ordinal else [])], ["therapist", "client"])
    plain = NestedLogit(y[order].astype(float), offset[order][:, None], names, nesting, 2, 12,
                        3 if ordinal else 0)  # fmt: skip
    intercepts = np.r_[1.0, THRESHOLDS if ordinal else [], 0.9, 0.6]
    assert model.loglike(slope_params(ordinal, 0.9, 0.6, 0.0, 0.0)) == plain.loglike(intercepts)


@pytest.mark.parametrize("ordinal", [False, True])
def test_slope_gradient_matches_differences_of_the_value(ordinal):
    # As for programs: the gradient at fixed nodes, within 1e-6 of the value's differences.
    y, offset, _, therapist, client, x = tiny(7, programs=3, ordinal=ordinal)
    model = slope_model(y, offset, therapist, client, x, ordinal, points=8, outer_points=8)
    p = slope_params(ordinal, 0.8, 0.7, 0.9, 0.3)
    h = 1e-5
    numeric = [(model.loglike(p + h * e) - model.loglike(p - h * e)) / (2 * h)
               for e in np.eye(len(p))]  # fmt: skip
    assert np.allclose(model.score(p), numeric, atol=1e-6)


# --- Recovery of known parameters ---------------------------------------------------------------


def _within(estimate, low, high, truth, multiple=3.5):
    """|estimate - truth| within `multiple` SEs, the SE read off a 95% interval's half-width."""
    se = (high - low) / (2 * 1.959964)
    return abs(estimate - truth) < multiple * se


def _assert_recovered(result, truth):
    """Every coefficient and SD within 3.5 SEs of its truth (an SD's SE read off its skewed
    profile interval's half-width, which still gives its scale)."""
    coefficients, sds = _truths(truth)
    assert sorted(result.estimates.term) == sorted(coefficients)
    for row in result.estimates.itertuples():
        assert _within(row.estimate, row.ci_low, row.ci_high, coefficients[row.term])
    for row in result.variance.itertuples():
        assert _within(row.sd, row.sd_low, row.sd_high, sds[row.level]), row


def _fit(structure, seed):
    """The ml fit of structure's own model to data drawn from it."""
    from sessionmlm.engines import ml
    from sessionmlm.model_data import build_model_data
    from sessionmlm.simulate_structures import simulate_structure

    table = simulate_structure(structure, seed)
    result = ml.fit(build_model_data(table, structure.spec(), {}), {})
    assert result.converged, result.info["problems"]
    return result


def _truths(s):
    """The Structure's coefficients (by term) and random-effect SDs (by level)."""
    coefficients = {"Intercept": s.intercept, **s.coefficients}
    sds = {g: s.sd[g] for g in s.groups}
    if s.slope_sd:
        sds["therapist:caregiver_present"] = s.slope_sd
    return coefficients, sds


# The designs' fixed part: caregiver_present per session and licensed per therapist.
FIXED = {"intercept": -0.8, "coefficients": {"caregiver_present": 0.7, "licensed": -0.5}}


def test_three_levels_recover_the_truth():
    # 30 programs; every estimate within 3.5 SEs of its truth (a chance failure has
    # probability under 0.1% each). Seed 11, fixed before the first run.
    from sessionmlm.simulate_structures import Structure

    truth = Structure(programs=30, therapists=120, clients=360, sessions=1080,
                      sd={"program": 0.6, "therapist": 0.7, "client": 0.8}, **FIXED)  # fmt: skip
    assert truth.spec().groups == ("program", "therapist", "client")
    result = _fit(truth, seed=11)
    _assert_recovered(result, truth)
    assert list(result.variance["kind"]) == ["intercept"] * 3


def test_random_slope_recovers_the_truth():
    # 5 sessions per client on average: with 3 (1,350 sessions) seed 12's correlation went to
    # the boundary (+1, no Wald interval); the design was enlarged after that run, the seed
    # kept. The boundary was then found to be mostly the optimiser's (fitting._off_the_boundary):
    # seeds 1-12 of this design now give one fit at +1, where there were about 8.
    from sessionmlm.simulate_structures import Structure

    truth = Structure(therapists=150, clients=450, sessions=2250, slope_sd=0.8,
                      correlation=0.5, sd={"therapist": 0.7, "client": 0.6}, **FIXED)  # fmt: skip
    result = _fit(truth, seed=12)
    _assert_recovered(result, truth)
    assert list(result.variance["kind"]) == ["intercept", "intercept", "slope"]
    assert np.isnan(result.variance["icc"].iloc[2])
    (correlation,) = result.info["correlations"]
    assert correlation["terms"] == ["Intercept", "caregiver_present"]
    assert correlation["interval"] == "profile likelihood"
    assert correlation["ci_low"] <= truth.correlation <= correlation["ci_high"]
    assert correlation["ci_low"] <= correlation["estimate"] <= correlation["ci_high"]


def test_structures_the_ml_engine_cannot_fit_are_refused_by_name():
    from sessionmlm.engines.ml import cannot_fit
    from sessionmlm.formula import parse_formula

    def why(formula):
        return cannot_fit(parse_formula(formula, "m"))

    assert why("y ~ x + (1 | program/therapist/client)") == ""
    assert why("y ~ x + (1 + x | therapist) + (1 | client)") == ""
    assert why("y ~ x + (1 + x | therapist)") == ""
    assert "one random slope" in why("y ~ x + z + (1 + x + z | therapist) + (1 | client)")
    assert "outermost" in why("y ~ x + (1 | therapist) + (1 + x | client)")
    assert "not with 3" in why("y ~ x + (1 + x | program) + (1 | therapist/client)")
    assert "up to three" in why("y ~ x + (1 | a/b/c/d)")


def test_the_correlations_profile_interval_ends_where_the_profile_drops_by_1_92():
    """On demo-shaped data (seed 3) the lower end is inside (-1, 1): there, with the
    correlation held and everything else re-maximised, the log-likelihood is 1.92 below its
    maximum (half the 95% chi-square quantile), to the solver's tolerance."""
    from sessionmlm.engines.ml.fitting import fit_model
    from sessionmlm.engines.ml.optimise import _maximise
    from sessionmlm.engines.ml.settings import MlSettings
    from sessionmlm.model_data import build_model_data
    from sessionmlm.simulate_structures import Structure, simulate_structure

    truth = Structure(therapists=103, clients=274, sessions=680, slope_sd=0.7, correlation=-0.4,
                      sd={"therapist": 0.8, "client": 0.9}, **FIXED)  # fmt: skip
    data = build_model_data(simulate_structure(truth, seed=3), truth.spec(), {})
    result, loglik, _, intervals, _, st = fit_model(data, MlSettings())
    low, high = intervals[f"correlation {st.slope[0]}"]
    assert -1 < low < np.tanh(result.params[-1]) < high
    held = result.params.copy()
    held[-1] = np.arctanh(low)
    at_low = _maximise(result.model, held, None, fixed=len(held) - 1, gtol=1e-6)
    assert loglik - result.model.loglike(at_low) == pytest.approx(1.92, abs=0.01)
