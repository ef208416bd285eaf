"""The report's In plain language section: a careful sentence per predictor."""

from __future__ import annotations

import math
from html import escape
from typing import Any

from sessionmlm.report.fits import Fit, engine_of

# Built-in phrases for the data contract's columns, used where a cohort's `labels:` gives none
# (config/README.md): the kind each fits and the phrase. A binary phrase is the 1 state ("In
# sessions where ..."), a numeric one the unit ("For each additional ..."), a categorical one a
# noun phrase ("In sessions where ... was CBITS rather than MAP").
PLAIN_LABELS = {
    "caregiver_present": ("binary", "a caregiver was present"),
    "stressful_event": ("binary", "a stressful event was reported"),
    "licensed": ("binary", "the therapist was licensed"),
    "hispanic_latinx": ("binary", "the therapist was Hispanic/Latinx"),
    "child_age": ("numeric", "year of the child's age"),
    "ebp_attitudes": ("numeric", "point of the therapist's EBP attitudes score"),
    "emotional_exhaustion": ("numeric", "point of the therapist's emotional exhaustion score"),
    "direct_hours": ("numeric", "weekly hour of direct service the therapist gave"),
    "n_ebps_trained": ("numeric", "EBP the therapist was trained in"),
    "ebp": ("categorical", "the EBP delivered"),
}


def _outcome_phrase(name: str, sources: list[str]) -> str:
    """What the outcome being 1 means, from its source columns (hw_assigned, hw_reviewed)."""
    said = [s.lower() for s in sources]
    stems = {"assign": "assigned", "review": "reviewed"}
    if said and all(("hw" in s or "homework" in s) and any(t in s for t in stems) for s in said):
        return "homework was " + " or ".join(
            w for t, w in stems.items() if any(t in s for s in said)
        )
    return f"{name} was 1"


def plain_language(
    fit: Fit,
    desc: dict[str, Any],
    reference: dict[str, Any],
    labels: dict[str, str] | None = None,
) -> str:
    """A sentence per predictor, careful to speak of association, not cause.

    labels: the cohort's `labels:` (column -> phrase), over the built-in PLAIN_LABELS.
    """
    labels = labels or {}
    table1 = desc["table1"]
    level_of = {name: level for level, entries in table1.items() for name in entries}
    kinds = {name: e["kind"] for entries in table1.values() for name, e in entries.items()}
    outcome_name = fit.info["formula"].split("~")[0].strip()
    sources = desc.get("outcome", {}).get("sources", [])
    outcome = escape(labels.get(outcome_name) or _outcome_phrase(outcome_name, sources))
    groups = [str(g) for g in fit.variance.get("level", [])] or desc["levels"][:-1]
    same, alike = escape(" and ".join(groups)), escape(" and ".join(f"{g}s" for g in groups))
    averaged = engine_of(fit).population_averaged
    if averaged:
        note = f"Odds ratios are population-averaged, over all {alike}."
    else:
        note = (
            f"Odds ratios are conditional: they compare sessions of the same {same}, or of "
            f"{alike} alike in everything else."
        )
    items = []
    for r in fit.estimates.itertuples():
        if r.term == "Intercept":
            continue
        ratio, low, high = r.odds_ratio, r.or_low, r.or_high
        var, level = r.term[:-1].split("[", 1) if "[" in r.term else (r.term, None)
        kind = "categorical" if level is not None else kinds.get(var)
        default_kind, default = PLAIN_LABELS.get(var, (None, None))
        kind = kind or default_kind or "numeric"
        phrase = labels.get(var) or (default if default_kind == kind else None)
        if level is not None:
            versus = reference.get(var)
            if versus is None:  # the one category no term names
                named = {
                    t[len(var) + 1 : -1] for t in fit.estimates["term"] if t.startswith(var + "[")
                }
                rest = set(table1.get(level_of.get(var), {}).get(var, {}).get("categories", {}))
                versus = min(rest - named) if len(rest - named) == 1 else "the reference level"
            start = (
                f"In sessions where {escape(phrase or var)} was {escape(level)} rather than "
                f"{escape(str(versus))}"
            )
        elif kind == "binary":
            start = (
                f"In sessions where {escape(phrase)} (rather than not)"
                if phrase
                else f"In sessions where {escape(var)} was 1 (rather than 0)"
            )
        else:
            start = (
                f"For each additional {escape(phrase)}"
                if phrase
                else f"For each one-unit increase in {escape(var)}"
            )
        if averaged:
            among = f"otherwise similar sessions, on average across all {alike}"
        elif level_of.get(var, desc["levels"][-1]) == desc["levels"][-1]:
            among = f"otherwise similar sessions of the same {same}"
        else:
            among = f"otherwise similar sessions, with {alike} alike in everything else"
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
    return (
        "<p class='note'>Associations in observational data, not effects: how the odds "
        "differed between sessions, not what would happen if a session were changed. Each "
        f"sentence compares sessions alike in the model's other predictors. {note}</p>"
        "<ul>" + "".join(items) + "</ul>"
    )
