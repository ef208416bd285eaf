"""Comparisons across a cohort's fits: likelihood-ratio tests and information criteria (ml).

Pure functions over the fit.json records the ml engine writes, so the report and any user
can run them on results/ without refitting.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from scipy import stats

COMPARISON_COLUMNS = [
    "smaller", "larger", "loglik_smaller", "loglik_larger", "statistic", "df", "p_value",
    "n_obs",
]  # fmt: skip


def information_criteria(fits: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """Log-likelihood, parameters, AIC and BIC of each converged ml fit (model -> fit.json)."""
    rows = [
        {
            "model": name,
            "n_obs": info["n_obs"],
            "n_params": info["n_params"],
            "loglik": info["loglik"],
            "aic": info["aic"],
            "bic": info["bic"],
        }
        for name, info in fits.items()
        if info.get("converged") and "loglik" in info
    ]
    return pd.DataFrame(rows, columns=["model", "n_obs", "n_params", "loglik", "aic", "bic"])


def nested_in(smaller: dict[str, Any], larger: dict[str, Any]) -> str | None:
    """Why smaller is not nested in larger for a likelihood-ratio test, or None if it is.

    Nested here means: the same sessions (rows_hash), the same grouping levels, and the
    smaller model's fixed-effect terms a proper subset of the larger's.
    """
    if smaller.get("rows_hash") != larger.get("rows_hash"):
        return "fitted on different sessions (missing values differ), so not comparable"
    if list(smaller["units"]) != list(larger["units"]):
        return "different grouping levels"
    if not set(smaller["terms"]) < set(larger["terms"]):
        return "terms not nested"
    return None


def likelihood_ratio_tests(fits: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """Likelihood-ratio tests between every pair of nested, converged ml fits.

    The statistic is twice the difference in log-likelihood, referred to a chi-square with
    the difference in parameters as degrees of freedom.

    Only fixed effects differ between the pairs tested (grouping levels must match), so the
    usual chi-square reference applies; no variance is tested on its boundary.
    """
    usable = {n: i for n, i in fits.items() if i.get("converged") and "loglik" in i}
    names = list(usable)
    rows = []
    for a, first in enumerate(names):
        for second in names[a + 1 :]:
            for small_name, large_name in ((first, second), (second, first)):
                small, large = usable[small_name], usable[large_name]
                if nested_in(small, large) is None:
                    statistic = max(2 * (large["loglik"] - small["loglik"]), 0.0)
                    df = large["n_params"] - small["n_params"]
                    rows.append(
                        {
                            "smaller": small_name,
                            "larger": large_name,
                            "loglik_smaller": small["loglik"],
                            "loglik_larger": large["loglik"],
                            "statistic": statistic,
                            "df": df,
                            "p_value": float(stats.chi2.sf(statistic, df)),
                            "n_obs": small["n_obs"],
                        }
                    )
                    break
    return pd.DataFrame(rows, columns=COMPARISON_COLUMNS)
