"""Make the worked example cohort "clinic_b", stored the way another project would store it.

The demo's kind of data under other names, codes and formats. Run from the repository root:
.venv/bin/python data/examples/clinic_b/make.py

Three tables joined on ids, other column names and codes than the demo:
- visits.sav (SPSS): one row per visit, codes with value labels (caregiver 1 = "Yes",
  2 = "No"; homework 1 = "Yes", 0 = "No"), -99 for a missing stress rating;
- youth.xlsx (Excel, sheet "youth"): one row per young person, age in years;
- clinicians.csv (semicolon-separated, Windows-1252): one row per clinician, licensure as
  "Y"/"N".
"""

from pathlib import Path

import pandas as pd
import pyreadstat

from sessionmlm.simulate import CohortShape, TrueParameters, simulate_cohort

HERE = Path(__file__).resolve().parent


def clinic_b_tables(seed: int = 2) -> dict[str, pd.DataFrame]:
    """The example's three tables, from a simulated cohort of the demo design."""
    t = simulate_cohort(CohortShape(), TrueParameters(), seed=seed)
    t["clinician_code"] = "CL-" + t.therapist_id.str[1:]
    t["youth_id"] = "Y" + t.client_id.str[1:]
    t["visit_id"] = "V" + t.session_id.str[1:]
    visits = pd.DataFrame({
        "visit_id": t.visit_id, "youth_id": t.youth_id, "visit_no": t.session_number,
        "HW_ASSIGN": t.hw_assigned, "HW_REVIEW": t.hw_reviewed,
        "CG_PRES": t.caregiver_present.map({"Y": 1, "N": 2}),
        "STRESS_EVT": t.stressful_event.where(t.index % 97 != 5, -99),  # a few not rated
    })  # fmt: skip
    youth = pd.DataFrame({"youth_id": t.youth_id, "clinician_code": t.clinician_code,
                          "PRACTICE": t.ebp, "AGE_YRS": t.child_age}).drop_duplicates()  # fmt: skip
    clinicians = pd.DataFrame({
        "clinician_code": t.clinician_code, "LIC": t.licensed.map({1: "Y", 0: "N"}),
        "HISP": t.hispanic_latinx, "EBPAS": t.ebp_attitudes, "MBI_EE": t.emotional_exhaustion,
        "HOURS_WK": t.direct_hours, "N_TRAINED": t.n_ebps_trained,
    }).drop_duplicates()  # fmt: skip
    return {"visits": visits, "youth": youth, "clinicians": clinicians}


def main() -> None:
    """Write the three files next to this script."""
    tables = clinic_b_tables()
    labels = {"CG_PRES": {1: "Yes", 2: "No"}, "HW_ASSIGN": {1: "Yes", 0: "No"},
              "HW_REVIEW": {1: "Yes", 0: "No"}}  # fmt: skip
    pyreadstat.write_sav(tables["visits"], str(HERE / "visits.sav"), variable_value_labels=labels,
                         missing_ranges={"STRESS_EVT": [-99]})  # fmt: skip
    tables["youth"].to_excel(HERE / "youth.xlsx", sheet_name="youth", index=False)
    tables["clinicians"].to_csv(HERE / "clinicians.csv", sep=";", index=False, encoding="cp1252")


if __name__ == "__main__":
    main()
