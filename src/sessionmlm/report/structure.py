"""The report's Study structure section: how the units nest, how many per level, the outcomes."""

from __future__ import annotations

from html import escape
from typing import Any

from sessionmlm.figures import coarsen_histogram, histogram_bars, level_diagram, plural, size_range
from sessionmlm.htmlparts import html_table, sentence
from sessionmlm.privacy import is_small


def structure_section(desc: dict[str, Any]) -> str:
    """How the units nest, how many there are per level and in each other, and each outcome.

    The unit-size bar charts merge neighbouring sizes until no bar counts 1 to min_cell - 1.
    """
    levels = desc["levels"]
    min_cell = desc["min_cell"]
    outcomes = list(desc["outcomes"].values())
    inner = plural(levels[-1])
    rated = [o for o in outcomes if o.get("base_rate") is not None]
    note = "; ".join(f"{_rate(o)} of {inner} with {o['name']}" for o in rated)
    counts = desc["counts"]
    chain = ", ".join(
        f"{counts[level]} {level if counts[level] == 1 else plural(level)}" for level in levels
    )
    rate_sentence = " ".join(_summary(o, levels[-1]) for o in outcomes)
    shown = {
        key: coarsen_histogram(size["histogram"], min_cell) for key, size in desc["sizes"].items()
    }
    sizes = {key: _public_range(size, shown[key]) for key, size in desc["sizes"].items()}
    parts = [
        "<h2 id='structure'>Study structure</h2>",
        f"<figure>{level_diagram(desc['counts'], levels, sizes, note=note)}"
        f"<figcaption>How the data nest: {escape(chain)}, outermost first. {rate_sentence}"
        "</figcaption></figure>",
    ]
    rows = [[escape(level), str(desc["counts"][level])] for level in levels]
    parts.append(html_table(["level", "units"], rows, "Units per level"))
    for key, size in sizes.items():
        child, parent = key.split("_per_")
        parents = plural(parent)
        summary = (
            f"{escape(sentence(plural(child)))} per {escape(parent)}: median "
            f"{size['median']:g}, mean {size['mean']:.2f}{size_range(size, ' to ')}"
        )
        shown_bars = shown[key]
        if any(is_small(n, min_cell) for n in shown_bars.values()):
            # Too few units in all for even one bar: no chart at all.
            parts.append(
                f"<p class='note'>{summary}. No bar chart: fewer than {min_cell} "
                f"{escape(parents)} in all.</p>"
            )
            continue
        merged = [label for label in shown_bars if label not in size["histogram"]]
        privacy = (
            f" Sizes held by fewer than {min_cell} {escape(parents)} are merged with "
            f"neighbouring sizes for privacy (bars {escape(', '.join(merged))})."
            if merged
            else ""
        )
        chart = histogram_bars(shown_bars, f"{plural(child)} per {parent}", parents)
        parts.append(
            f"<figure>{chart}<figcaption>{summary} (bar height: number of {escape(parents)})."
            f"{privacy}</figcaption></figure>"
        )
    parts += [_outcome_paragraph(out, inner) for out in outcomes]
    return "".join(parts)


def _rate(out: dict[str, Any]) -> str:
    rate = out.get("base_rate")
    return "–" if rate is None else f"{100 * rate:.1f}%"


def _summary(out: dict[str, Any], session: str) -> str:
    """One sentence on an outcome for the diagram's caption."""
    name = f"<code>{escape(out['name'])}</code>"
    if "categories" in out:
        return f"{name} by category: {_shares(out)} of {out['n']} {escape(plural(session))}."
    if out.get("base_rate") is None:
        return f"No {escape(session)} has {name}, so it has no base rate."
    return f"Base rate of {name}: {_rate(out)} of {out['n']} {escape(plural(session))}."


def _shares(out: dict[str, Any]) -> str:
    """An ordinal outcome's share of sessions per category, lowest first; small cells withheld."""
    shares = [
        "withheld" if cell["suppressed"] else f"{100 * cell['n'] / out['n']:.1f}%"
        for cell in out["categories"].values()
    ]
    return ", ".join(f"{escape(c)} {v}" for c, v in zip(out["categories"], shares, strict=True))


def _outcome_paragraph(out: dict[str, Any], inner: str) -> str:
    """One outcome: where it comes from, its base rate or categories, how many sessions lack it."""
    missing = f"; {out['missing']} {escape(inner)} without it." if out["missing"] else "."
    sources = ", ".join(escape(s) for s in out["sources"])
    name = f"<code>{escape(out['name'])}</code>"
    if "categories" in out:
        withheld = any(cell["suppressed"] for cell in out["categories"].values())
        return (
            f"<p>Outcome {name} ({sources}, ordinal, categories lowest first): "
            f"<strong>{_shares(out)}</strong> of {out['n']} {escape(inner)}{missing}"
            + (" Categories with few sessions are withheld for privacy." if withheld else "")
            + "</p>"
        )
    source = (
        f"{sources} at least {escape(out['at_least'])}"
        if "at_least" in out
        else f"any of {sources}"
    )
    return (
        f"<p>Outcome {name} ({source}): base rate <strong>{_rate(out)}</strong> of {out['n']} "
        f"{escape(inner)}{missing}</p>"
    )


def _public_range(size: dict[str, Any], bars: dict[str, int]) -> dict[str, Any]:
    """A unit-size summary without the smallest or largest size where that bar was merged.

    With the total known, a merged end bar and its extreme together would give away the
    small count the merge hid.
    """
    labels = list(bars)
    return size | {
        "min": None if labels and not labels[0].isdigit() else size["min"],
        "max": None if labels and not labels[-1].isdigit() else size["max"],
    }
