"""Report parts only an ordinal outcome has: the proportional-odds check."""

from __future__ import annotations

from html import escape

import pandas as pd

from sessionmlm.htmlparts import html_table, num
from sessionmlm.report.fits import Fit


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
