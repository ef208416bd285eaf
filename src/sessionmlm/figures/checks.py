"""Figures of the posterior checks: calibration and predictive bands on the unit square."""

from __future__ import annotations

from html import escape

from sessionmlm.figures.plots import PALETTE, svg_open


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


def calibration_plot(bins: list[dict], title: str, observations: str) -> str:
    """Observed rate (with its 95% interval) against mean predicted probability, per bin.

    bins: dicts with predicted, observed, low, high, sessions (the count of observations in
    the bin); observations names them in the plural ("sessions"). The diagonal is perfect
    calibration.
    """
    if not bins:
        return ""
    parts, tail, x, y = _unit_square(
        title,
        f"{len(bins)} bins of {escape(observations)}; points on the diagonal mean the predicted "
        "and observed rates agree.",
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
            f'fill="{color}"><title>{b["sessions"]} {escape(observations)}: '
            f"predicted {b['predicted']:.2f}, "
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
