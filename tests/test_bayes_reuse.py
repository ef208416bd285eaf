"""A compiled Bayesian model is reused only for data and settings it computes correctly.

fit(..., compiled=...) reuses a model when model._shape_key matches, putting the new data
into the model's shared variables (nutpie's with_data). Everything else the graph holds
(priors, likelihood, random slopes, weights) must be in the key: for every variant below
whose key equals the base's, the base model given the variant's data must have the same
log-density as a model built for the variant. PyMC's set_data does here what with_data
does in nutpie, without compiling with numba.
"""

from dataclasses import replace

import numpy as np
import pytest

from sessionmlm.engines.bayes.model import (
    _data_values,
    _shape_key,
    _standardise,
    build_model,
)
from sessionmlm.engines.bayes.settings import BayesSettings, Correlation, Prior
from sessionmlm.formula import parse_formula
from sessionmlm.model_data import build_model_data
from sessionmlm.simulate import CohortShape, canonical, simulate_cohort

# LKJCholeskyCov's initial point asks PyTensor's C backend for BLAS, which pip's PyTensor lacks
# (compile_model ignores the same warning); its q x q products need none.
pytestmark = pytest.mark.filterwarnings("ignore:PyTensor could not link to a BLAS:UserWarning")

BASE = BayesSettings()
FORMULA = "homework ~ caregiver_present + child_age + (1 | therapist/client)"
SLOPE_FORMULA = "homework ~ caregiver_present + child_age + (1 + caregiver_present | therapist)"


@pytest.fixture(scope="module")
def table():
    return canonical(simulate_cohort(CohortShape(20, 50, 150), seed=5))


@pytest.fixture(scope="module")
def base(table):
    return build_model_data(table, parse_formula(FORMULA, "m"), {})


def _ordinal(data, categories: int, seed: int):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, categories, len(data.y)).astype(float)
    return replace(
        data, y=y, outcome_type="ordinal", categories=tuple(str(k) for k in range(categories))
    )


def _variants(base, table) -> dict[str, tuple]:
    """(data, settings) pairs that differ from (base, BASE) in one property each."""
    n = len(base.y)
    flipped = replace(base, y=1.0 - base.y)
    slope = build_model_data(table, parse_formula(SLOPE_FORMULA, "s"), {})
    return {
        "other outcomes, same shapes": (flipped, BASE),
        "intercept prior": (base, replace(BASE, intercept=Prior("normal", 1.0, mu=0.5))),
        "coefficient prior": (base, replace(BASE, coefficients=Prior("normal", 0.7))),
        "group SD prior family": (
            base,
            replace(BASE, group_sd=Prior("half_student_t", 1.5, nu=3.0)),
        ),
        "group SD prior scale": (base, replace(BASE, group_sd=Prior("half_normal", 0.4))),
        "weights": (replace(base, weights=np.linspace(0.5, 1.5, n)), BASE),
        "ordinal outcome, 3 categories": (_ordinal(base, 3, 1), BASE),
        "ordinal outcome, 4 categories": (_ordinal(base, 4, 1), BASE),
        "random slope": (slope, BASE),
        "random slope, correlation prior": (slope, replace(BASE, correlation=Correlation(5.0))),
    }


def _logp(model, point) -> float:
    """The log-density at point, by PyTensor's Python linker (no C to compile: quick)."""
    return float(model.compile_logp(mode="FAST_COMPILE")(point))


def _point(model, seed: int) -> dict[str, np.ndarray]:
    """The model's initial point moved by a random step: away from any symmetric spot."""
    rng = np.random.default_rng(seed)
    start = model.initial_point()
    return {k: v + 0.3 * rng.standard_normal(np.shape(v)) for k, v in start.items()}


def _reused_logp(data_a, settings_a, data_b, point) -> float:
    """The log-density of the model built for data_a, given data_b's values, at point."""
    import pymc as pm

    model = build_model(data_a, settings_a)
    with model:
        pm.set_data(_data_values(data_b, _standardise(data_b)))
    return _logp(model, point)


def _value_shapes(model) -> dict[str, tuple]:
    return {k: np.shape(v) for k, v in model.initial_point().items()}


@pytest.mark.parametrize(
    "name",
    [
        "other outcomes, same shapes",
        "intercept prior",
        "coefficient prior",
        "group SD prior family",
        "group SD prior scale",
        "weights",
        "ordinal outcome, 3 categories",
        "ordinal outcome, 4 categories",
        "random slope",
        "random slope, correlation prior",
    ],
)
def test_a_model_is_reused_only_where_it_computes_the_same_density(base, table, name):
    variants = {"base": (base, BASE), **_variants(base, table)}
    data_b, settings_b = variants[name]
    fresh = build_model(data_b, settings_b)
    point = _point(fresh, seed=7)
    # Against every other variant (and the base): equal keys must mean the same density.
    for other, (data_a, settings_a) in variants.items():
        if other == name or _shape_key(data_a, settings_a) != _shape_key(data_b, settings_b):
            continue
        built = build_model(data_a, settings_a)
        assert _value_shapes(built) == _value_shapes(fresh), (other, name)
        assert _reused_logp(data_a, settings_a, data_b, point) == pytest.approx(
            _logp(fresh, point), rel=1e-12
        ), (other, name)


def test_the_key_separates_what_the_graph_bakes_in(base, table):
    """Each variant but new outcome values needs its own compiled model."""
    keys = {name: _shape_key(d, s) for name, (d, s) in _variants(base, table).items()}
    keys["base"] = _shape_key(base, BASE)
    assert keys["other outcomes, same shapes"] == keys["base"]
    others = {k: v for k, v in keys.items() if k != "other outcomes, same shapes"}
    assert len(set(others.values())) == len(others)
