"""The study structure's figures: the nesting diagram, unit sizes, and bars merged for privacy."""

from __future__ import annotations

from html import escape

from sessionmlm.figures.plots import PALETTE, svg_open
from sessionmlm.privacy import is_small


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
        return is_small(b[2], min_cell)

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
    """The nesting of the levels as boxes, outermost level on top.

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
    alt = f"Study structure: {chain}."
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
