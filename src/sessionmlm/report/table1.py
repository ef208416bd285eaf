"""The report's Table 1 by level: each variable summarised over the units of its level."""

from __future__ import annotations

from html import escape
from typing import Any

from sessionmlm.htmlparts import html_table


def _cell(entry: dict[str, Any], min_cell: int) -> str:
    return f"&lt;{min_cell}" if entry["suppressed"] else str(entry["n"])


def _type(entry: dict[str, Any]) -> str:
    """The variable's type, and what of type and level was inferred rather than declared."""
    kind = entry.get("type", entry["kind"])
    inferred = entry.get("inferred", [])
    return f"{kind} <em>(inferred: {' and '.join(inferred)})</em>" if inferred else kind


def table1_section(desc: dict[str, Any]) -> str:
    """Table 1 by level, over the units of each variable's level."""
    parts = [
        "<h2 id='table1'>Table 1 by level</h2>",
        f"<p class='note'>Each variable is summarised over the units of its level; counts below "
        f"{desc['min_cell']} are suppressed (&lt;{desc['min_cell']}). A type or level marked "
        "<em>inferred</em> was not declared under <code>variables:</code> in the cohort file: "
        "sessionmlm read it off the data (validation.json says how); declare it to make it "
        "yours.</p>",
    ]
    for level, variables in desc["table1"].items():
        if not variables:
            continue
        rows = []
        for name, e in variables.items():
            if e["kind"] == "binary":
                share = "" if e["share"] is None else f" ({100 * e['share']:.0f}%)"
                summary = f"yes {_cell(e['yes'], desc['min_cell'])}{share}"
            elif e["kind"] == "numeric":
                summary = (
                    f"&lt;{desc['min_cell']} units: suppressed"
                    if e.get("suppressed")
                    else f"mean {e['mean']:.2f} (SD {e['sd']:.2f}), median {e['median']:g} "
                    f"(IQR {e['q1']:g} to {e['q3']:g})"
                )
            else:
                summary = "; ".join(
                    f"{escape(k)} {_cell(v, desc['min_cell'])}" for k, v in e["categories"].items()
                )
            rows.append([escape(name), _type(e), summary, str(e["missing"])])
        parts.append(
            html_table(
                [f"{level} variable", "type", "summary", "missing"],
                rows,
                f"{level.capitalize()} characteristics ({desc['counts'][level]} {level}s)",
            )
        )
    return "".join(parts)
