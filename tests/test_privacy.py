"""The privacy setting and the small-cell rule, written once and used everywhere."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
import yaml

from sessionmlm.checks import calibration
from sessionmlm.config import load_config
from sessionmlm.describe import summarise_variable
from sessionmlm.figures import coarsen_histogram
from sessionmlm.privacy import Privacy, is_small, rate_shown, suppress

from .conftest import ROOT


def test_small_is_one_to_min_cell_minus_one():
    assert [c for c in range(15) if is_small(c, 11)] == list(range(1, 11))
    assert suppress(10, 11) == {"n": None, "suppressed": True}
    assert suppress(0, 11) == {"n": 0, "suppressed": False}
    assert suppress(11, 11) == {"n": 11, "suppressed": False}


def test_a_rate_needs_min_cell_units_with_and_without():
    assert rate_shown(11, 22, 11)
    assert not rate_shown(10, 40, 11)  # 10 with the outcome
    assert not rate_shown(30, 40, 11)  # 10 without
    assert not rate_shown(0, 40, 11)  # a rate of 0 says every unit lacks it


def test_describe_checks_and_figures_apply_the_same_threshold():
    # min_cell 5: a count of 4 is hidden everywhere, 5 is shown everywhere.
    binary = summarise_variable(pd.Series(np.r_[np.ones(4), np.zeros(20)]), min_cell=5)
    assert binary["yes"]["suppressed"]
    shown = summarise_variable(pd.Series(np.r_[np.ones(5), np.zeros(20)]), min_cell=5)
    assert shown["yes"] == {"n": 5, "suppressed": False}
    merged = coarsen_histogram({"1": 20, "2": 4}, 5)
    assert sum(merged.values()) == 24 and not any(is_small(n, 5) for n in merged.values())
    assert coarsen_histogram({"1": 20, "2": 4}, 4) == {"1": 20, "2": 4}
    y = np.r_[np.ones(5), np.zeros(5)]
    assert len(calibration(y, np.linspace(0, 1, 10), min_cell=5, bins=1)) == 1
    assert calibration(y, np.linspace(0, 1, 10), min_cell=6, bins=1) == []


def test_config_loads_one_typed_setting(demo_config):
    assert load_config(demo_config, workdir=ROOT).privacy == Privacy()
    changed = demo_config | {"privacy": {"min_cell": 5}}
    assert load_config(changed, workdir=ROOT).privacy == Privacy(min_cell=5)


def test_unknown_key_names_the_valid_ones():
    with pytest.raises(ValueError, match="unknown key.*min_cells; valid keys: key_env, key_file"):
        Privacy.from_config({"min_cells": 5})


def test_defaults_are_written_once_and_shown_as_such():
    # config.yaml shows the defaults commented out; uncommented they must be the code's.
    text = (ROOT / "config" / "config.yaml").read_text()
    block = re.search(r"^# privacy:\n((?:#   .*\n)+)", text, re.M)
    assert block, "config/config.yaml lost its commented privacy block"
    shown = yaml.safe_load("privacy:\n" + re.sub(r"^#", "", block.group(1), flags=re.M))
    assert Privacy.from_config(shown["privacy"]) == Privacy()
    readme = (ROOT / "config" / "README.md").read_text()
    for key, value in vars(Privacy()).items():
        row = rf"^\| `privacy\.{key}` \|[^|]*\| `{re.escape(str(value))}` \|"
        assert re.search(row, readme, re.M), f"config/README.md: privacy.{key} default"
