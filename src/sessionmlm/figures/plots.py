"""Figures as inline SVG strings: no plotting library, no fonts or files to fetch."""

from __future__ import annotations

import math
from html import escape

PALETTE = ("#1b6ca8", "#d1495b", "#66a182", "#edae49", "#6c4f77")


def svg_open(width: float, height: float, title: str, description: str = "",
             font_size: int = 12) -> str:  # fmt: skip
    """The opening of every figure: scales to its box up to its natural width, titled (alt text)."""
    desc = f"<desc>{escape(description)}</desc>" if description else ""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {height}" '
        f'width="100%" style="max-width:{width}px" font-family="system-ui, sans-serif" '
        f'font-size="{font_size}"><title>{escape(title)}</title>{desc}'
    )


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
        svg_open(label_w + plot_w + 30, height, title),
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
    last_x = -math.inf
    for tick in (0.001, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 10, 25, 50, 100, 1000):
        # Skip a tick that would print over the previous one on a wide axis.
        if lo <= math.log(tick) <= hi and x(tick) - last_x >= 34:
            last_x = x(tick)
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
    parts = [svg_open(w, h, title, font_size=11)]
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


def line_plot(
    series: dict[str, list[tuple[float, float, float, float]]],
    title: str,
    x_label: str,
    y_label: str,
    target: float | None = None,
) -> str:
    """Lines with error bars on a 0-1 axis, e.g. power against the number of therapists.

    series maps a name to points (x, y, y_low, y_high); target draws a dashed horizontal line.
    """
    points = [p for pts in series.values() for p in pts]
    if not points:
        return ""
    left, width, top, height = 56, 440, 34, 220
    xs = [p[0] for p in points]
    x_lo, x_hi = min(xs), max(xs)
    x_hi = x_hi if x_hi > x_lo else x_lo + 1

    def x(v: float) -> float:
        return left + (v - x_lo) / (x_hi - x_lo) * width

    def y(v: float) -> float:
        return top + (1 - min(max(v, 0.0), 1.0)) * height

    # The legend's room follows its longest name (about 7 px a character at this font size).
    legend = max(210, 40 + 7 * max(len(name) for name in series))
    total_w, total_h = left + width + legend, top + height + 46
    parts = [
        svg_open(
            total_w, total_h, title, f"{y_label} against {x_label} for {len(series)} series."
        ),  # fmt: skip
        f'<rect x="{left}" y="{top}" width="{width}" height="{height}" fill="none" stroke="#ccc"/>',
    ]
    for tick in (0, 0.2, 0.4, 0.6, 0.8, 1.0):
        parts.append(
            f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" text-anchor="end">{tick:g}</text>'
            f'<line x1="{left}" y1="{y(tick):.1f}" x2="{left + width}" y2="{y(tick):.1f}" '
            'stroke="#eee"/>'
        )
    for v in sorted(set(xs)):
        parts.append(
            f'<text x="{x(v):.1f}" y="{top + height + 16}" text-anchor="middle">{v:g}</text>'
        )
    if target is not None:
        parts.append(
            f'<line x1="{left}" y1="{y(target):.1f}" x2="{left + width}" y2="{y(target):.1f}" '
            'stroke="#888" stroke-dasharray="5 3"/>'
            f'<text x="{left + width - 4}" y="{y(target) - 4:.1f}" text-anchor="end" '
            f'fill="#555">target {target:g}</text>'
        )
    for i, (name, pts) in enumerate(series.items()):
        color = PALETTE[i % len(PALETTE)]
        pts = sorted(pts)
        path = " ".join(f"{x(p[0]):.1f},{y(p[1]):.1f}" for p in pts)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
        for px, py, lo, hi in pts:
            parts.append(
                f'<line x1="{x(px):.1f}" y1="{y(lo):.1f}" x2="{x(px):.1f}" y2="{y(hi):.1f}" '
                f'stroke="{color}"/><circle cx="{x(px):.1f}" cy="{y(py):.1f}" r="3.5" '
                f'fill="{color}"><title>{escape(name)} at {px:g}: {py:.2f} '
                f"({lo:.2f} to {hi:.2f})</title></circle>"
            )
        ly = top + 8 + 18 * i
        parts.append(
            f'<rect x="{left + width + 14}" y="{ly}" width="10" height="10" fill="{color}"/>'
            f'<text x="{left + width + 28}" y="{ly + 9}">{escape(name)}</text>'
        )
    parts.append(
        f'<text x="{left + width / 2}" y="{total_h - 8}" text-anchor="middle">'
        f"{escape(x_label)}</text>"
        f'<text x="14" y="{top + height / 2}" text-anchor="middle" '
        f'transform="rotate(-90 14 {top + height / 2})">{escape(y_label)}</text></svg>'
    )
    return "".join(parts)
