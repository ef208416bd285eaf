"""The report's Engines side by side section: each model's odds ratios under every engine."""

from __future__ import annotations

from html import escape

from sessionmlm import engines
from sessionmlm.figures import plural
from sessionmlm.htmlparts import html_table, num
from sessionmlm.report.fits import Fit


def _named(engine_names: list[str]) -> str:
    """The engine(s) a, a and b, a, b and c, as code."""
    names = [f"<code>{escape(e)}</code>" for e in engine_names]
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return f"{listed} engine{'s' if len(names) > 1 else ''}"


def why_they_differ(engine_names: list[str], groups: list[str], observation: str) -> str:
    """Why conditional and population-averaged odds ratios differ, naming the engines of each.

    groups are the cohort's grouping levels, outermost first; observation the innermost level,
    so the note speaks of the cohort's own units.
    """
    kinds = {name: engines.get(name).population_averaged for name in engine_names}
    conditional = [n for n, averaged in kinds.items() if not averaged]
    averaged = [n for n, averaged in kinds.items() if averaged]
    same = escape(" and ".join(groups))
    units = escape(" and ".join(plural(g) for g in groups))
    rows = escape(plural(observation))
    parts = ["<p class='note'><strong>Why the engines' odds ratios differ.</strong>"]
    if conditional:
        parts.append(
            f" The {_named(conditional)} fit{'s' if len(conditional) == 1 else ''} "
            "random-intercept models: their odds ratios are <em>conditional</em>, comparing "
            f"{rows} of the same {same} (“for a given {same}, how much higher are the odds when "
            "a predictor is 1 rather than 0?”)."
        )
    if averaged:
        parts.append(
            f" The {_named(averaged)} estimate{'s' if len(averaged) == 1 else ''} "
            f"<em>population-averaged</em> odds ratios, comparing the average over all {units} "
            f"(“across the whole sample, how much higher is the share of {rows} with the outcome "
            "when a predictor is 1?”)."
        )
    if conditional and averaged:
        parts.append(
            f" When {units} differ a lot, population-averaged odds ratios are closer to 1 than "
            "conditional ones; neither is wrong, they answer different questions."
        )
    if len(conditional) > 1:
        parts.append(
            " Conditional estimates of the same model from different engines should agree "
            "closely; a large gap between them deserves a look at the priors and the diagnostics."
        )
    return "".join(parts) + "</p>"


def side_by_side_section(fits: list[Fit], levels: list[str], anchor: str = "engines") -> str:
    """Each model's odds ratios with every engine that fitted it, in adjacent columns.

    levels are the cohort's, outermost first, for the note on why the engines differ; anchor
    is the section's id (an item's own section has its own).
    """
    names = list(dict.fromkeys(f.engine for f in fits))
    if len(names) < 2:
        return ""
    parts = [
        f"<h2 id='{escape(anchor)}'>Engines side by side</h2>",
        why_they_differ(names, levels[:-1], levels[-1]),
    ]
    for model in dict.fromkeys(f.model for f in fits):
        by_engine = {f.engine: f for f in fits if f.model == model}
        terms = list(dict.fromkeys(t for f in by_engine.values() for t in f.estimates["term"]))
        rows = []
        for term in terms:
            row = [escape(term)]
            for engine in names:
                f = by_engine.get(engine)
                hit = None if f is None else f.estimates[f.estimates["term"] == term]
                if f is None or hit.empty or not f.info["converged"]:
                    row.append("–")
                    continue
                r = hit.iloc[0]
                row.append(f"{num(r.odds_ratio)} ({num(r.or_low)} to {num(r.or_high)})")
            rows.append(row)
        header = ["term"] + [f"{e} odds ratio (95% interval)" for e in names]
        parts.append(html_table(header, rows, f"Model {model}"))
    return "".join(parts)
