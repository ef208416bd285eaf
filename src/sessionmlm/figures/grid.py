"""The overview's figure: odds ratios as a grid of predictors (rows) by coded items (columns)."""

from __future__ import annotations

import math
from html import escape

from sessionmlm.figures.plots import svg_open

HIGHER, LOWER = (27, 108, 168), (201, 90, 31)  # blue: more of the practice; orange: less
CAP = math.log(4.0)  # odds ratios beyond 4 (or 1/4) take the strongest colour


def _fill(odds_ratio: float) -> str:
    """The cell's colour: white at 1, deeper the further from 1, on the log scale."""
    if not math.isfinite(odds_ratio) or odds_ratio <= 0:
        return "#eceff3"
    strength = min(abs(math.log(odds_ratio)) / CAP, 1.0)
    rgb = HIGHER if odds_ratio >= 1 else LOWER
    mixed = (round(255 + (c - 255) * strength) for c in rgb)
    return "#{:02x}{:02x}{:02x}".format(*mixed)


def odds_ratio_grid(
    cells: list[dict],
    terms: list[str],
    items: list[str],
    title: str,
    flagged: set[str] = frozenset(),
) -> str:
    """One cell per (term, item): its odds ratio printed, coloured by direction and size.

    cells: dicts with term, item, odds_ratio, or_low, or_high, clear (bool: the association
    passes the stated multiplicity rule), and a hover text `detail`. Clear cells are outlined
    and their odds ratio printed in bold; a term a model lacks is a grey dash. Flagged items
    (unreliable coding) carry a dagger.
    """
    if not cells:
        return ""
    cell_w, cell_h = 46, 24
    label_w = max(120, 7 * max(len(t) for t in terms) + 16)
    # Item names are written at -50 degrees: about 7 px per character, 0.77 of it upwards and
    # 0.64 of it to the right of the last column.
    name_px = 7 * max(len(i) + 2 for i in items)
    top = 16 + round(0.77 * name_px)
    grid_w = label_w + cell_w * len(items) + round(0.64 * name_px) + 10
    width, height = max(grid_w, label_w + 44 * 5 + 10), top + cell_h * len(terms) + 46
    at = {(c["term"], c["item"]): c for c in cells}
    parts = [svg_open(width, height, title, f"Grid of odds ratios: {len(terms)} predictors "
                      f"(rows) by {len(items)} coded items (columns).")]  # fmt: skip
    for j, item in enumerate(items):
        x = label_w + cell_w * j + cell_w / 2
        name = item + (" †" if item in flagged else "")
        parts.append(f'<text transform="translate({x + 4:.0f},{top - 8}) rotate(-50)">'
                     f"{escape(name)}</text>")  # fmt: skip
    for i, term in enumerate(terms):
        y = top + cell_h * i
        parts.append(f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end">'
                     f"{escape(term)}</text>")  # fmt: skip
        for j, item in enumerate(items):
            x, cell = label_w + cell_w * j, at.get((term, item))
            if cell is None:
                parts.append(f'<rect x="{x}" y="{y}" width="{cell_w}" height="{cell_h}" '
                             'fill="#f6f7f9" stroke="#fff"/>'
                             f'<text x="{x + cell_w / 2}" y="{y + 16}" text-anchor="middle" '
                             'fill="#8a96a3">–</text>')  # fmt: skip
                continue
            ratio = cell["odds_ratio"]
            dark = math.isfinite(ratio) and ratio > 0 and abs(math.log(ratio)) > 0.6 * CAP
            outline = 'stroke="#1d2733" stroke-width="2"' if cell["clear"] else 'stroke="#fff"'
            weight = ' font-weight="700"' if cell["clear"] else ""
            text = f"{ratio:.2f}" if math.isfinite(ratio) and ratio < 100 else "&gt;99"
            parts.append(
                f"<g><title>{escape(cell['detail'])}</title>"
                f'<rect x="{x + 1}" y="{y + 1}" width="{cell_w - 2}" height="{cell_h - 2}" '
                f'fill="{_fill(ratio)}" {outline}/>'
                f'<text x="{x + cell_w / 2}" y="{y + 16}" text-anchor="middle"{weight} '
                f'fill="{"#fff" if dark else "#1d2733"}">{text}</text></g>'
            )
    legend_y = top + cell_h * len(terms) + 20
    swatches = [(0.25, "0.25"), (0.5, "0.5"), (1.0, "1"), (2.0, "2"), (4.0, "4")]
    for k, (ratio, label) in enumerate(swatches):
        x = label_w + 44 * k
        parts.append(f'<rect x="{x}" y="{legend_y}" width="40" height="12" fill="{_fill(ratio)}" '
                     f'stroke="#c5ccd4"/><text x="{x + 20}" y="{legend_y + 26}" '
                     f'text-anchor="middle">{label}</text>')  # fmt: skip
    parts.append(f'<text x="{label_w - 8}" y="{legend_y + 10}" text-anchor="end">odds ratio'
                 "</text></svg>")  # fmt: skip
    return "".join(parts)
