"""The hand-written log density (density.py, fast.py) against PyMC's model, its reference.

At random unconstrained points, logp and gradient equal PyMC's (compile_logp with the
Jacobian, compile_dlogp) and the trace's values equal PyMC's constrained values, for binary,
weighted binary and ordinal outcomes on nested and crossed levels, under both group_sd prior
families; then a fit by each path gives the same posterior within Monte Carlo error.
"""

from dataclasses import replace

import numpy as np
import pytest

from sessionmlm.engines.bayes import BayesSettings, Prior
from sessionmlm.engines.bayes.density import binary_logp, ordinal_logp
from sessionmlm.engines.bayes.fast import HandWritten, density_arguments, layout_of
from sessionmlm.engines.bayes.model import (
    _data_values,
    _standardise,
    build_model,
    compile_model,
    compile_pymc,
    hand_written_covers,
)
from sessionmlm.engines.bayes.sampling import _quantity_names, _sample
from sessionmlm.formula import parse_formula
from sessionmlm.model_data import ModelData, build_model_data
from sessionmlm.simulate import CohortShape, canonical, simulate_cohort

pytestmark = pytest.mark.slow

HALF_NORMAL = BayesSettings(
    intercept=Prior("normal", 1.7, mu=-0.4),
    coefficients=Prior("normal", 2.2, mu=0.3),
    group_sd=Prior("half_normal", 1.3),
    thresholds=Prior("normal", 2.1, mu=0.2),
)
STUDENT_T = replace(HALF_NORMAL, group_sd=Prior("half_student_t", 0.9, nu=4.0))


def _nested_units(rng, n: int, sizes: tuple[int, ...]) -> tuple[np.ndarray, ...]:
    """Units of each level, outermost first, each unit inside one unit of the level above."""
    inner = rng.permutation(np.arange(n) % sizes[-1])  # every innermost unit has sessions
    units = [inner]
    for size, below in zip(sizes[-2::-1], sizes[:0:-1], strict=True):
        parent = np.arange(below) % size  # unit j of the level below sits in parent[j]
        units.insert(0, parent[units[0]])
    return tuple(units)


def _data(
    seed: int, groups: dict[str, int], nested: bool = True, p: int = 3,
    categories: int = 2, weighted: bool = False,
) -> ModelData:  # fmt: skip
    """Random data: n = 90 sessions, p predictors, the levels' units nested or crossed."""
    rng = np.random.default_rng(seed)
    n, sizes = 90, tuple(groups.values())
    if nested:
        units = _nested_units(rng, n, sizes)
    else:
        units = tuple(rng.permutation(np.arange(n) % size) for size in sizes)
    terms = tuple(f"x{j}" for j in range(p))
    y = np.arange(n) % categories  # every category used
    return ModelData(
        spec=parse_formula("y ~ 1", "density"),
        y=rng.permutation(y).astype(float),
        X=rng.normal(size=(n, p)) * [1.0, 3.0, 0.5][:p] + 2.0,
        terms=terms,
        groups=tuple(groups),
        unit_of_session=units,
        unit_ids=tuple(np.array([f"{g}{j}" for j in range(k)]) for g, k in groups.items()),
        dropped={},
        n_dropped=0,
        rows=np.arange(n),
        outcome_type="ordinal" if categories > 2 else "binary",
        categories=tuple(str(k) for k in range(categories)),
        weights=rng.uniform(0.2, 3.0, n) if weighted else None,
    )


CASES = {
    "binary": _data(1, {"therapist": 7, "client": 25}),
    "weighted binary": _data(2, {"therapist": 7, "client": 25}, weighted=True),
    "ordinal, 4 categories": _data(3, {"therapist": 7, "client": 25}, categories=4),
    "weighted ordinal": _data(4, {"therapist": 6}, p=2, categories=3, weighted=True),
    "3 nested levels": _data(5, {"agency": 3, "therapist": 8, "client": 30}),
    "crossed levels": _data(6, {"rater": 5, "client": 20}, nested=False),
    "ordinal, crossed": _data(7, {"rater": 5, "client": 20}, nested=False, categories=4),
    "no predictors, one level": _data(8, {"therapist": 9}, p=0),
}
SETTINGS = {"half_normal": HALF_NORMAL, "half_student_t": STUDENT_T}


def _pymc_point(layout, x: np.ndarray) -> dict[str, np.ndarray]:
    """The hand-written vector as PyMC's value variables (explicit, variable by variable)."""
    k, point = len(layout.groups), {}
    if not layout.ordinal:
        point["alpha"] = x[0]
    if layout.p:
        point["gamma"] = x[layout.sd_start - layout.p : layout.sd_start]
    point["sigma_log__"] = x[layout.sd_start : layout.sd_start + k]
    for group, start, n in zip(layout.groups, layout.z_start, layout.n_units, strict=True):
        point[f"z_{group}"] = x[start : start + n]
    if layout.ordinal:
        point["thresholds_ordered__"] = x[layout.cut_start :]
    return point


@pytest.mark.parametrize("prior", SETTINGS)
@pytest.mark.parametrize("case", CASES)
def test_logp_gradient_and_trace_values_equal_pymc(case, prior):
    import pytensor

    data, settings = CASES[case], SETTINGS[prior]
    model = build_model(data, settings)
    layout = layout_of(data)
    values = _data_values(data, _standardise(data))
    kernel = ordinal_logp if data.ordinal else binary_logp
    arguments = density_arguments(layout, settings, values)
    # Python-implemented ops (no C compile), with the rewrites nutpie applies to the graph: without
    # "stabilize", log(1 - sigmoid(eta)) loses digits at large eta (0.002 of 668 in one case).
    mode = pytensor.compile.mode.get_mode("FAST_COMPILE").including("canonicalize", "stabilize")
    logp = model.compile_logp(jacobian=True, mode=mode)
    dlogp = model.compile_dlogp(jacobian=True, mode=mode)
    names = list(layout.trace_shapes())
    constrained = pytensor.function(
        model.value_vars, model.replace_rvs_by_values([model[v] for v in names]),
        on_unused_input="ignore", mode=mode,
    )  # fmt: skip
    assert [v.name for v in model.value_vars] == list(_pymc_point(layout, np.zeros(layout.n_dim)))
    rng = np.random.default_rng(17)
    for _ in range(4):
        x = rng.normal(0.0, 1.2, layout.n_dim)
        point = _pymc_point(layout, x)
        mine, gradient = kernel(x, *arguments)
        assert mine == pytest.approx(float(logp(point)), rel=1e-9)
        # PyMC's gradient is in the order of model.value_vars, each raveled: as _pymc_point.
        np.testing.assert_allclose(gradient, dlogp(point), rtol=1e-9, atol=1e-9)
        theirs = constrained(**point)
        expanded = layout.expand(x)
        for name, value in zip(names, theirs, strict=True):
            np.testing.assert_allclose(expanded[name], value, rtol=1e-12, err_msg=name)


def test_random_slopes_keep_the_pymc_model():
    data = CASES["binary"]
    assert hand_written_covers(data)
    assert not hand_written_covers(replace(data, slopes=(("therapist", ("x0",)),)))


def test_a_fit_by_each_path_gives_the_same_posterior(caplog):
    """Posterior means of the intercept, coefficients and SDs within 4 Monte Carlo SEs."""
    from arviz_stats.base import array_stats

    table = canonical(simulate_cohort(CohortShape(25, 70, 180), seed=31))
    spec = parse_formula("homework ~ caregiver_present + child_age + (1 | therapist/client)", "f")
    data = build_model_data(table, spec, {})
    settings = BayesSettings(chains=4, draws=1000, tune=500, cores=2, seed=5, check_every=0)
    std = _standardise(data)
    with caplog.at_level("INFO", logger="sessionmlm.engines.bayes.model"):
        compiled = compile_model(data, settings)
    assert isinstance(compiled.model, HandWritten)
    assert "log density: hand-written (numba, cached" in caplog.text
    names = _quantity_names(data)
    fast, _ = _sample(compiled, data, std, settings, names)
    reference, _ = _sample(compile_pymc(data, settings), data, std, settings, names)
    assert fast.divergences == 0 and reference.divergences == 0
    for a, b in ((fast.coefficients, reference.coefficients), (fast.sds, reference.sds)):
        mcse = np.hypot(*(array_stats.mcse(d, chain_axis=0, draw_axis=1) for d in (a, b)))
        gap = np.abs(a.mean(axis=(0, 1)) - b.mean(axis=(0, 1)))
        assert np.all(gap < 4 * mcse), (gap, mcse)
