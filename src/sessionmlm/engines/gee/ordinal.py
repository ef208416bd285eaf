"""Ordinal outcomes in the gee engine: statsmodels' OrdinalGEE, in the project's convention.

OrdinalGEE turns each session into K-1 indicators I(y > j), j = 0..K-2, and models
logit P(y > j) = a_j + x'b, one intercept a_j per split and no other intercept. The project's
convention (ordinal::clmm's) is logit P(y <= j) = threshold_j - x'b: so threshold_j = -a_j,
and b is the same, a positive coefficient meaning higher categories.

Working dependence (gee.working):
- exchangeable: GlobalOddsRatio("ordinal") within the outermost level (Heagerty & Zeger 1996;
  the structure of statsmodels' OrdinalGEE example, whose default is independence): one odds
  ratio between the indicators of two sessions of the same unit; a session's own indicators
  keep their multinomial covariance. It is not nested. The binary path's Nested structure
  cannot be used: OrdinalGEE hands dep_data to GEE in the position of `exposure` (statsmodels
  0.15.0), so the fit stops with "exposure can only be used with the log link function"
  (test_gee_ordinal holds this); and Nested on the expanded rows would treat a session's own
  indicators as exchangeable correlated observations, ignoring their known multinomial
  covariance.
- independence: OrdinalIndependence, sessions independent in the working model; the estimates
  are then exactly a proportional-odds logistic regression's (statsmodels' OrderedModel).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from sessionmlm.intervals import Z95
from sessionmlm.model_data import ModelData

ODDS_RATIO_QUANTITY = (
    "working global odds ratio (GEE working dependence of two sessions of the same unit, in "
    "dependence_parameter; not a correlation or a random-effect variance)"
)
NOT_NESTED_QUANTITY = (
    "none: the ordinal working dependence is not nested (one global odds ratio per unit of the "
    "outermost level; see fit.json's working_covariance_note)"
)


def model(data: ModelData, working: str) -> tuple[Any, str, list[str]]:
    """OrdinalGEE of data, with a note of its working dependence and any warnings."""
    from statsmodels.genmod.cov_struct import GlobalOddsRatio, OrdinalIndependence
    from statsmodels.genmod.generalized_estimating_equations import OrdinalGEE

    data.check_categories()
    outer, inner = data.groups[0], list(data.groups[1:])
    notes = []
    if working == "independence":
        cov_struct = OrdinalIndependence()
        note = (
            "independence (gee.working): sessions independent in the working model, a "
            "session's own category indicators keeping their multinomial covariance; the "
            "estimates are a proportional-odds logistic regression's, and the robust standard "
            f"errors allow for any dependence within a {outer}"
        )
    else:
        cov_struct = GlobalOddsRatio("ordinal")
        note = (
            "global odds ratio (Heagerty & Zeger 1996; the structure of statsmodels' OrdinalGEE "
            "example): one odds ratio between the category indicators of two sessions of "
            f"the same {outer}, a session's own indicators keeping their multinomial "
            "covariance; the ordinal counterpart of the exchangeable correlation, not nested"
        )
        if inner:
            notes.append(
                f"the ordinal working dependence leaves out {', '.join(inner)}: statsmodels' "
                "OrdinalGEE takes no nested working structure, so sessions of the same "
                f"{inner[0]} are no more alike in the working model than other sessions of the "
                f"same {outer}. The estimates stay consistent and the robust standard errors "
                f"allow for any dependence within a {outer}; only some efficiency may be lost."
            )
    # OrdinalGEE adds its own intercepts (one per split), so X goes in without one.
    gee = OrdinalGEE(data.y, data.X, groups=data.unit_of_session[0], cov_struct=cov_struct)
    return gee, note, notes


def split(
    data: ModelData, params: np.ndarray, se: np.ndarray
) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Coefficients and their SEs, and the thresholds table, from OrdinalGEE's parameters."""
    k = len(data.categories) - 1
    if len(params) != k + len(data.terms):
        raise RuntimeError(f"OrdinalGEE returned {len(params)} parameters, not {k} + p")
    cut, cut_se = -params[:k], se[:k]  # threshold_j = -a_j
    thresholds = pd.DataFrame(
        {
            "threshold": list(data.threshold_names),
            "estimate": cut,
            "std_error": cut_se,
            "ci_low": cut - Z95 * cut_se,
            "ci_high": cut + Z95 * cut_se,
        }
    )
    return params[k:], se[k:], thresholds


def dependence(data: ModelData, cov_struct: Any) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Per level: working correlation (icc column), dependence parameter and what they are.

    A global odds ratio is no correlation: the icc column stays empty and the odds ratio goes
    in dependence_parameter, on the outermost level only (the structure is not nested).
    """
    n = len(data.groups)
    icc, raw = np.full(n, np.nan), np.full(n, np.nan)
    if cov_struct is not None:
        raw[0] = float(cov_struct.dep_params)
    return icc, raw, [ODDS_RATIO_QUANTITY] + [NOT_NESTED_QUANTITY] * (n - 1)
