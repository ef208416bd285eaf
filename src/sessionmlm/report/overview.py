"""The answer first: the question, a few plain sentences and one grid of odds ratios.

The grid holds every predictor's odds ratio for every outcome (each coded item) from the main
model of each (its last), by every engine; the page shows the lead engine's. Multiplicity is
stated, never hidden: the p-values of engines that give them (ml, gee) are adjusted together by
Benjamini-Hochberg, and an association is called clear at q < .05; a Bayesian engine's are
posterior probabilities of the direction, called clear at 97.5% or more and named as such.
"""

from __future__ import annotations

import math
from html import escape

import numpy as np
import pandas as pd
from statsmodels.stats.multitest import multipletests

from sessionmlm.figures import plural
from sessionmlm.figures.grid import odds_ratio_grid
from sessionmlm.report.fits import Fit

Q_CLEAR, PROB_CLEAR = 0.05, 0.975
COLUMNS = ["outcome", "model", "engine", "term", "odds_ratio", "or_low", "or_high",
           "p_value", "q_value", "prob_direction", "clear"]  # fmt: skip


def grid_cells(fits: list[Fit], mains: dict[str, str]) -> pd.DataFrame:
    """One row per (outcome, engine, term) of each outcome's main model that passed its checks.

    q_value: Benjamini-Hochberg over every p-value of that engine's rows; prob_direction: the
    posterior probability that the odds ratio lies on the side of 1 where its estimate does.
    """
    rows = []
    for outcome, model in mains.items():
        for fit in fits:
            if fit.model != model or not fit.fitted or not fit.info["converged"]:
                continue
            for r in fit.estimates.itertuples():
                if r.term == "Intercept":
                    continue
                chance = getattr(r, "prob_positive", math.nan)
                rows.append({
                    "outcome": outcome, "model": model, "engine": fit.engine, "term": r.term,
                    "odds_ratio": r.odds_ratio, "or_low": r.or_low, "or_high": r.or_high,
                    "p_value": getattr(r, "p_value", math.nan),
                    "prob_direction": max(chance, 1 - chance),  # NaN without a posterior
                })  # fmt: skip
    table = pd.DataFrame(rows, columns=[c for c in COLUMNS if c not in ("q_value", "clear")])
    table["q_value"] = math.nan
    for _, index in table.groupby("engine").groups.items():
        p = table.loc[index, "p_value"]
        tested = p.notna()
        if tested.any():
            table.loc[p[tested].index, "q_value"] = multipletests(p[tested], method="fdr_bh")[1]
    table["clear"] = (table.q_value < Q_CLEAR) | (table.prob_direction >= PROB_CLEAR)
    return table[COLUMNS]


def _rule(engine_rows: pd.DataFrame) -> str:
    """How the engine's clear associations were called, in words."""
    if engine_rows.q_value.notna().any():
        return (f"q &lt; {Q_CLEAR:g} after Benjamini–Hochberg control of the false discovery "
                f"rate across all {len(engine_rows)} associations")  # fmt: skip
    return (
        f"a posterior probability of at least {PROB_CLEAR:.1%} that the odds ratio lies on "
        "its side of 1 (not a test: no multiplicity adjustment)"
    )


def _phrase(
    term: str, kinds: dict[str, str], labels: dict[str, str], reference: dict, rows: str
) -> str:
    """A predictor's term as words: its label where the cohort gives one."""
    if ":" in term:
        return "the interaction " + " × ".join(f"<code>{escape(t)}</code>" for t in term.split(":"))
    var, level = term[:-1].split("[", 1) if "[" in term else (term, None)
    name = escape(labels.get(var, "")) or f"<code>{escape(var)}</code>"
    if level is not None:
        versus = reference.get(var)
        rather = f" (rather than {escape(str(versus))})" if versus is not None else ""
        return f"{name}: {escape(level)}{rather}"
    if kinds.get(var) == "binary" or var not in kinds:
        plain = f"<code>{escape(var)}</code> = 1"
        return f"{escape(rows)} where {name}" if var in labels else plain
    return f"each additional {name}" if var in labels else f"each unit of {name}"


def _strongest(rows: pd.DataFrame, higher: bool, words) -> str:
    side = rows[(rows.odds_ratio >= 1) == higher]
    if side.empty:
        return ""
    r = side.loc[np.log(side.odds_ratio).abs().idxmax()]
    return (f"{words(r.term)} went with {'more' if higher else 'less'} "
            f"<code>{escape(r.outcome)}</code> (odds ratio {r.odds_ratio:.2f}, 95% interval "
            f"{r.or_low:.2f} to {r.or_high:.2f})")  # fmt: skip


def summary_sentences(
    cells: pd.DataFrame, lead: str, words, flagged: dict[str, str], reliability_known: bool
) -> list[str]:
    """Three to six sentences: how many clear, the strongest both ways, agreement, reliability."""
    own = cells[cells.engine == lead]
    if own.empty:
        return ["No outcome's main model passed its checks, so there is no answer to give yet: "
                "see At a glance for what failed."]  # fmt: skip
    clear = own[own.clear]
    items, terms = own.outcome.nunique(), own.term.nunique()
    said = [
        f"{len(clear)} of {len(own)} associations ({terms} predictor terms, {items} "
        f"outcome{'s' if items != 1 else ''}; {escape(lead)} engine) "
        f"{'was' if len(clear) == 1 else 'were'} clear: {_rule(own)}."
    ]
    strongest = [s for s in (_strongest(clear, True, words), _strongest(clear, False, words)) if s]
    if strongest:
        said.append("Strongest: " + "; ".join(strongest) + ".")
    if clear.empty:
        r = own.loc[np.log(own.odds_ratio).abs().idxmax()]
        said.append(f"The strongest association, an odds ratio of {r.odds_ratio:.2f} "
                    f"({words(r.term)} and "
                    f"<code>{escape(r.outcome)}</code>, 95% interval {r.or_low:.2f} to "
                    f"{r.or_high:.2f}), was not clear either: the data are compatible with "
                    "no association for every predictor.")  # fmt: skip
    others = [e for e in dict.fromkeys(cells.engine) if e != lead]
    if others:
        said.append(_agreement(cells, own, clear, lead, others))
    if flagged:
        said.append(
            f"{len(flagged)} outcome{'s were' if len(flagged) > 1 else ' was'} coded unreliably "
            f"(†: {', '.join(f'<code>{escape(i)}</code>' for i in flagged)}): associations with "
            f"{'them' if len(flagged) > 1 else 'it'} are attenuated by unreliable coding, so "
            "they understate the true ones."
        )  # fmt: skip
    elif reliability_known:
        said.append("Every double-coded item met the reliability thresholds.")
    else:
        said.append("How reliably the outcomes were coded is not known here: the cohort "
                    "declares no double-coded table.")  # fmt: skip
    return said


def _agreement(cells, own, clear, lead: str, others: list[str]) -> str:
    """Whether the other engines point the same way: on the clear associations, else on all."""
    judged = clear if not clear.empty else own
    which = "clear associations" if not clear.empty else "associations"
    agree = []
    for engine in others:
        theirs = cells[cells.engine == engine].set_index(["outcome", "term"])
        keys = [k for k in zip(judged.outcome, judged.term, strict=True) if k in theirs.index]
        mine = judged.set_index(["outcome", "term"]).loc[keys]
        same = int(((theirs.loc[keys, "odds_ratio"] >= 1) == (mine.odds_ratio >= 1)).sum())
        also = int(theirs.loc[keys, "clear"].sum())
        agree.append((escape(engine), same, len(keys), also))
    same = [f"{a[1]} of {a[2]}" for a in agree]
    also = " and ".join(str(a[3]) for a in agree)
    who = " and ".join(a[0] for a in agree)
    one = len(agree) == 1
    return (
        f"Do the engines agree? Of the {escape(lead)} engine's {which}, {who} gave the same "
        f"direction for {' and '.join(same)}{'' if one else ' respectively'}, and called "
        f"{also} clear by {'its' if one else 'their'} own rule{'' if one else 's'}."
    )


def overview_section(
    cells: pd.DataFrame,
    lead: str,
    levels: list[str],
    words,
    flagged: dict[str, str],
    reliability_known: bool,
) -> str:
    """The report's first section: the question, the sentences and the grid."""
    outcomes = list(dict.fromkeys(cells.outcome)) if not cells.empty else []
    who = escape(units_phrase(levels))
    what = (f"each of the {len(outcomes)} coded outcomes" if len(outcomes) > 1
            else f"<code>{escape(outcomes[0])}</code>" if outcomes else "the outcomes")  # fmt: skip
    sentences = summary_sentences(cells, lead, words, flagged, reliability_known)
    own = cells[cells.engine == lead]
    grid = odds_ratio_grid(
        [{**r, "item": r["outcome"], "detail": _detail(r)} for r in own.to_dict("records")],
        list(dict.fromkeys(own.term)), outcomes,
        f"Odds ratios by predictor and outcome ({lead})", set(flagged),
    )  # fmt: skip
    short = (
        "q &lt; .05, Benjamini–Hochberg"
        if own.q_value.notna().any()
        else (f"posterior probability of the direction ≥ {PROB_CLEAR:.1%}")
    )
    return (
        "<h2 id='overview'>The answer first</h2>"
        f"<p class='question'><strong>The question:</strong> which characteristics of "
        f"{who} went with more or less of {what}?</p>"
        "<ul class='answer'>" + "".join(f"<li>{s}</li>" for s in sentences) + "</ul>"
        + (f"<figure>{grid}<figcaption>Main model of each outcome, {escape(lead)} engine: "
           "blue, more of the practice; orange, less (ordinal outcomes: cumulative odds "
           f"ratios); bold and outlined, clear ({short}); –, no such term; †, coded "
           "unreliably. Intervals: hover a cell, or overview.csv (every engine)."
           "</figcaption></figure>" if grid else "")
    )  # fmt: skip


def _detail(row: dict) -> str:
    how = (f"q = {row['q_value']:.3f}" if math.isfinite(row["q_value"])
           else f"posterior probability of the direction {row['prob_direction']:.3f}")  # fmt: skip
    return (
        f"{row['term']} and {row['outcome']}: odds ratio {row['odds_ratio']:.2f} "
        f"(95% interval {row['or_low']:.2f} to {row['or_high']:.2f}); {how}"
    )


def units_phrase(levels: list[str]) -> str:
    """'programs, therapists, clients and sessions' for the question."""
    names = [plural(level) for level in levels[::-1]]
    return ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else names[0]


def phrase_maker(desc: dict, cohort):
    """Term -> words, with the cohort's labels and reference levels and Table 1's kinds."""
    kinds = {name: e["kind"] for entries in desc["table1"].values() for name, e in entries.items()}
    rows = plural(desc["levels"][-1])
    return lambda term: _phrase(term, kinds, cohort.labels, cohort.reference, rows)
