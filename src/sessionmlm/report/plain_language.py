"""The report's In plain language section: a careful sentence per predictor."""

from __future__ import annotations

import math
from html import escape
from typing import Any

from sessionmlm.figures import plural
from sessionmlm.report.fits import Fit, engine_of
from sessionmlm.report.structure_terms import interaction_sentence, structure_start


def plain_language(
    fit: Fit,
    desc: dict[str, Any],
    reference: dict[str, Any],
    labels: dict[str, str] | None = None,
) -> str:
    """A sentence per predictor, careful to speak of association, not cause.

    labels: the cohort's `labels:` (column -> phrase); a column without one is named as is.
    """
    labels = labels or {}
    table1 = desc["table1"]
    level_of = {name: level for level, entries in table1.items() for name in entries}
    kinds = {name: e["kind"] for entries in table1.values() for name, e in entries.items()}
    outcome_name = fit.info["formula"].split("~")[0].strip()
    ordinal = fit.info.get("outcome_type") == "ordinal"
    fallback = f"{outcome_name} was higher" if ordinal else f"{outcome_name} was 1"
    outcome = escape(labels.get(outcome_name) or fallback)
    if ordinal:  # a cumulative odds ratio: the same at every cut of the scale
        outcome += " (a rating above any given point of the scale)"
    groups = [str(g) for g in fit.variance.get("level", [])] or desc["levels"][:-1]
    same, alike = escape(" and ".join(groups)), escape(" and ".join(plural(g) for g in groups))
    row = escape(desc["levels"][-1])  # the observation level's name: session
    rows = escape(plural(desc["levels"][-1]))
    averaged = engine_of(fit).population_averaged
    if averaged:
        note = f"Odds ratios are population-averaged, over all {alike}."
    else:
        note = (
            f"Odds ratios are conditional: they compare {rows} of the same {same}, or of "
            f"{alike} alike in everything else."
        )
    items = []
    for r in fit.estimates.itertuples():
        if r.term == "Intercept":
            continue
        if ":" in r.term:
            items.append(interaction_sentence(r, kinds, labels))
            continue
        ratio, low, high = r.odds_ratio, r.or_low, r.or_high
        special = structure_start(r.term, kinds, labels, list(fit.info.get("units", {})), rows)
        var, level = r.term[:-1].split("[", 1) if "[" in r.term else (r.term, None)
        kind = "categorical" if level is not None else kinds.get(var)
        kind = kind or "numeric"
        phrase = labels.get(var)
        if special:
            start, among = special
        elif level is not None:
            versus = reference.get(var)
            if versus is None:  # the one category no term names
                named = {
                    t[len(var) + 1 : -1] for t in fit.estimates["term"] if t.startswith(var + "[")
                }
                rest = set(table1.get(level_of.get(var), {}).get(var, {}).get("categories", {}))
                versus = min(rest - named) if len(rest - named) == 1 else "the reference level"
            start = (
                f"In {rows} where {escape(phrase or var)} was {escape(level)} rather than "
                f"{escape(str(versus))}"
            )
        elif kind == "binary":
            start = (
                f"In {rows} where {escape(phrase)} (rather than not)"
                if phrase
                else f"In {rows} where {escape(var)} was 1 (rather than 0)"
            )
        else:
            start = (
                f"For each additional {escape(phrase)}"
                if phrase
                else f"For each one-unit increase in {escape(var)}"
            )
        if special:
            pass
        elif averaged:
            among = f"otherwise similar {rows}, on average across all {alike}"
        elif level_of.get(var, desc["levels"][-1]) == desc["levels"][-1]:
            among = f"otherwise similar {rows} of the same {same}"
        else:
            among = f"otherwise similar {rows}, with {alike} alike in everything else"
        if not special:
            among = ("as in " if level is not None or kind == "binary" else "in ") + among
        lower = f"{100 * (1 - ratio):.0f}% lower; " if ratio <= 0.995 else ""
        certain = (
            "The interval excludes 1."
            if low > 1 or high < 1
            else "The interval includes 1: the data are compatible with no association."
        )
        # prob_positive, where an engine gives it, is the posterior probability that beta > 0.
        chance = getattr(r, "prob_positive", math.nan)
        if math.isfinite(chance):
            chance = chance if ratio >= 1 else 1 - chance
            share = "over 99.9%" if chance >= 0.9995 else f"{100 * chance:.1f}%"
            certain += f" Probability that the odds are {'higher' if ratio >= 1 else 'lower'}: "
            certain += f"{share}."
        items.append(
            f"<li>{start}, the odds that {outcome} were {ratio:.2f} times as high ({lower}95% "
            f"interval {low:.2f} to {high:.2f}) {among}. {certain}</li>"
        )
    if ordinal:
        note += (
            f" {escape(outcome_name)} is an ordered rating, so each odds ratio is cumulative: "
            "the odds of a rating above any point of the scale rather than at or below it, "
            "the same at every point under the model's proportional-odds assumption."
        )
    return (
        "<p class='note'>Associations in observational data, not effects: how the odds "
        f"differed between {rows}, not what would happen if a {row} were changed. Each "
        f"sentence compares {rows} alike in the model's other predictors. {note}</p>"
        "<ul>" + "".join(items) + "</ul>"
    )
