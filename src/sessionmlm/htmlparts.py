"""HTML building blocks shared by every page: the style sheet, numbers, tables, sentences."""

from __future__ import annotations

import math
import re
from html import escape
from typing import Any

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:60rem;
margin:2rem auto;padding:0 1rem;color:#1d2733;line-height:1.45}
h1{font-size:1.7rem;margin-bottom:.2rem}
h2{margin-top:2.2rem;border-bottom:2px solid #dde3ea;padding-bottom:.2rem}
h3{margin-top:1.6rem}table{border-collapse:collapse;margin:.6rem 0 1rem;font-size:.92rem}
th,td{padding:.25rem .6rem;border-bottom:1px solid #e3e7ec;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
thead th{border-bottom:2px solid #9aa7b5}
caption{text-align:left;font-weight:600;padding-bottom:.2rem}
code{background:#f2f4f7;padding:.05rem .3rem;border-radius:3px}
.badge{display:inline-block;padding:.05rem .5rem;border-radius:1rem;font-size:.8rem;font-weight:600}
.pass{background:#dff3e4;color:#17612e}.fail{background:#fbe0e0;color:#8a1f1f}
.warn{background:#fff3d6;color:#7a5400}.na{background:#eceff3;color:#3d4852}
.banner{border-left:4px solid #c62828;background:#fdecea;padding:.6rem 1rem;margin:1rem 0}
.warnbox{border-left:4px solid #c98a00;background:#fff8e5;padding:.6rem 1rem;margin:1rem 0}
.note{color:#4a5868;font-size:.9rem}nav ol{columns:2}figure{margin:1rem 0}
.table-wrap{overflow-x:auto;max-width:100%}
details{border:1px solid #dde3ea;border-radius:4px;padding:.3rem .8rem;margin:.5rem 0}
summary{cursor:pointer;font-weight:600;padding:.2rem 0}.question{font-size:1.05rem}
#overview{margin-top:1.2rem}.answer li{margin:.25rem 0}
pre{background:#f2f4f7;padding:.6rem .8rem;overflow-x:auto;font-size:.85rem;border-radius:3px}
@media print{nav{display:none}h2{page-break-before:auto}body{margin:0}.table-wrap{overflow:visible}
figure,tr,.banner,.warnbox{break-inside:avoid}h2,h3{break-after:avoid}
table{font-size:.78rem}td.num{white-space:normal}}
"""


# A cell that is a number, maybe with an interval in brackets: right-aligned.
NUMBER = re.compile(r"^(&lt;)?[-–]?\d[\d.,]*%?( to [-–]?\d[\d.,]*)?( \(.*\))?$|^[-–]$")


def num(value: Any, digits: int = 2) -> str:
    """A number to fixed digits; a dash for missing or non-finite values."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{value:.{digits}f}"


def with_interval(row: Any, name: str, digits: int) -> str:
    """'value (low to high)' from a row with name, name_low, name_high (interval optional)."""
    low, high = getattr(row, f"{name}_low", None), getattr(row, f"{name}_high", None)
    interval = f" ({num(low, digits)} to {num(high, digits)})" if low is not None else ""
    return num(getattr(row, name), digits) + interval


def html_table(header: list[str], rows: list[list[str]], caption: str = "") -> str:
    """A table a reader can copy into a manuscript: numbers right-aligned, caption on top.

    Cells are HTML already (escape text before passing it).
    """
    head = "".join(f"<th scope='col'>{escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(f"<td class='num'>{c}</td>" if NUMBER.match(c) else f"<td>{c}</td>" for c in row)
        + "</tr>"
        for row in rows
    )
    cap = f"<caption>{escape(caption)}</caption>" if caption else ""
    # A wide table scrolls inside its box on a narrow screen instead of widening the page.
    return (
        f"<div class='table-wrap'><table>{cap}<thead><tr>{head}</tr></thead>"
        f"<tbody>{body}</tbody></table></div>"
    )


def sentence(text: str) -> str:
    """Upper-case the first letter only (str.capitalize would lower-case 'Wald')."""
    return text[:1].upper() + text[1:]


def percent(value: float | None, digits: int = 1) -> str:
    """A share as a percentage, "37.8%"; a dash when missing."""
    return "–" if value is None or not math.isfinite(value) else f"{100 * value:.{digits}f}%"


def page(title: str, body: str) -> str:
    """A whole self-contained page: the style sheet inline, nothing to fetch."""
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>{body}</body></html>\n"
    )
