"""Words for a model's structure: random slopes, correlations, parts and interactions.

So that a reader of the Models section knows what each row means.
"""

from __future__ import annotations

from html import escape
from typing import Any

from sessionmlm.figures import plural
from sessionmlm.htmlparts import html_table, num, with_interval


def slope_equation(fit: Any) -> tuple[str, str]:
    """The random-slope terms of the equation and their distribution, ("", "") without any."""
    slopes = fit.info.get("slopes", {})
    if not slopes:
        return "", ""
    terms = "".join(
        f" + u<sub>{escape(g)},{escape(t)}</sub>·{escape(t)}"
        for g, ts in slopes.items()
        for t in ts
    )
    dist = "".join(
        f"; the {escape(g)}'s intercept and slope(s) jointly normal, correlated" for g in slopes
    )
    return terms, dist


def random_slopes_table(fit: Any) -> str:
    """Slope SDs (variance.csv rows of kind "slope") and correlations (fit.json), explained."""
    var = fit.variance
    rows = []
    if "kind" in var:
        for r in var[var["kind"] == "slope"].itertuples():
            group, term = str(r.level).split(":", 1)
            rows.append([f"SD of the <code>{escape(term)}</code> slope across "
                         f"{escape(plural(group))}", with_interval(r, "sd", 2)])  # fmt: skip
    for c in fit.info.get("correlations", []):
        a, b = (escape(t) for t in c["terms"])
        interval = f"{num(c['estimate'], 2)} ({num(c['ci_low'], 2)} to {num(c['ci_high'], 2)})"
        rows.append([f"correlation of {escape(c['level'])} {a} and {b}", interval])
    if not rows:
        return ""
    example = next(iter(fit.info.get("slopes", {}).items()), None)
    meaning = ""
    if example:
        group, terms = example
        t = escape(terms[0])
        meaning = (
            f" The slope SD says how much the association of <code>{t}</code> (its log-odds "
            f"ratio) differs from one {escape(group)} to another: about 95% of "
            f"{escape(plural(group))} have a log-odds ratio within two SDs of the one in the "
            f"odds-ratio table. A positive correlation means {escape(plural(group))} with "
            f"higher odds at <code>{t}</code> = 0 tend to have a stronger association of "
            f"<code>{t}</code>; near 0, the two are unrelated. With slopes, the "
            f"{escape(group)} SD, ICC and median odds ratio above are those of the intercept, "
            f"at <code>{t}</code> = 0."
        )
    return (
        html_table(["random effect", "estimate (95% interval)"], rows, "Random slopes")
        + f"<p class='note'>{meaning}</p>"
    )


def _part(term: str) -> tuple[str, str, str] | None:
    """("x", "within" | "between", level) for a within/between part's term, else None."""
    if not term.endswith(")") or " (" not in term:
        return None
    name, inside = term[:-1].split(" (", 1)
    kind, _, level = inside.partition(" ")
    return (name, kind, level) if kind in ("within", "between") and level else None


def part_phrase(term: str, groups: list[str], observation: str = "session") -> str:
    """What a within/between part compares, in plain words ("" for other terms)."""
    found = _part(term)
    if found is None:
        return ""
    name, kind, level = found
    if kind == "within":
        return (
            f"within the same {level}: its {plural(observation)} with more {name} than the "
            f"{level}'s own average, against those with less"
        )
    i = groups.index(level) if level in groups else 0
    if i == 0:
        return f"between {plural(level)}: {plural(level)} whose average {name} is higher"
    return (
        f"between {plural(level)} of the same {groups[i - 1]}: {plural(level)} whose average "
        f"{name} is higher than their {groups[i - 1]}'s"
    )


def term_notes(fit: Any, observation: str = "session") -> str:
    """A note under the odds ratios naming within/between parts and interactions plainly."""
    groups = list(fit.info.get("units", {}))
    notes = []
    for name, parts in fit.info.get("within_between", {}).items():
        said = "; ".join(f"<code>{escape(p)}</code>: {escape(part_phrase(p, groups, observation))}"
                         for p in parts)  # fmt: skip
        notes.append(
            f"<code>{escape(name)}</code> is split into parts ({said}). Where the parts "
            "differ, the single coefficient of a model without the split mixes them."
        )
    for term in fit.estimates["term"]:
        if ":" in term:
            a, b = term.split(":", 1)
            notes.append(
                f"<code>{escape(term)}</code>: how many times the odds ratio of "
                f"<code>{escape(a)}</code> is multiplied for each unit of "
                f"<code>{escape(b)}</code> (and the other way round); the odds ratio of "
                f"<code>{escape(a)}</code> in the table is at <code>{escape(b)}</code> = 0."
            )
    if not notes:
        return ""
    return "<p class='note'>" + " ".join(notes) + "</p>"


def structure_start(
    term: str, kinds: dict[str, str], labels: dict[str, str], groups: list[str], rows: str
) -> tuple[str, str] | None:
    """A plain-language sentence's start and comparison for a within/between part.

    None for other terms. kinds maps a predictor to "binary", "numeric" or "categorical".
    """
    found = _part(term)
    if found is None:
        return None
    name, kind, level = found
    phrase = labels.get(name, name)
    binary = kinds.get(name) == "binary"
    i = groups.index(level) if level in groups else 0
    if kind == "within":
        start = (
            f"Within the same {level}, in {rows} where {phrase} (rather than not)"
            if binary
            else f"Within the same {level}, for each additional {phrase} above its own average"
        )
        return escape(start), f"as in the {level}'s other {rows}"
    among = f"of the same {groups[i - 1]}" if i > 0 else ""
    start = (
        f"Between {plural(level)} {among}, for {plural(level)} where {phrase} in all of their "
        f"{rows} rather than in none"
        if binary
        else f"Between {plural(level)} {among}, for each additional {phrase} in a {level}'s average"
    )
    return escape(" ".join(start.split())), f"as in {plural(level)} alike in everything else"


def interaction_sentence(r: Any, kinds: dict[str, str], labels: dict[str, str]) -> str:
    """One plain-language item for an interaction term `a:b` (a ratio of odds ratios)."""
    a, b = r.term.split(":", 1)
    b_var = b.split("[")[0]
    if kinds.get(b_var) == "binary":
        where = f"where {labels.get(b_var, b + ' was 1')} than where not"
    else:
        where = f"for each one-unit increase in {b}"
    certain = (
        "The interval excludes 1."
        if r.or_low > 1 or r.or_high < 1
        else "The interval includes 1: the data are compatible with no difference."
    )
    return (
        f"<li>The odds ratio of {escape(a)} was {r.odds_ratio:.2f} times as large "
        f"{escape(where)} (95% interval {r.or_low:.2f} to {r.or_high:.2f}). {certain}</li>"
    )
