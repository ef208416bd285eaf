"""Report parts only an ordinal outcome has: the proportional-odds check, posterior checks."""

from __future__ import annotations

from html import escape
from typing import Any

import pandas as pd

from sessionmlm.figures import band_plot, calibration_plot, plural
from sessionmlm.htmlparts import html_table, num, percent
from sessionmlm.report.fits import Fit
from sessionmlm.report.posterior import _interval, per_category_table, statistics_table


def splits_table(fit: Fit) -> str:
    """The cumulative odds ratio of each term beside each binary split's own odds ratio.

    From the fit's `splits` (engines/ml/splits.py); "" when the fit has none.
    """
    rows = fit.info.get("splits")
    if not rows:
        return ""
    splits = pd.DataFrame(rows)
    order = list(dict.fromkeys(splits["split"]))
    shares = splits.drop_duplicates("split").set_index("split")["share"]
    header = ["term", "cumulative odds ratio"] + [
        f"{escape(s)} ({100 * shares[s]:.0f}% of sessions)" for s in order
    ]
    body = []
    for term, group in splits.groupby("term", sort=False):
        cells = [escape(term), num(group["cumulative_odds_ratio"].iloc[0])]
        for r in group.set_index("split").loc[order].itertuples():
            if not r.converged:
                cells.append("not estimable")
                continue
            mark = " †" if r.outside else ""
            cells.append(f"{num(r.odds_ratio)} ({num(r.or_low)} to {num(r.or_high)}){mark}")
        body.append(cells)
    failed = sorted({f"{r['split']}: {r['problem']}" for r in rows if not r["converged"]})
    why = "".join(f"<li>{escape(f)}</li>" for f in failed)
    return (
        html_table(
            header,
            body,
            "Proportional-odds check: each split of the scale fitted as its own binary model "
            "(odds of a rating at or above the split, 95% interval)",
        )
        + "<p class='note'>The ordinal model gives each predictor one odds ratio for every "
        "point of the scale. If that holds, each split's own odds ratio agrees with it up to "
        "sampling error; a steady rise or fall across the splits means the predictor matters "
        "more at one end of the scale, and the cumulative odds ratio is then an average of "
        "unequal associations. † marks a split whose interval excludes the cumulative odds "
        "ratio. Splits with few sessions on one side have wide intervals."
        + (f" Splits that could not be estimated:</p><ul>{why}</ul>" if why else "</p>")
    )


def _scaled(values: list[float], k: int) -> list[float]:
    """Mean ratings (1..k) onto 0..1, the scale of the band plot."""
    return [(v - 1) / (k - 1) for v in values]


def ordinal_predictive_detail(
    model: str, info: dict[str, Any], outcome: str, levels: list[str]
) -> str:
    """An ordinal fit's posterior checks (ordinal_checks.py): shares, units, calibration."""
    checks = info["checks"]
    p = checks["predictive"]
    observations = plural(levels[-1])
    categories = checks["categories"]
    k = len(categories)
    share_rows = [
        [escape(str(c)), percent(s["observed"]), _interval(s), num(s["p_value"], 3)]
        for c, s in zip(categories, p["shares"], strict=True)
    ]
    parts = [
        f"<h3>Model <code>{escape(model)}</code> ({checks['draws']} posterior draws)</h3>",
        html_table(
            ["category", "observed share", "replicated (95% interval)", "predictive p"],
            share_rows,
            f"Share of {observations} in each category of {outcome}: observed and replicated",
        ),
    ]
    unit = p.get("per_unit")
    if unit:
        level = unit["level"]
        title = f"Observed and replicated mean ratings of the {unit['n_units']} {plural(level)}"
        parts.append(
            "<figure>"
            + band_plot(
                _scaled(unit["sorted_observed"], k),
                _scaled(unit["sorted_low"], k),
                _scaled(unit["sorted_median"], k),
                _scaled(unit["sorted_high"], k),
                title,
                f"share of {plural(level)}, ranked by mean rating",
                f"mean rating (0 = all {categories[0]}, 1 = all {categories[-1]})",
            )  # fmt: skip
            + f"<figcaption>{escape(title)}, categories scored 1 to {k} and scaled to 0-1: "
            f"the red line is the observed means, the band the 95% range of replicated ones "
            f"at each rank. {100 * unit['covered']:.0f}% of {escape(plural(level))} have their "
            "observed mean inside their own 95% predictive interval. No ids are shown."
            "</figcaption></figure>"
        )
        parts.append(statistics_table(unit))
    if p["per_category"]:
        parts.append(
            per_category_table(
                p["per_category"],
                observations,
                f"Per level of each categorical predictor: observed and replicated shares in "
                f"each rating (shares with fewer than {checks['min_cell']} {observations} in "
                "or out of the rating are suppressed)",
            )
        )
    thresholds = checks.get("calibration_by_threshold", [])
    if thresholds:
        inner = levels[-2] if len(levels) > 1 else levels[-1]
        parts.append("<h3>Calibration at each threshold</h3>")
        for entry in thresholds:
            bins = entry["bins"]
            if not bins:
                continue
            title = f"Calibration of model {model}: {entry['event']}"
            outside = sum(not b["low"] <= b["predicted"] <= b["high"] for b in bins)
            parts.append(
                f"<figure>{calibration_plot(bins, title, observations)}<figcaption>"
                f"{escape(title)}: the predicted probability of a rating above "
                f"{escape(str(entry['threshold']).split('|')[0])} for a <em>new "
                f"{escape(inner)}</em> (PSIS-LOO) against the observed share; {len(bins) - outside}"
                f" of {len(bins)} bins hold the prediction within the observed share's 95% "
                "interval.</figcaption></figure>"
            )
    return "".join(parts)


def ordinal_summary_cells(checks: dict[str, Any]) -> tuple[float, list[dict]]:
    """The smallest predictive p of the category shares and every threshold's bins."""
    smallest = min(s["p_value"] for s in checks["predictive"]["shares"])
    bins = [b for entry in checks.get("calibration_by_threshold", []) for b in entry["bins"]]
    return smallest, bins
