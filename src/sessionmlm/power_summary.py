"""The statistics of one design simulation: power, bias, coverage per grid point.

power_report lays them out; these are plain functions over the replicate tables the
simulation jobs write.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from sessionmlm.designs import Design


def summarise(replicates: pd.DataFrame, design: Design) -> pd.DataFrame:
    """Power, bias, RMSE, coverage and singular-fit rate per grid point and quantity.

    Power is the share of converged fits with p < alpha (Wald test); failed fits are counted
    in `failed` and left out of every rate, so a high failure rate must be read beside them.
    """
    out = []
    points = design.points
    for (point, quantity), group in replicates.groupby(["point", "quantity"], sort=False):
        # Power is for predictors: an SD is never tested, and testing the intercept against 0
        # asks nothing a study is planned for.
        tested = quantity != "Intercept" and not quantity.startswith("sd ")
        ok = group[group["converged"]]
        n = len(ok)
        detected = (ok["p_value"] < design.alpha).mean() if n else np.nan
        has_interval = ok["ci_low"].notna() & ok["ci_high"].notna()
        covered = (ok["ci_low"] <= ok["truth"]) & (ok["truth"] <= ok["ci_high"])
        truth = float(group["truth"].iloc[0])
        error = ok["estimate"] - truth
        out.append(
            {
                "point": int(point) + 1,
                **points[int(point)],
                "quantity": quantity,
                "truth": truth,
                "true_odds_ratio": math.exp(truth) if not quantity.startswith("sd ") else np.nan,
                "replicates": len(group),
                "failed": int(len(group) - n),
                "power": detected if tested else np.nan,
                "power_mc_se": math.sqrt(detected * (1 - detected) / n) if n and tested else np.nan,
                "mean_estimate": ok["estimate"].mean(),
                "bias": error.mean(),
                "rmse": math.sqrt((error**2).mean()) if n else np.nan,
                "empirical_sd": ok["estimate"].std(),
                "mean_std_error": ok["std_error"].mean(),
                "coverage": covered[has_interval].mean() if has_interval.any() else np.nan,
                "singular_rate": ok["singular"].mean() if n else np.nan,
            }
        )
    return pd.DataFrame(out)


def smallest_sufficient(summary: pd.DataFrame, key: str, quantity: str, target: float) -> Any:
    """The smallest value of grid key `key` at which `quantity` reaches the target power.

    Only meaningful when `key` is the grid's only key; None when no grid value reaches it.
    """
    rows = summary[(summary["quantity"] == quantity) & (summary["power"] >= target)]
    return None if rows.empty else rows[key].min()


def read_replicates(paths: list[str], design: Design) -> pd.DataFrame:
    """All chunks of a design, checked to hold every (point, replicate) exactly once."""
    table = pd.concat([pd.read_csv(p) for p in paths], ignore_index=True)
    replicates = table[["point", "replicate"]].drop_duplicates()
    expected = len(design.points) * design.replicates
    # A replicate in two chunk files would be counted twice in every rate.
    repeated = table.duplicated(["point", "replicate", "quantity"]).any()
    if len(replicates) != expected or repeated:
        held = f"{len(replicates)} replicates" + (", some of them twice" if repeated else "")
        raise ValueError(
            f"design {design.name}: the chunk files hold {held}, expected {expected}; delete "
            f"results/designs/{design.name}/replicates/ and run again."
        )
    return table


def se_ratio(mean_std_error: float, empirical_sd: float) -> float:
    """Mean SE over the empirical SD of the estimates.

    NaN for an SD's row (SDs have no standard error) and when the estimates do not vary at all
    (every fit singular at 0, say).
    """
    if not (empirical_sd > 0 and math.isfinite(mean_std_error)):
        return math.nan
    return mean_std_error / empirical_sd
