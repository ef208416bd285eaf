"""The report's Engines side by side section: each model's odds ratios under every engine."""

from __future__ import annotations

from html import escape

from sessionmlm import engines
from sessionmlm.htmlparts import html_table, num
from sessionmlm.report.fits import Fit


def _named(engine_names: list[str]) -> str:
    """The engine(s) a, a and b, a, b and c, as code."""
    names = [f"<code>{escape(e)}</code>" for e in engine_names]
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return f"{listed} engine{'s' if len(names) > 1 else ''}"


def why_they_differ(engine_names: list[str]) -> str:
    """Why conditional and population-averaged odds ratios differ, naming the engines of each."""
    kinds = {name: engines.get(name).population_averaged for name in engine_names}
    conditional = [n for n, averaged in kinds.items() if not averaged]
    averaged = [n for n, averaged in kinds.items() if averaged]
    parts = ["<p class='note'><strong>Why the engines' odds ratios differ.</strong>"]
    if conditional:
        parts.append(
            f" The {_named(conditional)} fit{'s' if len(conditional) == 1 else ''} "
            "random-intercept models: their odds ratios are <em>conditional</em>, comparing "
            "sessions with the same therapist and client (“for a given therapist and child, how "
            "much higher are the odds when a caregiver is present?”)."
        )
    if averaged:
        parts.append(
            f" The {_named(averaged)} estimate{'s' if len(averaged) == 1 else ''} "
            "<em>population-averaged</em> odds ratios, comparing the average over all therapists "
            "and clients (“across the clinic, how much higher is the share of sessions with "
            "homework when a caregiver is present?”)."
        )
    if conditional and averaged:
        parts.append(
            " When therapists and clients differ a lot, population-averaged odds ratios are "
            "closer to 1 than conditional ones; neither is wrong, they answer different questions."
        )
    if len(conditional) > 1:
        parts.append(
            " Conditional estimates of the same model from different engines should agree "
            "closely; a large gap between them deserves a look at the priors and the diagnostics."
        )
    return "".join(parts) + "</p>"


def side_by_side_section(fits: list[Fit]) -> str:
    """Each model's odds ratios with every engine that fitted it, in adjacent columns."""
    names = list(dict.fromkeys(f.engine for f in fits))
    if len(names) < 2:
        return ""
    parts = ["<h2 id='engines'>Engines side by side</h2>", why_they_differ(names)]
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
