"""Figures as inline SVG strings: no plotting library, no fonts or files to fetch."""

from __future__ import annotations

import math
from html import escape

PALETTE = ("#1b6ca8", "#d1495b", "#66a182", "#edae49", "#6c4f77")


def forest_plot(rows: list[dict], title: str) -> str:
    """Odds ratios with 95% intervals on a log axis, one line per (term, series).

    rows: dicts with term, series (e.g. model name), odds_ratio, or_low, or_high.
    """
    if not rows:
        return ""
    series = list(dict.fromkeys(r["series"] for r in rows))
    terms = list(dict.fromkeys(r["term"] for r in rows))
    line_h, label_w, plot_w, top = 16, 190, 420, 40
    height = top + line_h * len(terms) * len(series) + 8 * len(terms) + 48
    values = [v for r in rows for v in (r["or_low"], r["or_high"]) if v > 0 and math.isfinite(v)]
    lo = math.log(max(min(values + [0.5]), 1e-3))
    hi = math.log(min(max(values + [2.0]), 1e3))

    def x(v: float) -> float:
        v = min(max(v, math.exp(lo)), math.exp(hi))
        return label_w + (math.log(v) - lo) / (hi - lo) * plot_w

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {label_w + plot_w + 30} '
        f'{height}" width="100%" style="max-width:{label_w + plot_w + 30}px" '
        f'font-family="system-ui, sans-serif" font-size="12">',
        f"<title>{escape(title)}</title>",
        f"<desc>Forest plot of odds ratios with 95% intervals for {len(terms)} terms; "
        f"a line right of 1 means higher odds of the outcome.</desc>",
        f'<line x1="{x(1):.1f}" y1="{top - 10}" x2="{x(1):.1f}" y2="{height - 36}" '
        'stroke="#888" stroke-dasharray="4 3"/>',
    ]
    y = top
    for term in terms:
        parts.append(
            f'<text x="{label_w - 8}" y="{y + line_h * len(series) / 2 + 4:.1f}" '
            f'text-anchor="end">{escape(term)}</text>'
        )
        for i, name in enumerate(series):
            row = next((r for r in rows if r["term"] == term and r["series"] == name), None)
            cy = y + line_h * i + line_h / 2
            if row is not None:
                color = PALETTE[i % len(PALETTE)]
                parts.append(
                    f'<line x1="{x(row["or_low"]):.1f}" y1="{cy:.1f}" x2="{x(row["or_high"]):.1f}" '
                    f'y2="{cy:.1f}" stroke="{color}" stroke-width="2"/>'
                    f'<circle cx="{x(row["odds_ratio"]):.1f}" cy="{cy:.1f}" r="4" fill="{color}">'
                    f"<title>{escape(name)}: {term} OR {row['odds_ratio']:.2f} "
                    f"({row['or_low']:.2f} to {row['or_high']:.2f})</title></circle>"
                )
        y += line_h * len(series) + 8
    for tick in (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 10, 25, 50, 100):
        if lo <= math.log(tick) <= hi:
            parts.append(
                f'<text x="{x(tick):.1f}" y="{height - 22}" text-anchor="middle">{tick:g}</text>'
            )
    parts.append(
        f'<text x="{label_w + plot_w / 2}" y="{height - 4}" text-anchor="middle">'
        "odds ratio (log scale)</text>"
    )
    legend_x = label_w
    for i, name in enumerate(series):
        color = PALETTE[i % len(PALETTE)]
        parts.append(
            f'<rect x="{legend_x}" y="8" width="10" height="10" fill="{color}"/>'
            f'<text x="{legend_x + 14}" y="17">{escape(name)}</text>'
        )
        legend_x += 14 + 7 * len(name) + 16  # about 7 px per character at 12 px
    parts.append("</svg>")
    return "".join(parts)


def histogram_bars(counts: dict[str, int], title: str, unit: str) -> str:
    """Small bar chart of a distribution (e.g. sessions per client)."""
    if not counts:
        return ""
    keys = list(counts)
    peak = max(counts.values()) or 1
    w, h, bar = 40 * len(keys) + 20, 120, 30
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {w} {h}" width="{w}" '
        f'font-family="system-ui, sans-serif" font-size="11"><title>{escape(title)}</title>'
    ]
    for i, key in enumerate(keys):
        bh = 80 * counts[key] / peak
        bx = 10 + 40 * i
        parts.append(
            f'<rect x="{bx}" y="{95 - bh:.1f}" width="{bar}" height="{bh:.1f}" fill="#1b6ca8">'
            f"<title>{counts[key]} {unit} with {key}</title></rect>"
            f'<text x="{bx + bar / 2}" y="{91 - bh:.1f}" text-anchor="middle">{counts[key]}</text>'
            f'<text x="{bx + bar / 2}" y="{110}" text-anchor="middle">{escape(key)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
