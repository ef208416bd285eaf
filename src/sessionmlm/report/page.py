"""The HTML report of one cohort: lays out the sections the other modules compute.

Self-contained by construction: inline CSS, inline SVG figures, no scripts, no links out.
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path

import pandas as pd

from sessionmlm import atomic
from sessionmlm.compare import information_criteria, likelihood_ratio_tests, loo_comparison
from sessionmlm.config import Cohort
from sessionmlm.figures import forest_plot, plural
from sessionmlm.htmlparts import html_table, page, sentence
from sessionmlm.report import fits as fitted
from sessionmlm.report.appendix import appendix_section
from sessionmlm.report.coders import coders_section
from sessionmlm.report.comparison import comparison_section
from sessionmlm.report.fits import Fit, badge, engine_of, lead_engine, load_fit, null_of
from sessionmlm.report.item_folds import item_fold, items_section
from sessionmlm.report.models import model_section
from sessionmlm.report.overview import grid_cells, overview_section, phrase_maker
from sessionmlm.report.plain_language import plain_language
from sessionmlm.report.posterior import check_warnings, predictive_section, sensitivity_section
from sessionmlm.report.predictions import (
    prediction_models,
    prediction_source,
    predictions_section,
)
from sessionmlm.report.reliability import flagged_items, reliability_section
from sessionmlm.report.side_by_side import side_by_side_section
from sessionmlm.report.structure import structure_section
from sessionmlm.report.table1 import table1_section
from sessionmlm.report.tables import report_tables


def _glance(fits: list[Fit], flagged: dict[str, str], item_of: dict[str, str]) -> str:
    """One row per fit: did it pass its checks, and what to look at (flagged items marked)."""
    rows = [
        [
            escape(f.model) + (" †" if item_of.get(f.model) in flagged else ""),
            escape(f.engine),
            badge(f),
            escape("; ".join(f.info["problems"] + f.info.get("warnings", [])
                             + check_warnings(f.info)) or "all checks passed"),
        ]
        for f in fits
    ]  # fmt: skip
    return "<h2 id='glance'>At a glance</h2>" + html_table(
        ["model", "engine", "checks", "detail"], rows
    )


def _forest(lead_fits: list[Fit], lead: str) -> str:
    """The lead engine's odds ratios of every model in one forest plot."""
    rows = [
        {"term": r.term, "series": f"{f.model} (cumulative)" if f.ordinal else f.model,
         "odds_ratio": r.odds_ratio,
         "or_low": r.or_low, "or_high": r.or_high}
        for f in lead_fits
        if f.info["converged"]
        for r in f.estimates.itertuples()
        if r.term != "Intercept"
    ]  # fmt: skip
    if not rows:  # no model outside the items has a predictor: nothing to plot
        return ""
    what = engine_of(lead_fits[0]).wording.estimates
    return (
        "<h2 id='forest'>Odds ratios across models</h2>"
        f"<figure>{forest_plot(rows, f'Odds ratios with 95% intervals by model ({lead})')}"
        f"<figcaption>{escape(sentence(what))} from the {escape(lead)} "
        "engine; the dashed line marks no association (odds ratio 1)."
        + (
            " Models marked cumulative are of an ordered rating: their odds ratios are of a "
            "higher rating rather than a lower one."
            if any(f.ordinal for f in lead_fits)
            else ""
        )
        + "</figcaption></figure>"
    )


def _listed(names: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else "".join(names)


def _outcome_of(cohort: Cohort, model: str | None) -> str:
    """The outcome a model of the cohort names ("" for no model): the words follow the model."""
    spec = cohort.models.get(model or "")
    return spec.outcome if spec is not None else ""


def _mains(cohort: Cohort, models: list[str]) -> dict[str, str]:
    """Each outcome's main model (the last of its models), in the cohort file's outcome order."""
    last = {_outcome_of(cohort, m): m for m in models}
    return {o: last[o] for o in [*cohort.outcomes, *last] if o in last}


def _named(html: str, anchor: str, title: str, outcome: str, many: bool) -> str:
    """A section of one outcome, its heading and anchor naming the outcome when there are many."""
    if not many or not html:
        return html
    return html.replace(
        f"<h2 id='{anchor}'>{title}</h2>",
        f"<h2 id='{anchor}-{escape(outcome)}'>{title}: <code>{escape(outcome)}</code></h2>",
        1,
    )


def _plain_section(main: Fit | None, lead: str, desc: dict, cohort: Cohort) -> str:
    heading = (f"<h2 id='plain'>In plain language ({escape(main.model) if main else ''} model, "
               f"{escape(lead)} engine)</h2>")  # fmt: skip
    if main and main.info["converged"]:
        return heading + plain_language(main, desc, cohort.reference, cohort.labels)
    return heading + (
        "<p>The main model did not pass its checks, so no plain-language summary is given.</p>"
    )


def render_cohort_report(
    cohort: Cohort,
    desc: dict,
    validation: dict,
    fits: list[Fit],
    reliability: pd.DataFrame | None = None,
    coders: str = "",
) -> tuple[str, dict[str, pd.DataFrame]]:
    """The whole cohort report as one HTML string, and the tables that go beside it.

    The tables (report_tables) are "comparison" (likelihood-ratio tests), "predicted", "loo"
    and "sensitivity", computed once for the page and the files alike, and "overview" (the
    answer-first grid of every engine). reliability is reliability.csv, when the cohort has a
    double-coded table; coders is the section comparing item models fitted to every coder's
    codes (report/coders.py), when the cohort has them. Coded items' sections fold, one item
    each (item_folds.py). With several outcomes, the posterior checks, prior sensitivity and
    plain language come once per outcome, for its main model (its last), and the predicted
    probabilities once per predictions model.
    """
    models = list(dict.fromkeys(f.model for f in fits))
    every, fits = fits, [f for f in fits if f.fitted]  # not fitted: said in Models, then left
    lead = lead_engine(cohort, fits)
    lead_fits = [f for f in fits if f.engine == lead]
    posterior = fitted.posterior_fits(cohort, fits)
    likelihood = fitted.likelihood_fits(fits)
    loo_rows = loo_comparison(posterior)
    tests = likelihood_ratio_tests(likelihood)
    criteria = information_criteria(likelihood) if likelihood else None
    levels = list(cohort.levels)
    comparison = comparison_section(loo_rows, criteria, tests, cohort.session_level)
    mains = _mains(cohort, models)
    many = len(mains) > 1
    item_of = {m: item for m, (item, _) in cohort.item_models.items()}
    flagged = flagged_items(reliability)
    cells = grid_cells(fits, mains)
    item_parts: dict[str, list[str]] = {item: [] for item in cohort.items}
    sections: dict[str, list[tuple[str, str]]] = {
        k: [] for k in ("checks", "sensitivity", "plain", "predicted")
    }
    for outcome, last in mains.items():
        own = {m: i for m, i in posterior.items() if _outcome_of(cohort, m) == outcome}
        checks = predictive_section(own, last, outcome, levels)
        sensitivity = sensitivity_section(own, last, levels[:-1])
        main = next((f for f in lead_fits if f.model == last), None)
        checks = _named(checks, "checks", "Posterior predictive checks", outcome, many)
        sensitivity = _named(sensitivity, "sensitivity", "Prior sensitivity", outcome, many)
        plain = _plain_section(main, lead, desc, cohort)
        if many:
            plain = plain.replace("<h2 id='plain'>", f"<h2 id='plain-{escape(outcome)}'>", 1)
        if outcome in item_parts:  # folded with the item's models below
            item_parts[outcome] += [plain, checks, sensitivity]
            continue
        sections["checks"].append((outcome, checks))
        sections["sensitivity"].append((outcome, sensitivity))
        sections["plain"].append((outcome, plain))
    sources = []
    for model in prediction_models(cohort):
        source = prediction_source(cohort, fits, model)
        sources.append(source)
        outcome = _outcome_of(cohort, model)
        html = predictions_section(
            source, fits, model, outcome, cohort.labels, cohort.session_level
        )
        sections["predicted"].append(
            (outcome, _named(html, "predicted", "Predicted probabilities", outcome, many))
        )
    titles = {
        "checks": "Posterior predictive checks",
        "sensitivity": "Prior sensitivity",
        "predicted": "Predicted probabilities",
        "plain": "In plain language",
    }

    def toc_entries(key: str) -> list[tuple[str, str]]:
        shown = [outcome for outcome, html in sections[key] if html]
        if not many:
            return [(key, titles[key])] if shown else []
        return [(f"{key}-{o}", f"{titles[key]}: {o}") for o in shown]

    def joined(key: str) -> str:
        return "".join(html for _, html in sections[key])

    folds = [
        item_fold(
            item,
            [f for f in every if item_of.get(f.model) == item],
            [
                "".join(model_section(f, null_of(f, fits), cohort.session_level)
                        for f in every if item_of.get(f.model) == item),
                side_by_side_section([f for f in fits if item_of.get(f.model) == item], levels,
                                     f"engines-{item}"),
                *parts,
            ],
            flagged.get(item),
        )
        for item, parts in item_parts.items()
    ]  # fmt: skip
    plain_fits = [f for f in fits if f.model not in item_of]
    side_by_side = side_by_side_section(plain_fits, levels)
    words = phrase_maker(desc, cohort)
    forest = _forest([f for f in lead_fits if f.model not in item_of], lead)
    coding = cohort.double_coding
    toc = [
        ("overview", "The answer first"),
        ("glance", "At a glance"),
        ("structure", "Study structure"),
        ("table1", "Table 1 by level"),
        ("reliability", "Reliability of the codes") if reliability is not None else None,
        ("models", "Models"),
        ("engines", "Engines side by side") if side_by_side else None,
        ("forest", "Odds ratios across models") if forest else None,
        ("items", "Coded items, one by one") if folds else None,
        ("coders", "Coders: every code in the models") if coders else None,
        *toc_entries("checks"),
        ("comparison", "Model comparison") if comparison else None,
        *toc_entries("predicted"),
        *toc_entries("sensitivity"),
        *toc_entries("plain"),
        ("appendix", "Reproducibility"),
    ]
    toc_html = "".join(f"<li><a href='#{escape(a)}'>{escape(t)}</a></li>"
                       for a, t in filter(None, toc))  # fmt: skip
    nesting = " within ".join(escape(plural(g)) for g in reversed(cohort.grouping_levels))
    kinds = "cumulative logit (ordinal) and logistic" if any(
        o.ordinal for o in cohort.outcomes.values()) else "logistic"  # fmt: skip
    body = [
        f"<h1>sessionmlm report: {escape(cohort.name)}</h1>",
        overview_section(cells, lead, levels, words, flagged, reliability is not None),
        f"<p class='note'>Multilevel {kinds} models of "
        f"{_listed([f'<code>{escape(name)}</code>' for name in cohort.outcomes])} "
        f"with {escape(plural(cohort.session_level))} nested in {nesting}. "
        "Ids are keyed pseudonyms; small cells are suppressed.</p>",
        f"<nav aria-label='Contents'><h2>Contents</h2><ol>{toc_html}</ol></nav>",
        _glance(every, flagged, item_of),
        structure_section(desc),
        table1_section(desc),
        reliability_section(reliability, coding.thresholds if coding else {}),
        "<h2 id='models'>Models</h2>",
        "".join(
            model_section(f, null_of(f, fits), cohort.session_level)
            for f in every
            if f.model not in item_of
        ),
        "<p>The coded items' models are under Coded items, one by one.</p>" if folds else "",
        side_by_side,
        forest,
        items_section(folds, list(dict.fromkeys(t for _, t in cohort.item_models.values()))),
        coders,
        joined("checks"),
        comparison,
        joined("predicted"),
        joined("sensitivity"),
        joined("plain"),
        appendix_section(cohort, validation, fits),
    ]
    tables = {**report_tables(sources, posterior, loo_rows, tests), "overview": cells}
    return page(f"sessionmlm: {cohort.name}", "".join(body)), tables


def write_cohort_report(
    cohort: Cohort,
    results_dir: str,
    descriptives: str,
    validation: str,
    out: str,
    tables: dict[str, str] | None = None,
    reliability: str | None = None,
) -> None:
    """Read a cohort's results and write its report and the tables beside it.

    tables maps "comparison" (likelihood-ratio tests), "predicted", "loo" and "sensitivity" to
    the CSV files to write; the report is written last, so a finished report means finished
    tables.
    """
    folder = Path(results_dir)
    fits = [load_fit(folder, m, e) for m in cohort.models for e in cohort.engines]
    desc = json.loads(Path(descriptives).read_text())
    check = json.loads(Path(validation).read_text())
    coded = pd.read_csv(reliability) if reliability else None
    html, frames = render_cohort_report(
        cohort, desc, check, fits, coded, coders_section(cohort, folder)
    )
    for name, path in (tables or {}).items():
        atomic.write_text(path, frames[name].to_csv(index=False, float_format="%.6g"))
    atomic.write_text(out, html)
