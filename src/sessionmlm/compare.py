"""Comparisons across a cohort's fits: likelihood-ratio tests, information criteria, PSIS-LOO.

Pure functions over fit.json records (model name -> info): likelihood-ratio tests and
information criteria over maximum-likelihood fits (loglik, n_params), PSIS-LOO over fits with
posterior checks ("checks"), so the report and any user can run them on results/ without
refitting.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats


def outcome_of(info: dict[str, Any]) -> str:
    """The outcome a fit modelled: its formula's left-hand side ("" when not recorded)."""
    return info.get("formula", "").split("~")[0].strip()


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
            "outcome": outcome_of(info),  # criteria compare models of one outcome only
        }
        for name, info in fits.items()
        if info.get("converged") and "loglik" in info
    ]
    columns = ["model", "n_obs", "n_params", "loglik", "aic", "bic", "outcome"]
    return pd.DataFrame(rows, columns=columns)


def nested_in(smaller: dict[str, Any], larger: dict[str, Any]) -> str | None:
    """Why smaller is not nested in larger for a likelihood-ratio test, or None if it is.

    Nested here means: the same outcome, the same sessions (rows_hash), the same grouping
    levels and random slopes, and the smaller model's fixed-effect terms a proper subset of the
    larger's.
    """
    if outcome_of(smaller) != outcome_of(larger):
        return "models of different outcomes"
    if smaller.get("rows_hash") != larger.get("rows_hash"):
        return "fitted on different sessions (missing values differ), so not comparable"
    if list(smaller["units"]) != list(larger["units"]):
        return "different grouping levels"
    if smaller.get("slopes") != larger.get("slopes"):
        return "different random slopes (a variance on its boundary: no chi-square test)"
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


def checked(infos: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The converged bayes fits with posterior checks, by model."""
    return {m: i for m, i in infos.items() if i.get("checks") and i.get("converged")}


def loo_comparison(infos: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """elpd_loo of each bayes model and its difference from the best one fitted on the same data.

    Only models of the same outcome are compared. Differences are paired over the left-out
    units (SE = sqrt(J) * SD of the pointwise differences); models fitted on other sessions
    (missing values) are not compared.
    """
    fitted = checked(infos)
    rows = []
    for model, info in fitted.items():
        loo = info["checks"]["loo"]
        peers = {m: o for m, o in fitted.items() if o.get("rows_hash") == info.get("rows_hash")
                 and o["checks"]["loo"]["unit"] == loo["unit"]
                 and outcome_of(o) == outcome_of(info)}  # fmt: skip
        best = max(peers, key=lambda m: peers[m]["checks"]["loo"]["elpd"])
        if best == model:
            diff, se = 0.0, 0.0
        else:
            mine = dict(zip(loo["pointwise"]["id"], loo["pointwise"]["elpd"], strict=True))
            top = peers[best]["checks"]["loo"]["pointwise"]
            d = np.array([mine[i] - e for i, e in zip(top["id"], top["elpd"], strict=True)])
            diff, se = float(d.sum()), float(np.sqrt(len(d) * d.var(ddof=1)))
        rows.append({"model": model, "n_obs": info["n_obs"], "unit": loo["unit"],
                     "n_units": loo["n_units"], "elpd": loo["elpd"], "se": loo["se"],
                     "p_loo": loo["p_loo"], "best": best, "elpd_diff": diff, "se_diff": se,
                     "k_bad": loo["k_bad"], "k_threshold": loo["k_threshold"],
                     "k_max": loo["k_max"]})  # fmt: skip
    return rows
