"""The proportional-odds check of an ordinal fit: every binary split fitted on its own.

A cumulative logit model gives each predictor one odds ratio for every cut of the scale
(proportional odds). Fitting each split "rating at or above category k" as its own binary
model, with the same predictors and random intercepts, shows whether that holds: under
proportional odds the split odds ratios agree with the cumulative one up to sampling error;
a trend across splits means the predictor matters more at one end of the scale.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

import numpy as np

from sessionmlm.engines.ml.settings import MlSettings

log = logging.getLogger(__name__)


def split_odds_ratios(data: Any, settings: MlSettings, cumulative: dict[str, tuple]) -> list[dict]:
    """One row per (split, term): the split's odds ratio, its interval, and the cumulative one.

    data is an ordinal ModelData; cumulative maps each term to the cumulative fit's
    (odds_ratio, or_low, or_high). The split fits skip the profile intervals (only the odds
    ratios are shown). outside marks a split whose 95% interval excludes the cumulative
    odds ratio.
    """
    from sessionmlm.engines.ml.fitting import fit  # the engine's own fit, binary outcome

    rows = []
    categories = data.categories
    for k in range(1, len(categories)):
        binary = replace(data, y=(data.y >= k).astype(float), outcome_type="binary",
                         categories=("0", "1"))  # fmt: skip
        result = fit(binary, replace(settings, profile=False))
        label = f"{categories[k]} or higher"
        reason = "; ".join(result.info["problems"])
        log.info("split %s: %s", label, "converged" if result.converged else reason)
        for r in result.estimates.itertuples():
            if r.term == "Intercept":
                continue
            ratio = cumulative.get(r.term, (np.nan, np.nan, np.nan))[0]
            rows.append({
                "split": label,
                "share": float(binary.y.mean()),
                "term": r.term,
                "odds_ratio": float(r.odds_ratio),
                "or_low": float(r.or_low),
                "or_high": float(r.or_high),
                "cumulative_odds_ratio": float(ratio),
                "outside": bool(result.converged and not r.or_low <= ratio <= r.or_high),
                "converged": bool(result.converged),
                "problem": reason,
            })  # fmt: skip
    return rows
