"""The worked example cohort: other names, codes and formats map to the demo's canonical form."""

import runpy

import numpy as np
import pandas as pd
import yaml

from sessionmlm.config import load_config
from sessionmlm.ingest import ingest
from sessionmlm.privacy import Privacy
from sessionmlm.simulate import CohortShape, TrueParameters, canonical, simulate_cohort

from .conftest import ROOT

PRIVACY = Privacy()


def test_clinic_b_maps_to_the_same_data_as_the_demo_coding(monkeypatch):
    monkeypatch.setenv("SESSIONMLM_KEY", "k")
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    config["cohorts_dir"] = str(ROOT / "config" / "examples")
    cohort = load_config(config, workdir=ROOT).cohorts["clinic_b"]
    table, check = ingest(cohort, PRIVACY)
    assert check.ok, [str(p) for p in check.problems]
    # The committed files are what make.py makes from simulated seed 2.
    made = runpy.run_path(str(ROOT / "data" / "examples" / "clinic_b" / "make.py"))
    assert made["clinic_b_tables"]()["visits"].shape[0] == len(table)
    truth = canonical(simulate_cohort(CohortShape(), TrueParameters(), seed=2))
    assert np.array_equal(table.homework, truth.homework)
    assert np.array_equal(table.caregiver_present, truth.caregiver_present)
    assert np.array_equal(table.licensed, truth.licensed)
    assert np.array_equal(table.child_age, truth.child_age)
    assert (table.ebp.astype(str) == truth.ebp.astype(str)).all()
    # The stress rating's -99 (SPSS user-missing) is missing, not a value.
    assert table.stressful_event.isna().sum() == 7
    assert pd.api.types.is_float_dtype(table.stressful_event)
