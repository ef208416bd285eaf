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
    flagged: frozenset[str] | set[str] = frozenset(),
) -> str:
    """One cell per (item, term): its odds ratio printed, coloured by direction and size.

    Items are rows and predictor terms columns, so that a coding study's dozens of items grow
    the grid downwards, where the page scrolls. cells: dicts with term, item, odds_ratio,
    or_low, or_high, clear (bool: the association passes the stated multiplicity rule), and a
    hover text `detail`. Clear cells are outlined and their odds ratio printed in bold; a term
    a model lacks is a grey dash. Flagged items (unreliable coding) carry a dagger.
    """
    if not cells:
        return ""
    cell_w, cell_h, char = 44, 18, 6.2  # px per character at the figure's 11 px
    label_w = max(5 * 30 + 10, round(char * max(len(i) + 2 for i in items)) + 12)
    # Term names are written at -55 degrees: 0.82 of their length upwards, 0.57 to the right.
    name_px = char * max(len(t) for t in terms)
    top = max(48, 14 + round(0.82 * name_px))  # room for the legend in the corner
    width = label_w + cell_w * len(terms) + round(0.57 * name_px) + 10
    height = top + cell_h * len(items) + 6
    at = {(c["term"], c["item"]): c for c in cells}
    parts = [svg_open(width, height, title, f"Grid of odds ratios: {len(items)} outcomes "
                      f"(rows) by {len(terms)} predictor terms (columns).", 11)]  # fmt: skip
    for j, term in enumerate(terms):
        x = label_w + cell_w * j + cell_w / 2
        parts.append(f'<text transform="translate({x + 4:.0f},{top - 6}) rotate(-55)">'
                     f"{escape(term)}</text>")  # fmt: skip
    for i, item in enumerate(items):
        y = top + cell_h * i
        name = item + (" †" if item in flagged else "")
        parts.append(f'<text x="{label_w - 8}" y="{y + 13}" text-anchor="end">'
                     f"{escape(name)}</text>")  # fmt: skip
        for j, term in enumerate(terms):
            x, cell = label_w + cell_w * j, at.get((term, item))
            if cell is None:
                parts.append(f'<rect x="{x}" y="{y}" width="{cell_w}" height="{cell_h}" '
                             'fill="#f6f7f9" stroke="#fff"/>'
                             f'<text x="{x + cell_w / 2}" y="{y + 13}" text-anchor="middle" '
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
                f'<text x="{x + cell_w / 2}" y="{y + 13}" text-anchor="middle"{weight} '
                f'fill="{"#fff" if dark else "#1d2733"}">{text}</text></g>'
            )
    # The legend sits in the empty corner above the item names, left of the term names.
    parts.append('<text x="4" y="12">odds ratio</text>')
    swatches = [(0.25, "0.25"), (0.5, "0.5"), (1.0, "1"), (2.0, "2"), (4.0, "4")]
    for k, (ratio, label) in enumerate(swatches):
        x = 4 + 30 * k
        parts.append(f'<rect x="{x}" y="18" width="28" height="10" fill="{_fill(ratio)}" '
                     f'stroke="#c5ccd4"/><text x="{x + 14}" y="40" '
                     f'text-anchor="middle">{label}</text>')  # fmt: skip
    parts.append("</svg>")
    return "".join(parts)
