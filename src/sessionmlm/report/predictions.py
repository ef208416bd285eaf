"""The report's Predicted probabilities section and its table, for any cohort's names.

The predictions come from an engine's after-fit step on the cohort's predictions model; what
is varied and held comes from the fit's `predicted_for` (prediction_plan.py), how the intervals
were made from the engine's wording. The section says which choices the cohort file set and
which were chosen by default, and says why when there are no predictions to show.
"""

from __future__ import annotations

from html import escape
from typing import Any

import numpy as np
import pandas as pd

from sessionmlm import engines
from sessionmlm.config import Cohort
from sessionmlm.figures import line_plot, plural
from sessionmlm.htmlparts import html_table, num, sentence
from sessionmlm.report.fits import Fit, engine_of, lead_engine

CONDITIONAL, AVERAGED = "conditional", "averaged"  # predictions.py's `kind` values
TABLE_POINTS = 4  # x values in the table under the plots


def prediction_models(cohort: Cohort) -> list[str]:
    """The models with predictions: the predictions model, then those that follow it.

    Those are the models of the cohort's other outcomes with its predictors and levels.
    """
    model = cohort.predictions.model
    return [] if model is None else [model, *cohort.predictions.also]


def prediction_source(cohort: Cohort, fits: list[Fit], model: str | None = None) -> Fit | None:
    """The fit whose predicted probabilities the report shows for model.

    model is by default the cohort's predictions model. Among the fits of that model that
    have predictions in their fit.json (engines whose after-fit steps make them), the lead
    engine's, else the highest-ranked engine's.
    """
    model = cohort.predictions.model if model is None else model
    usable = [f for f in fits if f.model == model and "predicted" in f.info]
    ranked = [lead_engine(cohort, fits), *engines.by_rank([f.engine for f in usable])]
    for engine in ranked:
        for fit in usable:
            if fit.engine == engine:
                return fit
    return None


def intervals_made(fit: Fit) -> str:
    """How the fit's prediction intervals were made, in its engine's words."""
    describe = engine_of(fit).wording.predictions
    return describe(fit.info) if describe else "95% intervals"


def predicted_tables(sources: list[Fit | None]) -> pd.DataFrame:
    """predicted_table of each source, one below the other (category empty for a binary one)."""
    tables = [predicted_table(f) for f in sources if f is not None] or [predicted_table(None)]
    return pd.concat(tables, ignore_index=True) if len(tables) > 1 else tables[0]


def predicted_table(fit: Fit | None) -> pd.DataFrame:
    """The predictions beside the report, one row per kind, line setting and x value.

    Columns: model, engine, kind, the lines, x, probability, low, high (only the fixed ones
    when there are no predictions).
    """
    fixed = ["model", "engine", "kind"]
    if fit is None:
        return pd.DataFrame(columns=[*fixed, "probability", "low", "high"])
    plan = fit.info["predicted_for"]
    table = pd.DataFrame(fit.info["predicted"]).assign(model=fit.model, engine=fit.engine)
    category = ["category"] if "category" in table else []  # an ordinal outcome's
    return table[[*fixed, *plan["lines"], plan["x"], *category, "probability", "low", "high"]]


def kind_words(kind: str, groups: list[str]) -> str:
    """'for an average therapist and client' or 'averaged over therapists and clients'."""
    if kind == CONDITIONAL:
        return f"for an average {' and '.join(groups)}"
    return f"averaged over {' and '.join(plural(g) for g in groups)}"


def line_label(setting: dict[str, Any]) -> str:
    """'female yes, urban no', one line's name; 'all' when the plan has no lines."""
    return ", ".join(f"{name} {'yes' if value else 'no'}" for name, value in setting.items()) or (
        "all"
    )


def _chosen(plan: dict[str, Any]) -> str:
    """Where each choice came from, in one paragraph; the defaults first and named as such."""
    held = [name for name in plan["held"] if name in plan["how"]]
    said = [
        f"the model ({escape(plan['how']['model'])})",
        f"the x-axis <code>{escape(plan['x'])}</code> ({escape(plan['how']['x'])})",
        f"the lines {', '.join(f'<code>{escape(n)}</code>' for n in plan['lines']) or '(none)'} "
        f"({escape(plan['how']['lines'])})",
    ] + [
        f"<code>{escape(name)}</code> at {escape(_value(plan['held'][name]))} "
        f"({escape(plan['how'][name])})"
        for name in held
    ]
    defaults = sum("by default" in plan["how"][k] for k in ["model", "x", "lines", *held])
    advice = (
        f" {defaults} of these were chosen by default; set <code>predictions:</code> in the "
        "cohort file to choose them (config/README.md)."
        if defaults
        else ""
    )
    return f"<p class='note'>Shown: {'; '.join(said)}.{advice}</p>"


def _select(
    pred: pd.DataFrame, kind: str, setting: dict[str, Any], more: dict[str, Any] | None = None
) -> pd.DataFrame:
    """The rows of one kind and line setting (and any further column values)."""
    keep = pred.kind == kind
    for name, value in (setting | (more or {})).items():
        keep &= pred[name] == value
    return pred[keep]


def _value(value: Any) -> str:
    """A held value: a number, a level, or a categorical variable's mix of levels."""
    if isinstance(value, dict):  # each non-reference level's share; the rest is the reference
        return (
            "its sample mix ("
            + ", ".join(f"{k} {v:.0%}" for k, v in value.items())
            + ", the rest the reference)"
        )
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def _why_none(fits: list[Fit], model: str | None) -> str:
    """A note saying why no predictions are shown, or "" when no model has a predictor."""
    problems = [f.info["predicted_problem"] for f in fits if "predicted_problem" in f.info]
    if problems:
        reason = escape(problems[0])
    elif model is None:
        return ""
    else:
        ran = ", ".join(
            f"{escape(f.engine)} {'passed' if f.info['converged'] else 'failed'}"
            for f in fits
            if f.model == model
        )
        reason = (
            "they come from the conditional (random-intercept) engines' fits of model "
            f"<code>{escape(model)}</code> that pass their checks, and there is none (fits of "
            f"that model: {ran or 'none'})."
        )
    return (
        "<h2 id='predicted'>Predicted probabilities</h2>"
        f"<p class='note'>No predicted probabilities: {reason}</p>"
    )


def predictions_section(
    fit: Fit | None,
    fits: list[Fit],
    model: str | None,
    outcome: str,
    labels: dict[str, str],
    observation: str,
) -> str:
    """Predicted probabilities of the outcome across x, one line per line setting.

    fit is prediction_source's choice (None: a note saying why there is none); model the
    cohort's predictions model; outcome the outcome's name, labels the cohort's `labels:`;
    observation the innermost level's name (session).
    """
    if fit is None:
        return _why_none(fits, model)
    plan = fit.info["predicted_for"]
    pred = pd.DataFrame(fit.info["predicted"])
    groups = [str(g) for g in fit.variance["level"]]
    x = plan["x"]
    what = labels.get(outcome) or f"{outcome} was 1"
    if "category" in pd.DataFrame(fit.info["predicted"][:1]):
        what = f"{outcome} took each of its categories"
    lines = plan["lines"]
    across = (
        f", for each combination of {' and '.join(f'<code>{escape(n)}</code>' for n in lines)}"
        if lines
        else ""
    )
    parts = [
        "<h2 id='predicted'>Predicted probabilities</h2>",
        f"<p>The chance that {escape(what)} in a {escape(observation)}, across "
        f"<code>{escape(x)}</code>{across} (model <code>{escape(fit.model)}</code>, "
        f"<code>{escape(fit.engine)}</code> engine). <em>{escape(kind_words(CONDITIONAL, groups))}"
        f"</em> sets every random intercept to zero; <em>{escape(kind_words(AVERAGED, groups))}"
        f"</em> is the share of such {escape(plural(observation))} across the whole sample. "
        f"{escape(sentence(intervals_made(fit)))}. These are associations in these data, not "
        f"effects of changing a {escape(observation)}.</p>",
        _chosen(plan),
    ]
    settings = pred[lines].drop_duplicates().to_dict("records") if lines else [{}]
    if "category" in pred:
        return "".join(parts) + _ordinal_predictions(pred, plan, settings, groups)
    for kind in (CONDITIONAL, AVERAGED):
        series = {}
        for setting in settings:
            rows = _select(pred, kind, setting)
            series[line_label(setting)] = list(
                zip(rows[x], rows.probability, rows.low, rows.high, strict=True)
            )
        title = f"Predicted probability of {outcome} by {x}, {kind_words(kind, groups)}"
        parts.append(
            f"<figure>{line_plot(series, title, x, 'probability')}"
            f"<figcaption>{escape(sentence(title))}, with 95% intervals.</figcaption></figure>"
        )
    xs = plan["x_values"]
    at = sorted({xs[i] for i in np.linspace(0, len(xs) - 1, TABLE_POINTS).round().astype(int)})
    rows = [
        [escape(kind_words(kind, groups)), escape(line_label(setting)), _value(value),
         f"{num(r.probability)} ({num(r.low)} to {num(r.high)})"]
        for kind in (CONDITIONAL, AVERAGED) for setting in settings
        for value in at for r in [_select(pred, kind, setting, {x: value}).iloc[0]]
    ]  # fmt: skip
    parts.append(
        html_table(
            ["for", "line", x, "probability (95% interval)"],
            rows,
            f"Predicted probabilities at {len(at)} values of {x}",
        )
    )
    return "".join(parts)


def _table_values(plan: dict[str, Any]) -> list[float]:
    """TABLE_POINTS x values spread over the plan's, for the tables under the plots."""
    xs = plan["x_values"]
    return sorted({xs[i] for i in np.linspace(0, len(xs) - 1, TABLE_POINTS).round().astype(int)})


def _ordinal_predictions(
    pred: pd.DataFrame, plan: dict[str, Any], settings: list[dict], groups: list[str]
) -> str:
    """Each category's probability: a plot per line setting (average units), then a table."""
    x = plan["x"]
    categories = list(dict.fromkeys(pred["category"]))
    parts = []
    for setting in settings:
        series = {}
        for category in categories:
            rows = _select(pred, CONDITIONAL, setting, {"category": category})
            series[str(category)] = list(
                zip(rows[x], rows.probability, rows.low, rows.high, strict=True)
            )
        title = (f"Probability of each category by {x}, {line_label(setting)}, "
                 f"{kind_words(CONDITIONAL, groups)}")  # fmt: skip
        parts.append(
            f"<figure>{line_plot(series, title, x, 'probability')}"
            f"<figcaption>{escape(sentence(title))}, with 95% intervals; one line per "
            "category.</figcaption></figure>"
        )
    rows = [
        [escape(kind_words(kind, groups)), escape(line_label(setting)), _value(value)]
        + [f"{num(r.probability)} ({num(r.low)} to {num(r.high)})"
           for category in categories
           for r in [_select(pred, kind, setting, {x: value, "category": category}).iloc[0]]]
        for kind in (CONDITIONAL, AVERAGED) for setting in settings for value in _table_values(plan)
    ]  # fmt: skip
    parts.append(
        "<p class='note'>Each category's probability is the one at the estimates (ml) or the "
        "mean over the posterior draws (bayes), so that a setting's categories add up to 1; "
        "the intervals are each category's own.</p>"
    )
    header = ["for", "line", x, *(f"{escape(str(c))} (95% interval)" for c in categories)]
    parts.append(
        html_table(
            header,
            rows,
            f"Predicted probability of each category at {len(_table_values(plan))} values of {x}",
        )  # fmt: skip
    )
    return "".join(parts)
