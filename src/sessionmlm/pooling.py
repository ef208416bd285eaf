"""Across cohorts: each predictor's odds ratio per cohort side by side, and pooled.

A county running several clinics fits the same models in each; this stage puts a model's odds
ratios from every cohort in one forest plot and pools them by random-effects meta-analysis
(sessionmlm.meta), with the between-cohort heterogeneity, so clinics can be compared. It is
also the index page that links every cohort's report (results/index.html).
"""

from __future__ import annotations

import json
import math
from html import escape
from pathlib import Path
from typing import Any

import pandas as pd

from sessionmlm import engines
from sessionmlm.atomic import write_text
from sessionmlm.config import Cohort
from sessionmlm.figures import forest_plot, plural
from sessionmlm.htmlparts import html_table, num, page
from sessionmlm.meta import random_effects

POOLED = "pooled (random effects)"
COLUMNS = [
    "model", "term", "cohort", "estimate", "std_error", "ci_low", "ci_high", "odds_ratio",
    "or_low", "or_high", "pi_low", "pi_high", "tau2", "i2", "q", "q_df", "q_p_value", "k",
    "engine",
]  # fmt: skip


def pooling_engine(cohorts: dict[str, Cohort], wanted: str = "auto") -> str | None:
    """The engine whose estimates are pooled: the wanted one, or the first all cohorts ran.

    Engines are tried in their registered rank (maximum likelihood first: its estimates and
    standard errors are what a frequentist meta-analysis assumes). None when the wanted engine
    (for auto, every engine) is missing from some cohort; why_nothing_pooled says which.
    """
    common = [e for e in engines.registered() if all(e in c.engines for c in cohorts.values())]
    if wanted != "auto":
        return wanted if wanted in common else None
    return common[0] if common else None


def why_nothing_pooled(cohorts: dict[str, Cohort], wanted: str = "auto") -> str:
    """Why pooling_engine found no engine: which cohorts lack it, and how to pool."""
    ran = "; ".join(f"{name}: {', '.join(c.engines) or 'none'}" for name, c in cohorts.items())
    missing = [name for name, c in cohorts.items() if wanted not in c.engines]
    if wanted == "auto" or not missing:
        return (
            f"No engine ran in every cohort (engines run: {ran}), so nothing is pooled. Add one "
            "engine to the engines of every cohort to pool its estimates."
        )
    fallback = pooling_engine(cohorts)
    auto = (
        f"set meta_analysis.engine: auto in config/config.yaml to pool {fallback}, which every "
        "cohort ran, "
        if fallback
        else ""
    )
    cohorts_missing = ("cohort " if len(missing) == 1 else "cohorts ") + ", ".join(missing)
    return (
        f"meta_analysis.engine is {wanted}, but {cohorts_missing} did not run it, so nothing is "
        f"pooled. To pool, {auto}or add {wanted} to the engines of {cohorts_missing}."
    )


def shared_models(cohorts: dict[str, Cohort]) -> list[str]:
    """Models (by name) that at least two cohorts fit, in the first cohort's order."""
    names = [m for c in cohorts.values() for m in c.models]
    return [m for m in dict.fromkeys(names) if sum(m in c.models for c in cohorts.values()) >= 2]


def _shape(spec: Any) -> tuple:
    """What makes one cohort's coefficient of a model the same quantity as another's."""
    return (
        tuple(sorted(spec.predictors)), spec.groups, tuple(sorted(map(sorted, spec.interactions))),
        spec.slopes, tuple(sorted(spec.within_between)), spec.crossed,
    )  # fmt: skip


def _reference_conflict(term: str, cohorts: list[Cohort]) -> str | None:
    """Why a categorical term (or an interaction with one) means different things by cohort."""
    for part in term.split(":"):
        if "[" not in part:
            continue
        variable = part.split("[")[0]
        refs = {c.name: c.reference.get(variable) for c in cohorts}
        if len(set(map(str, refs.values()))) > 1:
            listed = ", ".join(f"{name}: {ref}" for name, ref in refs.items())
            return f"{term} is not pooled: the reference level of {variable} differs ({listed})."
    return None


def pool_model(
    model: str, per_cohort: dict[str, pd.DataFrame], cohorts: dict[str, Cohort], settings: dict
) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows of the cross-cohort table for one model, and notes on what was not pooled.

    per_cohort maps cohort name -> that cohort's estimates.csv of the model (converged fits
    only). Every term two or more cohorts estimated is pooled; the intercept is not (it depends
    on how each cohort's predictors are centred and coded).
    """
    rows, notes = [], []
    by_term = {c: e.set_index("term") for c, e in per_cohort.items()}
    terms = dict.fromkeys(t for e in per_cohort.values() for t in e["term"])
    for term in terms:
        if term == "Intercept":
            continue
        have = {c: e.loc[term] for c, e in by_term.items() if term in e.index}
        have = {
            c: r for c, r in have.items() if math.isfinite(r["std_error"]) and r["std_error"] > 0
        }
        for cohort, r in have.items():
            rows.append(
                {"model": model, "term": term, "cohort": cohort, "estimate": r["estimate"],
                 "std_error": r["std_error"], "ci_low": r["ci_low"], "ci_high": r["ci_high"]}
            )  # fmt: skip
        conflict = _reference_conflict(term, [cohorts[c] for c in have])
        if conflict:
            notes.append(f"{model}: {conflict}")
            continue
        if len(have) < 2:
            continue
        pooled = random_effects(
            [r["estimate"] for r in have.values()],
            [r["std_error"] for r in have.values()],
            method=settings["method"],
            hksj=settings["hksj"],
        )
        rows.append(
            {
                "model": model, "term": term, "cohort": POOLED, "estimate": pooled.estimate,
                "std_error": pooled.std_error, "ci_low": pooled.ci_low, "ci_high": pooled.ci_high,
                "pi_low": pooled.pi_low, "pi_high": pooled.pi_high, "tau2": pooled.tau2,
                "i2": pooled.i2, "q": pooled.q, "q_df": pooled.q_df,
                "q_p_value": pooled.q_p_value, "k": pooled.k,
            }
        )  # fmt: skip
    return rows, notes


def pool_cohorts(
    cohorts: dict[str, Cohort], results_dir: Path, engine: str, settings: dict
) -> tuple[pd.DataFrame, list[str]]:
    """The cross-cohort table (COLUMNS) of every shared model, and notes on what was left out."""
    rows, notes = [], []
    for model in shared_models(cohorts):
        shapes = {_shape(c.models[model]) for c in cohorts.values() if model in c.models}
        if len(shapes) > 1:  # a coefficient adjusted for different predictors is another one
            notes.append(
                f"{model}: not pooled, because its predictors, levels, interactions, random "
                "slopes or within/between parts differ between cohorts; "
                "give the same formula the same name in every cohort to pool it."
            )
            continue
        per_cohort, kinds = {}, {}
        for name, cohort in cohorts.items():
            if model not in cohort.models:
                continue
            folder = results_dir / name / model / engine
            info = json.loads((folder / "fit.json").read_text())
            kinds[name] = info.get("outcome_type", "binary")
            if info.get("status") == "not fitted":
                notes.append(f"{model}: {engine} does not fit it in {name}: {info['not_fitted']}.")
                continue
            if not info["converged"]:
                notes.append(f"{model}: {name}'s {engine} fit failed and is left out.")
                continue
            per_cohort[name] = pd.read_csv(folder / "estimates.csv")
        if len(set(kinds.values())) > 1:  # a cumulative odds ratio is not a binary one
            notes.append(
                f"{model}: not pooled, because its outcome is ordinal in some cohorts and binary "
                f"in others ({', '.join(f'{c}: {k}' for c, k in kinds.items())}); give the "
                "same outcome the same type in every cohort to pool it."
            )
            continue
        found, why = pool_model(model, per_cohort, cohorts, settings)
        rows += found
        notes += why
    table = pd.DataFrame(rows, columns=COLUMNS)
    table["engine"] = engine
    for end, name in (("estimate", "odds_ratio"), ("ci_low", "or_low"), ("ci_high", "or_high")):
        table[name] = table[end].map(math.exp)
    return table, notes


def _forest_rows(table: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {"term": r.term, "series": r.cohort, "odds_ratio": r.odds_ratio, "or_low": r.or_low,
         "or_high": r.or_high}
        for r in table.itertuples()
    ]  # fmt: skip


def _pooled_table(pooled: pd.DataFrame, per_cohort: pd.DataFrame) -> str:
    rows = []
    for r in pooled.itertuples():
        each = per_cohort[per_cohort.term == r.term]
        cohorts = "; ".join(
            f"{escape(c.cohort)} {num(c.odds_ratio)} ({num(c.or_low)} to {num(c.or_high)})"
            for c in each.itertuples()
        )
        rows.append(
            [
                escape(r.term),
                cohorts,
                f"{num(r.odds_ratio)} ({num(r.or_low)} to {num(r.or_high)})",
                f"{num(math.exp(r.pi_low))} to {num(math.exp(r.pi_high))}"
                if math.isfinite(r.pi_low)
                else "–",
                num(math.sqrt(r.tau2), 2),
                f"{100 * r.i2:.0f}%",
                num(r.q_p_value, 3),
            ]
        )
    header = ["term", "per cohort: OR (95% CI)", "pooled OR (95% CI)", "95% prediction interval",
              "tau (log-odds)", "I²", "heterogeneity p"]  # fmt: skip
    return html_table(header, rows)


def _model_section(model: str, table: pd.DataFrame, hksj: bool) -> str:
    """One model's forest plot across cohorts and its pooled table."""
    part = table[table.model == model]
    pooled = part[part.cohort == POOLED]
    figure = forest_plot(_forest_rows(part), f"{model}: odds ratios by cohort and pooled")
    two = (
        "<p class='note'>With two cohorts the pooled interval is very wide: it uses a t "
        "distribution with 1 degree of freedom, because two cohorts say almost nothing about how "
        "much cohorts differ. It is honest, not a fault; more cohorts narrow it.</p>"
        if hksj and not pooled.empty and pooled["k"].min() == 2
        else ""
    )
    return (
        f"<h3>Model <code>{escape(model)}</code></h3><figure>{figure}"
        f"<figcaption class='note'>Odds ratios (95% intervals) of model {escape(model)} per "
        "cohort and pooled; the dashed line is an odds ratio of 1.</figcaption></figure>"
        + (_pooled_table(pooled, part[part.cohort != POOLED]) if not pooled.empty else "")
        + two
    )


def render_index(
    cohorts: dict[str, Cohort],
    links: dict[str, str],
    counts: dict[str, dict[str, int]],
    table: pd.DataFrame,
    notes: list[str],
    engine: str | None,
    settings: dict,
) -> str:
    """The index page: links to every cohort's report, then the cross-cohort comparison."""
    # Each cohort's own levels: cohorts need not share level names.
    link_rows = [
        [
            f"<a href='{escape(links[name])}'>{escape(name)}</a>",
            escape(
                ", ".join(
                    f"{counts[name].get(level, '–')} {plural(level)}" for level in cohort.levels
                )
            ),
        ]  # fmt: skip
        for name, cohort in cohorts.items()
    ]
    parts = [
        "<h1>sessionmlm results</h1>",
        "<h2 id='cohorts'>Cohort reports</h2>",
        html_table(["cohort", "units per level, outermost first"], link_rows),
    ]
    if len(cohorts) >= 2:
        parts.append("<h2 id='across'>Across cohorts</h2>")
        if engine is None:
            parts.append(f"<p>{escape(why_nothing_pooled(cohorts, settings['engine']))}</p>")
        else:
            method = "REML" if settings["method"] == "REML" else "DerSimonian-Laird"
            interval = "Hartung-Knapp-Sidik-Jonkman" if settings["hksj"] else "Wald"
            parts.append(
                "<p>Each model's odds ratios from every cohort, fitted with the "
                f"<code>{escape(engine)}</code> engine, and pooled by random-effects meta-analysis "
                f"(between-cohort variance by {method}, {interval} 95% interval). The pooled odds "
                "ratio is the average association across cohorts; the prediction interval is "
                "where a new cohort's odds ratio would fall. tau is the between-cohort SD of the "
                "log odds ratio and I² the share of the spread that is heterogeneity rather than "
                "chance. With few cohorts, tau and I² are very uncertain. Pooling assumes the "
                "predictors are measured and coded alike in every cohort.</p>"
            )
            parts += [
                _model_section(model, table, settings["hksj"])
                for model in dict.fromkeys(table["model"])
            ]
        if notes:
            items = "".join(f"<li>{escape(n)}</li>" for n in notes)
            parts.append(
                f"<div class='warnbox'><p>Left out of the pooling:</p><ul>{items}</ul></div>"
            )
    return page("sessionmlm results", "".join(parts))


def write_index(
    cohorts: dict[str, Cohort],
    results_dir: str,
    reports: list[str],
    descriptives: list[str],
    settings: dict,
    out: str,
    table_out: str,
) -> None:
    """Stage: results/index.html and results/cohort_comparison.csv."""
    base = Path(out).parent
    links = {name: str(Path(r).relative_to(base)) for name, r in zip(cohorts, reports, strict=True)}
    counts = {
        name: json.loads(Path(d).read_text())["counts"]
        for name, d in zip(cohorts, descriptives, strict=True)
    }
    engine = pooling_engine(cohorts, settings["engine"])
    if len(cohorts) >= 2 and engine is not None:
        table, notes = pool_cohorts(cohorts, Path(results_dir), engine, settings)
    else:
        table, notes = pd.DataFrame(columns=COLUMNS), []
    write_text(Path(table_out), table.to_csv(index=False, float_format="%.6g"))
    write_text(Path(out), render_index(cohorts, links, counts, table, notes, engine, settings))
