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

    total_w, total_h = left + width + 210, top + height + 46
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


def plural(noun: str) -> str:
    """English plural of a level name: therapist -> therapists, class -> classes."""
    if noun.endswith(("s", "x", "z", "ch", "sh")):
        return noun + "es"
    if len(noun) > 1 and noun.endswith("y") and noun[-2] not in "aeiou":
        return noun[:-1] + "ies"
    return noun + "s"


def _bin_order(keys: list[str]) -> list[str]:
    try:
        return sorted(keys, key=int)
    except ValueError:
        return list(keys)


def coarsen_histogram(histogram: dict[str, int], min_cell: int) -> dict[str, int]:
    """Merge adjacent bins until no bin shows a count from 1 to min_cell - 1.

    The tails are merged inward first (the top bin becomes e.g. "≥5", the bottom one "≤2"),
    then a small bin left in the middle joins its smaller neighbour ("3–4"). A histogram
    with no small bin comes back unchanged; one whose total is itself small comes back as
    a single bin with the total. Keys are unit sizes as strings, e.g. {"1": 40, "2": 30}.
    """
    keys = _bin_order(list(histogram))
    bins = [[k, k, int(histogram[k])] for k in keys]  # [first key, last key, count]

    def small(b: list) -> bool:
        return 0 < b[2] < min_cell

    def merge(i: int, j: int) -> None:  # j = i + 1
        bins[i] = [bins[i][0], bins[j][1], bins[i][2] + bins[j][2]]
        del bins[j]

    while len(bins) > 1 and any(small(b) for b in bins):
        if small(bins[-1]):  # top-code the upper tail first, then the lower tail
            merge(len(bins) - 2, len(bins) - 1)
        elif small(bins[0]):
            merge(0, 1)
        else:  # a small bin inside: join the smaller neighbour that is not empty
            i = next(i for i, b in enumerate(bins) if small(b))
            before, after = bins[i - 1][2], bins[i + 1][2]
            left = i - 1 if (before == 0, before) <= (after == 0, after) else i
            merge(left, left + 1)
    if len(bins) == len(keys):
        return {k: int(histogram[k]) for k in keys}
    out = {}
    for i, (first, last, count) in enumerate(bins):
        if first == last:
            label = first
        elif len(bins) == 1:
            label = f"{first}–{last}"
        elif i == len(bins) - 1:
            label = f"≥{first}"
        elif i == 0:
            label = f"≤{last}"
        else:
            label = f"{first}–{last}"
        out[label] = count
    return out


def size_range(size: dict, dash: str) -> str:
    """The range of a unit-size summary, ", range 1–6"; an end withheld (None) is left out."""
    low, high = size.get("min"), size.get("max")
    if low is not None and high is not None:
        return f", range {low}{dash}{high}"
    if low is not None:
        return f", smallest {low}"
    return f", largest {high}" if high is not None else ""


def level_diagram(counts: dict[str, int], levels: list[str], sizes: dict, *, note: str = "") -> str:
    """The nesting of the design as boxes, outermost level on top.

    Each box shows a level's number of units ("103 therapists"); the arrow to the next box
    says how many inner units each outer unit holds: mean, median and range from sizes
    (keyed "client_per_therapist", as describe() makes them). note, if given, is a second
    line in the innermost box (e.g. the base rate of the outcome).
    """
    if not levels:
        return ""

    def count_of(level: str) -> str:
        n = counts.get(level)
        return "?" if n is None else f"{n:,}"

    def name_of(level: str) -> str:
        return level if counts.get(level) == 1 else plural(level)

    # About 0.56 em per character of system-ui: boxes fit the longest "count name" line.
    widest = max(len(f"{count_of(lv)} {name_of(lv)}") * 16 * 0.6 for lv in levels)
    box_x, box_h, gap, top = 16, 44, 72, 12
    box_w = int(max(250, widest + 32, len(note) * 12 * 0.56 + 32))
    note_h = 20 if note else 0
    cx = box_x + box_w / 2
    label_x = cx + 18

    links = []
    for outer, inner in zip(levels[:-1], levels[1:], strict=False):
        size = sizes.get(f"{inner}_per_{outer}")
        if size:
            first = f"{size['mean']:.1f} {plural(inner)} per {outer} on average"
            second = f"median {size['median']:g}{size_range(size, '–')}"
            spoken = (
                f"each {outer} has {size['mean']:.1f} {plural(inner)} on average "
                f"(median {size['median']:g}{size_range(size, ' to ')})"
            )
        else:
            first, second = f"{plural(inner)} within each {outer}", ""
            spoken = ""
        links.append((first, second, spoken))

    # Wide enough for the longest arrow label, never narrower than the boxes.
    longest = max([len(a) * 14 * 0.56 for a, _, _ in links] + [0])
    width = int(max(box_x + box_w + 16, label_x + longest + 16))
    height = top * 2 + box_h * len(levels) + gap * (len(levels) - 1) + note_h

    chain = " within ".join(f"{count_of(level)} {name_of(level)}" for level in reversed(levels))
    alt = f"Design: {chain}."
    details = "; ".join(s for _, _, s in links if s)
    if details:
        alt += f" {details[:1].upper()}{details[1:]}."
    if note:
        alt += f" {note[:1].upper()}{note[1:]}."
    parts = [svg_open(width, height, alt, font_size=14)]
    y = top
    for i, level in enumerate(levels):
        h = box_h + (note_h if i == len(levels) - 1 else 0)
        parts.append(
            f'<rect x="{box_x}" y="{y}" width="{box_w}" height="{h}" rx="6" fill="#eaf2f9" '
            f'stroke="{PALETTE[0]}" stroke-width="1.5"/>'
            f'<text x="{cx}" y="{y + 28}" text-anchor="middle" font-size="16" fill="#1d2733">'
            f'<tspan font-weight="700">{count_of(level)}</tspan> {escape(name_of(level))}</text>'
        )
        if note and i == len(levels) - 1:
            parts.append(
                f'<text x="{cx}" y="{y + 50}" text-anchor="middle" font-size="12" '
                f'fill="#4a5868">{escape(note)}</text>'
            )
        if i < len(links):
            first, second, _ = links[i]
            y0, y1 = y + box_h, y + box_h + gap
            parts.append(
                f'<line x1="{cx}" y1="{y0 + 4}" x2="{cx}" y2="{y1 - 10}" stroke="#6b7a8c" '
                'stroke-width="1.5"/>'
                f'<polygon points="{cx - 5},{y1 - 11} {cx + 5},{y1 - 11} {cx},{y1 - 3}" '
                'fill="#6b7a8c"/>'
            )
            mid = (y0 + y1) / 2
            if second:
                parts.append(
                    f'<text x="{label_x}" y="{mid - 2:.1f}" fill="#1d2733">{escape(first)}</text>'
                    f'<text x="{label_x}" y="{mid + 15:.1f}" font-size="12.5" fill="#4a5868">'
                    f"{escape(second)}</text>"
                )
            else:
                parts.append(
                    f'<text x="{label_x}" y="{mid + 5:.1f}" fill="#1d2733">{escape(first)}</text>'
                )
        y += box_h + gap
    parts.append("</svg>")
    return "".join(parts)


def _unit_square(title: str, description: str, x_label: str, y_label: str):
    """Frame for plots with both axes on 0..1: the svg head, tick marks and scale functions."""
    left, top, size = 56, 20, 300

    def x(v: float) -> float:
        return left + min(max(v, 0.0), 1.0) * size

    def y(v: float) -> float:
        return top + (1 - min(max(v, 0.0), 1.0)) * size

    total_w, total_h = left + size + 20, top + size + 46
    parts = [
        svg_open(total_w, total_h, title, description),
        f'<rect x="{left}" y="{top}" width="{size}" height="{size}" fill="none" stroke="#ccc"/>',
    ]
    for tick in (0, 0.2, 0.4, 0.6, 0.8, 1.0):
        parts.append(
            f'<line x1="{left}" y1="{y(tick):.1f}" x2="{left + size}" y2="{y(tick):.1f}" '
            f'stroke="#eee"/><text x="{left - 6}" y="{y(tick) + 4:.1f}" text-anchor="end">'
            f'{tick:g}</text><text x="{x(tick):.1f}" y="{top + size + 16}" '
            f'text-anchor="middle">{tick:g}</text>'
        )
    tail = (
        f'<text x="{left + size / 2}" y="{total_h - 6}" text-anchor="middle">'
        f"{escape(x_label)}</text>"
        f'<text x="14" y="{top + size / 2}" text-anchor="middle" '
        f'transform="rotate(-90 14 {top + size / 2})">{escape(y_label)}</text></svg>'
    )
    return parts, tail, x, y


def calibration_plot(bins: list[dict], title: str) -> str:
    """Observed rate (with its 95% interval) against mean predicted probability, per bin.

    bins: dicts with predicted, observed, low, high, sessions. The diagonal is perfect
    calibration.
    """
    if not bins:
        return ""
    parts, tail, x, y = _unit_square(
        title,
        f"{len(bins)} bins of sessions; points on the diagonal mean the predicted and observed "
        "rates agree.",
        "mean predicted probability",
        "observed rate",
    )
    parts.append(
        f'<line x1="{x(0):.1f}" y1="{y(0):.1f}" x2="{x(1):.1f}" y2="{y(1):.1f}" stroke="#888" '
        'stroke-dasharray="5 3"/>'
    )
    color = PALETTE[0]
    for b in bins:
        parts.append(
            f'<line x1="{x(b["predicted"]):.1f}" y1="{y(b["low"]):.1f}" '
            f'x2="{x(b["predicted"]):.1f}" y2="{y(b["high"]):.1f}" stroke="{color}"/>'
            f'<circle cx="{x(b["predicted"]):.1f}" cy="{y(b["observed"]):.1f}" r="4" '
            f'fill="{color}"><title>{b["sessions"]} sessions: predicted {b["predicted"]:.2f}, '
            f"observed {b['observed']:.2f} ({b['low']:.2f} to {b['high']:.2f})</title></circle>"
        )
    return "".join(parts) + tail


def band_plot(observed: list[float], low: list[float], mid: list[float], high: list[float],
              title: str, x_label: str, y_label: str) -> str:  # fmt: skip
    """An observed curve over the 95% band of replicated ones (all on 0..1, same length).

    Used for the sorted per-unit rates: the i-th smallest observed rate against the i-th
    smallest replicated ones.
    """
    n = len(observed)
    if n < 2:
        return ""
    parts, tail, share, y = _unit_square(
        title,
        f"Observed {y_label} of {n} units, sorted, as a line; the shaded band holds 95% of the "
        "replicated ones.",
        x_label,
        y_label,
    )

    def x(i: int) -> float:  # the i-th of n units, as a share of them
        return share(i / (n - 1))

    upper = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(high))
    lower = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in reversed(list(enumerate(low))))
    parts.append(f'<polygon points="{upper} {lower}" fill="{PALETTE[0]}" fill-opacity="0.22"/>')
    for values, color, width, dash in ((mid, PALETTE[0], 1.2, ' stroke-dasharray="4 3"'),
                                       (observed, PALETTE[1], 2, "")):  # fmt: skip
        path = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
        parts.append(
            f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="{width}"{dash}/>'
        )
    parts.append(
        f'<rect x="{share(0) + 10}" y="28" width="10" height="3" fill="{PALETTE[1]}"/>'
        f'<text x="{share(0) + 26}" y="33">observed</text>'
        f'<rect x="{share(0) + 10}" y="42" width="10" height="8" fill="{PALETTE[0]}" '
        f'fill-opacity="0.3"/><text x="{share(0) + 26}" y="50">replicated, 95%</text>'
    )
    return "".join(parts) + tail
