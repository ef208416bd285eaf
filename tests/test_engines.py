import json
import tomllib

import pandas as pd
import pytest

from sessionmlm import __version__
from sessionmlm.engines import (
    ESTIMATE_COLUMNS,
    FIT_KEYS,
    VARIANCE_COLUMNS,
    FitResult,
    get_engine,
    write_result,
)

from .conftest import ROOT


def result(drop_estimate=None, drop_key=None):
    estimates = pd.DataFrame({c: [1.0] for c in reversed(ESTIMATE_COLUMNS)} | {"extra": [2.0]})
    variance = pd.DataFrame({c: [1.0] for c in VARIANCE_COLUMNS})
    info = {k: 1 for k in FIT_KEYS}
    if drop_estimate:
        estimates = estimates.drop(columns=drop_estimate)
    if drop_key:
        del info[drop_key]
    return FitResult(estimates, variance, info)


def test_writes_contract_columns_first(tmp_path):
    paths = [tmp_path / n for n in ("e.csv", "v.csv", "f.json")]
    write_result(result(), *paths)
    assert list(pd.read_csv(paths[0]).columns) == [*ESTIMATE_COLUMNS, "extra"]
    # An engine without random slopes need not write kind: its rows are intercepts.
    variance = pd.read_csv(paths[1])
    assert list(variance.columns) == [*VARIANCE_COLUMNS, "kind"]
    assert set(variance["kind"]) == {"intercept"}
    assert json.loads(paths[2].read_text())["engine"] == 1


def test_fit_json_records_the_package_version_from_its_single_source(tmp_path):
    paths = [tmp_path / n for n in ("e.csv", "v.csv", "f.json")]
    write_result(result(), *paths)
    assert json.loads(paths[2].read_text())["sessionmlm_version"] == __version__
    # pyproject.toml takes the version from sessionmlm.__version__, not a second copy.
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert "version" not in project and project["dynamic"] == ["version"]


def test_refuses_a_partial_contract(tmp_path):
    paths = [tmp_path / n for n in ("e.csv", "v.csv", "f.json")]
    with pytest.raises(ValueError, match="lacks estimates.or_high, fit.json:seed"):
        write_result(
            FitResult(result("or_high").estimates, result().variance, result(drop_key="seed").info),
            *paths,
        )
    assert not any(p.exists() for p in paths)


def test_unknown_engine_lists_the_valid_ones():
    with pytest.raises(ValueError, match="unknown engine 'stan'; valid engines: bayes, gee, ml"):
        get_engine("stan")
