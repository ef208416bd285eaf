"""The report's reliability section: how well coders agreed on each item, flagged items first."""

from __future__ import annotations

import math
from html import escape

import pandas as pd

from sessionmlm.htmlparts import html_table, num
from sessionmlm.reliability.choice import chosen_icc

SHOWN = {  # column heading -> statistics, the first with an estimate shown
    "agreement": ("percent agreement",),
    "kappa": ("Cohen's kappa", "Fleiss' kappa"),
    "Gwet's AC1": ("Gwet's AC1",),
    "Krippendorff's alpha": ("Krippendorff's alpha (ordinal)", "Krippendorff's alpha (nominal)"),
    "ICC": ("ICC(2,1)", "ICC(1,1)"),
}


def flagged_items(table: pd.DataFrame | None) -> dict[str, str]:
    """Each item below the thresholds, with the reason, from reliability.csv."""
    if table is None or table.empty:
        return {}
    rows = table[table.flagged.astype(bool)].drop_duplicates("item")
    return dict(zip(rows.item, rows.flag_reason, strict=True))


def flag_note(item: str, reason: str) -> str:
    """The warning set beside an unreliable item's models."""
    return (f"<p class='warnbox'>† <code>{escape(item)}</code> was coded unreliably "
            f"({escape(reason)}): associations with this item are attenuated by unreliable "
            "coding, biased towards no association.</p>")  # fmt: skip


def _cell(rows: pd.DataFrame, names: tuple[str, ...]) -> str:
    if "ICC(2,1)" in names:
        names = tuple(filter(None, [chosen_icc(rows)]))
    for name in names:
        row = rows[rows.statistic == name]
        if not row.empty and math.isfinite(row.estimate.iloc[0]):
            r = row.iloc[0]
            short = {"Cohen's kappa": " (Cohen)", "Fleiss' kappa": " (Fleiss)",
                     "Krippendorff's alpha (ordinal)": " (ordinal)",
                     "Krippendorff's alpha (nominal)": " (nominal)"}.get(name, "")  # fmt: skip
            if name == "ICC(1,1)":
                short = " (1,1)"
            return f"{num(r.estimate)} ({num(r.ci_low)} to {num(r.ci_high)}){short}"
    return "–"


def reliability_section(table: pd.DataFrame | None, thresholds: dict[str, float]) -> str:
    """Per item: agreement and chance-corrected reliability with 95% intervals, flags first."""
    if table is None:
        return ""
    pairs = table[table.comparison != "all coders"]
    table = table[table.comparison == "all coders"]
    order = list(dict.fromkeys(table.sort_values("flagged", ascending=False, kind="stable").item))
    rows = []
    for item in order:
        own = table[table.item == item]
        first = own.iloc[0]
        flag = "† " + escape(first.flag_reason) if first.flagged else "meets thresholds"
        rows.append([f"<code>{escape(item)}</code>", escape(first.kind), str(int(first.units)),
                     *(_cell(own, names) for names in SHOWN.values()), flag])  # fmt: skip
    sessions, coders = int(table.sessions_double_coded.iloc[0]), int(table.coders.iloc[0])
    limits = ", ".join(f"{k} {v:.2f}" for k, v in thresholds.items())
    methods = "; ".join(f"{s}: {m}" for s, m in dict(zip(table.statistic, table.method,
                                                          strict=True)).items())  # fmt: skip
    return (
        "<h2 id='reliability'>Reliability of the codes</h2>"
        f"<p>{sessions} sessions were coded by more than one of {coders} coders. Each item's "
        "agreement and chance-corrected reliability, with 95% intervals; items below the "
        f"thresholds ({escape(limits)}) are flagged † here, in the overview and beside their "
        "models, because an association with an unreliable code is attenuated.</p>"
        + html_table(["item", "kind", "sessions", *SHOWN, "flag"], rows)
        + f"<p class='note'>Intervals: {escape(methods)}. Kappa is Cohen's with two coders per "
        "session and Fleiss' with more; alpha is ordinal for ordinal items; ICC is the two-way "
        "random, absolute-agreement, single-rater ICC(2,1) (ICC(A,1)) where the coders were "
        "crossed, else the one-way ICC(1,1). Every statistic is in reliability.csv.</p>"
        + _sources(pairs)
    )


def _sources(pairs: pd.DataFrame) -> str:
    """Sources of codes compared with each other (double_coded.sources), per item."""
    if pairs.empty:
        return ""
    rows = [
        [f"<code>{escape(item)}</code>", escape(comparison), str(int(own.units.max())),
         *(_cell(own, names) for names in SHOWN.values())]
        for (item, comparison), own in pairs.groupby(["item", "comparison"], sort=False)
    ]  # fmt: skip
    return "<h3 id='sources'>Sources compared</h3>" + html_table(
        ["item", "sources", "sessions", *SHOWN], rows,
        "Each source's code of a session (its first coder's) against the other's",
    )  # fmt: skip
