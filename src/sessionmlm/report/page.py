"""The HTML report of one cohort.

Self-contained by construction: inline CSS, inline SVG figures, no scripts, no links out.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

import pandas as pd

from sessionmlm import atomic
from sessionmlm.compare import information_criteria, likelihood_ratio_tests
from sessionmlm.config import Cohort
from sessionmlm.figures import (
    coarsen_histogram,
    forest_plot,
    histogram_bars,
    level_diagram,
    line_plot,
    plural,
    size_range,
)
from sessionmlm.htmlparts import html_table, num, page, sentence, with_interval
from sessionmlm.posterior_report import (
    check_warnings,
    checked,
    loo_comparison,
    loo_section,
    predictive_section,
    sensitivity_section,
)
from sessionmlm.predictions import AVERAGED, CONDITIONAL, ML_DRAWS
from sessionmlm.variance import proportional_change_in_variance


@dataclass(frozen=True)
class Fit:
    """The three output-contract files of one (model, engine) fit, read back."""

    model: str
    engine: str
    estimates: pd.DataFrame
    variance: pd.DataFrame
    info: dict[str, Any]


def load_fit(results_dir: Path, model: str, engine: str) -> Fit:
    """Read results/{cohort}/{model}/{engine}/."""
    folder = results_dir / model / engine
    return Fit(
        model=model,
        engine=engine,
        estimates=pd.read_csv(folder / "estimates.csv"),
        variance=pd.read_csv(folder / "variance.csv"),
        info=json.loads((folder / "fit.json").read_text()),
    )


def _badge(fit: Fit) -> str:
    if not fit.info["converged"]:
        return "<span class='badge fail'>failed</span>"
    if fit.info.get("warnings") or check_warnings(fit.info):
        return "<span class='badge warn'>pass, with a warning</span>"
    return "<span class='badge pass'>pass</span>"


# What each engine estimates, in the words the tables use.
INTERVALS = {
    "bayes": "posterior medians with 95% credible intervals",
    "ml": "maximum-likelihood estimates with 95% Wald confidence intervals",
    "gee": "population-averaged estimates with 95% robust (sandwich) Wald intervals",
}
ADVICE = {
    "bayes": "Consider more draws (bayes.draws), a simpler model, or more data.",
    "ml": "Each reason says what to change; a simpler model or the bayes engine may also help.",
    "gee": "Consider a higher gee.max_iter or a simpler model.",
}
CONDITIONAL_VS_MARGINAL = (
    "<p class='note'><strong>Why the engines' odds ratios differ.</strong> The <code>bayes</code> "
    "and <code>ml</code> engines fit random-intercept models: their odds ratios are "
    "<em>conditional</em>, comparing sessions with the same therapist and client (“for a given "
    "therapist and child, how much higher are the odds when a caregiver is present?”). The "
    "<code>gee</code> engine estimates <em>population-averaged</em> odds ratios, comparing the "
    "average over all therapists and clients (“across the clinic, how much higher is the share "
    "of sessions with homework when a caregiver is present?”). When therapists and clients "
    "differ a lot, population-averaged odds ratios are closer to 1 than conditional ones; "
    "neither is wrong, they answer different questions. Bayesian and maximum-likelihood "
    "estimates of the same model should agree closely; a large gap between them deserves a "
    "look at the priors and the diagnostics.</p>"
)


def _cell(entry: dict[str, Any], min_cell: int) -> str:
    return f"&lt;{min_cell}" if entry["suppressed"] else str(entry["n"])


def design_section(desc: dict[str, Any]) -> str:
    """How the units nest, how many there are per level and in each other, and the base rate.

    The unit-size bar charts merge neighbouring sizes until no bar counts 1 to min_cell - 1.
    """
    levels = desc["levels"]
    min_cell = desc.get("min_cell", 11)
    out = desc["outcome"]
    rate = out.get("base_rate")
    rate_text = "–" if rate is None else f"{100 * rate:.1f}%"
    inner = plural(levels[-1])
    note = f"{rate_text} of {inner} with {out['name']}" if rate is not None else ""
    counts = desc["counts"]
    chain = ", ".join(
        f"{counts[level]} {level if counts[level] == 1 else plural(level)}" for level in levels
    )
    rate_sentence = (
        f"Base rate of <code>{escape(out['name'])}</code>: {rate_text} of {out['n']} "
        f"{escape(inner)}."
        if rate is not None
        else f"No {escape(levels[-1])} has an outcome, so there is no base rate."
    )
    shown = {
        key: coarsen_histogram(size["histogram"], min_cell) for key, size in desc["sizes"].items()
    }
    sizes = {key: _public_range(size, shown[key]) for key, size in desc["sizes"].items()}
    parts = [
        "<h2 id='design'>Design</h2>",
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
        if any(0 < n < min_cell for n in shown_bars.values()):
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
    parts.append(
        f"<p>Outcome <code>{escape(out['name'])}</code> (any of "
        f"{', '.join(escape(s) for s in out['sources'])}): base rate "
        f"<strong>{rate_text}</strong> of {out['n']} {escape(inner)}"
        + (f"; {out['missing']} {escape(inner)} without an outcome." if out["missing"] else ".")
        + "</p>"
    )
    return "".join(parts)


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


def table1_section(desc: dict[str, Any]) -> str:
    """Table 1 by level, over the units of each variable's level."""
    parts = [
        "<h2 id='table1'>Table 1 by level</h2>",
        f"<p class='note'>Each variable is summarised over the units of its level; counts below "
        f"{desc['min_cell']} are suppressed (&lt;{desc['min_cell']}).</p>",
    ]
    for level, variables in desc["table1"].items():
        if not variables:
            continue
        rows = []
        for name, e in variables.items():
            if e["kind"] == "binary":
                share = "" if e["share"] is None else f" ({100 * e['share']:.0f}%)"
                summary = f"yes {_cell(e['yes'], desc['min_cell'])}{share}"
            elif e["kind"] == "numeric":
                summary = (
                    f"&lt;{desc['min_cell']} units: suppressed"
                    if e.get("suppressed")
                    else f"mean {e['mean']:.2f} (SD {e['sd']:.2f}), median {e['median']:g} "
                    f"(IQR {e['q1']:g} to {e['q3']:g})"
                )
            else:
                summary = "; ".join(
                    f"{escape(k)} {_cell(v, desc['min_cell'])}" for k, v in e["categories"].items()
                )
            rows.append([escape(name), summary, str(e["missing"])])
        parts.append(
            html_table(
                [f"{level} variable", "summary", "missing"],
                rows,
                f"{level.capitalize()} characteristics ({desc['counts'][level]} {level}s)",
            )
        )
    return "".join(parts)


def _equation(fit: Fit, groups: list[str]) -> str:
    terms = [t for t in fit.estimates["term"] if t != "Intercept"]
    fixed = " + ".join(["β₀"] + [f"β<sub>{escape(t)}</sub>·{escape(t)}" for t in terms])
    outcome = escape(fit.info["formula"].split("~")[0].strip())
    if fit.engine == "gee":
        # A marginal model: no random effects, the clustering enters the working correlation.
        return (
            f"<p class='eq'>logit P({outcome} = 1) = {fixed}, averaged over "
            f"{' and '.join(escape(g) + 's' for g in groups)}; sessions sharing a unit are "
            "correlated through a nested exchangeable working correlation</p>"
        )
    random = " + ".join(f"u<sub>{escape(g)}</sub>" for g in groups)
    sds = "; ".join(
        f"u<sub>{escape(g)}</sub> ~ Normal(0, σ<sub>{escape(g)}</sub>²)" for g in groups
    )
    return f"<p class='eq'>logit P({outcome} = 1) = {fixed} + {random}; {sds}</p>"


def model_section(fit: Fit, null: Fit | None = None) -> str:
    """One model under one engine: equation, priors, odds ratios, variance, diagnostics.

    null: the same engine's model without predictors, for the proportional change in variance.
    """
    info, est, var = fit.info, fit.estimates, fit.variance
    groups = list(var["level"])
    parts = [
        f"<h3 id='{fit.model}-{fit.engine}'>Model <code>{escape(fit.model)}</code>, engine "
        f"<code>{escape(fit.engine)}</code> {_badge(fit)}</h3>",
        f"<p>lme4 syntax: <code>{escape(info['formula'])}</code></p>",
        _equation(fit, groups),
    ]
    if not info["converged"]:
        reasons = "".join(f"<li>{escape(p)}</li>" for p in info["problems"])
        attempts = f" after {len(info['attempts'])} attempt(s)" if "attempts" in info else ""
        parts.append(
            "<div class='banner' role='alert'><strong>This fit failed its checks and must "
            f"not be reported as a result</strong>{attempts}:<ul>{reasons}</ul>"
            f"{escape(ADVICE.get(fit.engine, ''))}</div>"
        )
    if info.get("warnings"):
        notes = "".join(f"<li>{escape(w)}</li>" for w in info["warnings"])
        parts.append(
            f"<div class='warnbox' role='note'><strong>Note</strong><ul>{notes}</ul></div>"
        )
    parts.append(_priors(fit))
    rows = [
        [
            escape(r.term),
            num(r.odds_ratio),
            f"{num(r.or_low)} to {num(r.or_high)}",
            num(r.estimate, 3),
            num(r.std_error, 3),
            num(r.prob_positive, 3) if "prob_positive" in est else _p(r.p_value),
        ]
        for r in est.itertuples()
    ]
    last = "P(β > 0)" if "prob_positive" in est else "p"
    parts.append(
        html_table(
            ["term", "odds ratio", "95% interval", "log-odds", "SE / SD", last],
            rows,
            f"Odds ratios, {info['n_obs']} sessions: {INTERVALS.get(fit.engine, '')}",
        )
    )
    parts.append(_variance_table(fit, null))
    parts.append(_missing_table(fit))
    parts.append(_diagnostics(fit))
    return "".join(parts)


def _priors(fit: Fit) -> str:
    """The priors as set, and what the coefficient prior means for each term on its own scale."""
    info = fit.info
    if "priors" not in info:
        kind = "maximum likelihood" if fit.engine == "ml" else "estimating equations"
        return f"<p class='note'>Priors: none ({kind}).</p>"
    rows = [[escape(k), escape(v)] for k, v in info["priors"].items()]
    rows += [
        [f"coefficient of <code>{escape(term)}</code>", escape(text)]
        for term, text in info.get("prior_per_term", {}).items()
    ]
    return html_table(["parameter", "prior"], rows, "Priors")


def _missing_table(fit: Fit) -> str:
    """Sessions left out of this model for missing values, by variable (listwise deletion)."""
    info = fit.info
    if not info.get("n_dropped"):
        return ""
    rows = [[escape(v), str(n)] for v, n in info.get("dropped_by_variable", {}).items()]
    total = info["n_obs"] + info["n_dropped"]
    return html_table(
        ["variable", "sessions missing it"],
        rows,
        f"Missing data: {info['n_dropped']} of {total} sessions "
        f"({100 * info['n_dropped'] / total:.1f}%) left out of this model (listwise deletion; "
        "a session may miss several variables)",
    )


def _pcv(fit: Fit, null: Fit | None) -> dict[str, float] | None:
    """Proportional change in each level's variance from the null model, when comparable."""
    if null is None or null is fit or not null.info["converged"] or not fit.info["converged"]:
        return None
    null_sd = dict(zip(null.variance["level"], null.variance["sd"], strict=True))
    if set(null_sd) != set(fit.variance["level"]):
        return None
    return {
        r.level: proportional_change_in_variance(null_sd[r.level], r.sd)
        for r in fit.variance.itertuples()
    }


def _variance_table(fit: Fit, null: Fit | None = None) -> str:
    var = fit.variance
    if fit.engine == "gee":
        rows = [[escape(r.level), str(getattr(r, "units", "")), num(r.icc, 3)]
                for r in var.itertuples()]  # fmt: skip
        return html_table(
            ["level", "units", "working correlation"],
            rows,
            "GEE working dependence (not random-effect variances)",
        ) + (  # fmt: skip
            "<p class='note'>The correlation GEE assumed, on the scale of the 0/1 outcome, "
            "between two sessions sharing a unit of that level (and every level above it). It "
            "only weights the estimating equations; the robust standard errors do not rely on "
            "it, and it is not comparable with the latent-scale ICCs of the other engines.</p>"
        )
    pcv = _pcv(fit, null)
    rows = [
        [
            escape(r.level),
            str(getattr(r, "units", "")),
            with_interval(r, "sd", 2),
            with_interval(r, "icc", 3),
            with_interval(r, "mor", 2),
        ]
        + ([f"{100 * pcv[r.level]:.0f}%" if math.isfinite(pcv[r.level]) else "–"] if pcv else [])
        for r in var.itertuples()
    ]
    kind = "profile-likelihood intervals" if fit.engine == "ml" else "credible intervals"
    header = ["level", "units", "SD (95% interval)", "ICC", "median odds ratio"]
    pcv_note = ""
    if pcv:
        header.append(f"change in variance from {null.model}")
        same_rows = null.info.get("rows_hash") == fit.info.get("rows_hash")
        pcv_note = (
            f" Change in variance from {escape(null.model)} (proportional change in variance, "
            "PCV): the share of the level's variance in the model without predictors that this "
            "model's predictors account for; negative when it grew, which happens at the lower "
            "level because the latent scale is rescaled when predictors enter."
            + ("" if same_rows else " The two models were fitted on different sessions (missing "
               "values), so part of the change may come from that.")
        )  # fmt: skip
    return html_table(
        header,
        rows,
        f"Variance components (latent scale, residual π²/3; {kind})",
    ) + (  # fmt: skip
        "<p class='note'>ICC of a level: the correlation, on the latent scale, of two sessions "
        "that share a unit of that level (and so every level above it). Median odds ratio: the "
        "median of the odds ratio between two randomly chosen units of that level with the same "
        f"predictor values.{pcv_note}</p>"
    )


def _diagnostics(fit: Fit) -> str:
    info = fit.info
    d = info["diagnostics"]
    dropped = f"{info['n_dropped']} sessions dropped for missing values."
    if fit.engine == "bayes":
        text = (
            f"max R-hat {num(d['max_rhat'], 3)}, min bulk ESS {num(d['min_ess_bulk'], 0)}, "
            f"min tail ESS {num(d['min_ess_tail'], 0)}, {d['divergences']} divergences, over "
            f"{len(info['attempts'])} attempt(s)"
        )
    elif fit.engine == "ml":
        if d.get("separation"):
            return f"<p class='note'>Diagnostics: separation found before fitting. {dropped}</p>"
        check = d["quadrature_check"]
        text = (
            f"{escape(d['method'])} with {d['points']} point(s) per level; log-likelihood "
            f"{info['loglik']:.3f}, AIC {info['aic']:.1f}, BIC {info['bic']:.1f}; largest "
            f"gradient {d['gradient_max_abs']:.1e}, remaining Newton step "
            f"{d['newton_step_max']:.1e}; Hessian "
            f"{'positive definite' if d['hessian_positive_definite'] else 'NOT positive definite'}"
            f"; {check['points']} points change the log-likelihood by "
            f"{check['loglik_difference']:.1e}"
        )
    else:
        text = (
            f"{escape(str(d.get('working_covariance', '')))} working covariance, "
            f"{escape(str(d.get('cov_type', '')))} standard errors, "
            f"{d.get('iterations', '–')} iterations"
        )
    return f"<p class='note'>Diagnostics: {text}. {dropped}</p>"


def side_by_side_section(fits: list[Fit]) -> str:
    """Each model's odds ratios with every engine that fitted it, in adjacent columns."""
    engines = list(dict.fromkeys(f.engine for f in fits))
    if len(engines) < 2:
        return ""
    parts = ["<h2 id='engines'>Engines side by side</h2>", CONDITIONAL_VS_MARGINAL]
    for model in dict.fromkeys(f.model for f in fits):
        by_engine = {f.engine: f for f in fits if f.model == model}
        terms = list(dict.fromkeys(t for f in by_engine.values() for t in f.estimates["term"]))
        rows = []
        for term in terms:
            row = [escape(term)]
            for engine in engines:
                f = by_engine.get(engine)
                hit = None if f is None else f.estimates[f.estimates["term"] == term]
                if f is None or hit.empty or not f.info["converged"]:
                    row.append("–")
                    continue
                r = hit.iloc[0]
                row.append(f"{num(r.odds_ratio)} ({num(r.or_low)} to {num(r.or_high)})")
            rows.append(row)
        header = ["term"] + [f"{e} odds ratio (95% interval)" for e in engines]
        parts.append(html_table(header, rows, f"Model {model}"))
    return "".join(parts)


def comparison_section(fits: list[Fit], loo_rows: list[dict[str, Any]]) -> tuple[str, pd.DataFrame]:
    """PSIS-LOO between the bayes fits, AIC/BIC and likelihood-ratio tests between the ml fits.

    loo_rows are posterior_report.loo_comparison's.
    """
    ml_fits = {f.model: f.info for f in fits if f.engine == "ml"}
    tests = likelihood_ratio_tests(ml_fits)
    loo = loo_section(loo_rows)
    if not ml_fits and not loo:
        return "", tests
    parts = ["<h2 id='comparison'>Model comparison</h2>", loo]
    if not ml_fits:
        return "".join(parts), tests
    criteria = information_criteria(ml_fits)
    parts += [
        "<h3 id='lrt'>Maximum likelihood: information criteria and likelihood-ratio tests</h3>",
        html_table(
            ["model", "sessions", "parameters", "log-likelihood", "AIC", "BIC"],
            [
                [
                    escape(r.model),
                    str(r.n_obs),
                    str(r.n_params),
                    f"{r.loglik:.2f}",
                    f"{r.aic:.1f}",
                    f"{r.bic:.1f}",
                ]
                for r in criteria.itertuples()
            ],
            "Information criteria (lower is better; BIC uses the number of sessions)",
        ),  # fmt: skip
    ]
    if len(tests):
        parts.append(
            html_table(
                ["smaller model", "larger model", "χ² statistic", "df", "p"],
                [
                    [
                        escape(r.smaller),
                        escape(r.larger),
                        f"{r.statistic:.2f}",
                        str(r.df),
                        _p(r.p_value),
                    ]
                    for r in tests.itertuples()
                ],
                "Likelihood-ratio tests between nested models (same sessions)",
            )  # fmt: skip
        )
    else:
        parts.append(
            "<p class='note'>No pair of models is nested on the same sessions, so no "
            "likelihood-ratio test applies.</p>"
        )
    return "".join(parts), tests


def _p(p: float) -> str:
    if not math.isfinite(p):
        return "–"
    return "&lt;0.001" if p < 0.001 else f"{p:.3f}"


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
    if fit.engine == "gee":
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
        if fit.engine == "gee":
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
        chance = getattr(r, "prob_positive", math.nan)
        if fit.engine == "bayes" and math.isfinite(chance):
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


def primary_engine(cohort: Cohort, fits: list[Fit]) -> str:
    """The engine whose fits lead the report: the first conditional engine configured."""
    conditional = [e for e in cohort.engines if e in ("bayes", "ml")]
    return (conditional or list(cohort.engines))[0] if fits else ""


def prediction_source(cohort: Cohort, fits: list[Fit]) -> tuple[Fit, pd.DataFrame, str] | None:
    """The fit whose predicted probabilities the report shows, the predictions, and how made.

    The last model of the lead engine that has predictions in its fit.json (bayes and ml fits
    with caregiver presence, child age and licensure get them in the fit job), else of ml.
    """
    usable = [f for f in fits if "predicted" in f.info]
    lead = primary_engine(cohort, fits)
    usable = [f for f in usable if f.engine == lead] or [f for f in usable if f.engine == "ml"]
    if not usable:
        return None
    fit = usable[-1]
    if fit.engine == "bayes":
        how = (
            "posterior medians with 95% credible intervals from "
            f"{fit.info['checks']['all_draws']:,} posterior draws, which carry the uncertainty "
            "of the therapist and client SDs too"
        )
    else:
        how = (
            f"95% intervals from {ML_DRAWS:,} draws of the coefficients; the averaged ones hold "
            "the SDs at their estimates"
        )
    return fit, pd.DataFrame(fit.info["predicted"]), how


def predictions_section(source: tuple[Fit, pd.DataFrame, str] | None) -> str:
    """Predicted homework probabilities across child age (empty without a usable fit)."""
    if source is None:
        return ""
    fit, pred, how = source
    label = {(1, 0): "caregiver, unlicensed", (1, 1): "caregiver, licensed",
             (0, 0): "no caregiver, unlicensed", (0, 1): "no caregiver, licensed"}  # fmt: skip
    parts = [
        "<h2 id='predicted'>Predicted probabilities</h2>",
        f"<p>The chance that homework was assigned or reviewed in a session, by child age, with "
        f"and without a caregiver present, for licensed and unlicensed therapists (model "
        f"<code>{escape(fit.model)}</code>, <code>{escape(fit.engine)}</code> engine; other "
        "predictors at their sample means). <em>For an average therapist and client</em> sets "
        "both random intercepts to zero; <em>averaged over therapists and clients</em> is the "
        f"share of such sessions across the clinic. {sentence(how)}. These are associations in "
        "these data, not effects of changing a session.</p>",
    ]
    for kind in (CONDITIONAL, AVERAGED):
        part = pred[pred.kind == kind]
        series = {
            label[key]: list(zip(g.child_age, g.probability, g.low, g.high, strict=True))
            for key, g in part.groupby(["caregiver_present", "licensed"], sort=False)
        }
        title = f"Predicted probability of homework by child age, {kind}"
        parts.append(
            f"<figure>{line_plot(series, title, 'child age (years)', 'probability')}"
            f"<figcaption>{escape(sentence(title))}, with 95% intervals.</figcaption></figure>"
        )
    ages = (6, 10, 14, 18)
    at = pred.set_index(["kind", "caregiver_present", "licensed", "child_age"])
    rows = [
        [escape(kind), escape(label[key]), str(age),
         f"{num(r.probability)} ({num(r.low)} to {num(r.high)})"]
        for kind in (CONDITIONAL, AVERAGED) for key in label for age in ages
        for r in [at.loc[(kind, *key, age)]]
    ]  # fmt: skip
    parts.append(html_table(["for", "session", "child age", "probability (95% interval)"], rows,
                        "Predicted probabilities at four ages"))  # fmt: skip
    return "".join(parts)


LOO_COLUMNS = [
    "model", "n_obs", "unit", "n_units", "elpd", "se", "p_loo", "best", "elpd_diff", "se_diff",
    "k_bad", "k_threshold", "k_max",
]  # fmt: skip
SENSITIVITY_COLUMNS = [
    "model", "prior", "direction", "alpha", "term", "or", "or_low", "or_high", "base_or",
    "base_low", "base_high", "pareto_k", "reliable", "changed",
]  # fmt: skip


def _null_of(fit: Fit, fits: list[Fit]) -> Fit | None:
    """The same engine's model with an intercept only, if the cohort fitted one."""
    return next(
        (f for f in fits if f.engine == fit.engine and list(f.estimates["term"]) == ["Intercept"]),
        None,
    )


def render_cohort_report(
    cohort: Cohort,
    desc: dict,
    validation: dict,
    fits: list[Fit],
) -> tuple[str, dict[str, pd.DataFrame]]:
    """The whole cohort report as one HTML string, and the tables that go beside it.

    The tables (report_tables) are "comparison" (likelihood-ratio tests), "predicted", "loo"
    and "sensitivity", computed once for the page and the files alike.
    """
    models = list(dict.fromkeys(f.model for f in fits))
    lead = primary_engine(cohort, fits)
    lead_fits = [f for f in fits if f.engine == lead]
    bayes_infos = {f.model: f.info for f in fits if f.engine == "bayes"}
    loo_rows = loo_comparison(bayes_infos)
    source = prediction_source(cohort, fits)
    side_by_side = side_by_side_section(fits)
    comparison, tests = comparison_section(fits, loo_rows)
    predicted = predictions_section(source)
    checks = predictive_section(bayes_infos, models[-1] if models else "")
    sensitivity = sensitivity_section(bayes_infos, models[-1] if models else "")
    toc = [
        ("glance", "At a glance"),
        ("design", "Design"),
        ("table1", "Table 1 by level"),
        ("models", "Models"),
        ("engines", "Engines side by side") if side_by_side else None,
        ("forest", "Odds ratios across models"),
        ("checks", "Posterior predictive checks") if checks else None,
        ("comparison", "Model comparison") if comparison else None,
        ("predicted", "Predicted probabilities") if predicted else None,
        ("sensitivity", "Prior sensitivity") if sensitivity else None,
        ("plain", "In plain language"),
        ("appendix", "Reproducibility"),
    ]
    toc_html = "".join(f"<li><a href='#{a}'>{t}</a></li>" for a, t in filter(None, toc))
    glance = [
        [
            escape(f.model),
            escape(f.engine),
            _badge(f),
            escape("; ".join(f.info["problems"] + f.info.get("warnings", [])
                             + check_warnings(f.info)) or "all checks passed"),
        ]
        for f in fits
    ]  # fmt: skip
    forest_rows = [
        {
            "term": r.term,
            "series": f"{f.model}",
            "odds_ratio": r.odds_ratio,
            "or_low": r.or_low,
            "or_high": r.or_high,
        }
        for f in lead_fits
        if f.info["converged"]
        for r in f.estimates.itertuples()
        if r.term != "Intercept"
    ]
    main = next((f for f in lead_fits if f.model == models[-1]), None)
    versions: dict[str, str] = {}
    for f in fits:
        versions |= f.info.get("versions", {})
    appendix = html_table(
        ["item", "value"],
        [
            ["cohort file", escape(str(cohort.config_file))],
            ["data file(s)", escape(", ".join(str(f) for f in cohort.data_files))],
            ["input SHA-256", f"<code>{escape(validation.get('input_hash', ''))}</code>"],
        ]
        + [[f"{escape(f.model)}/{escape(f.engine)}", _run_record(f)] for f in fits]
        + [[f"{escape(f.model)}/{escape(f.engine)} settings", _settings(f)] for f in fits]
        + [[escape(k), escape(str(v))] for k, v in sorted(versions.items())],
        "Run record",
    )
    nesting = " within ".join(f"{escape(g)}s" for g in reversed(cohort.grouping_levels))
    body = [
        f"<h1>sessionmlm report: {escape(cohort.name)}</h1>",
        f"<p class='note'>Multilevel logistic models of <code>{escape(cohort.outcome.name)}</code> "
        f"with sessions nested in {nesting}. "
        "Ids are keyed pseudonyms; small cells are suppressed.</p>",
        f"<nav aria-label='Contents'><h2>Contents</h2><ol>{toc_html}</ol></nav>",
        "<h2 id='glance'>At a glance</h2>",
        html_table(["model", "engine", "checks", "detail"], glance),
        design_section(desc),
        table1_section(desc),
        "<h2 id='models'>Models</h2>",
        "".join(model_section(f, _null_of(f, fits)) for f in fits),
        side_by_side,
        "<h2 id='forest'>Odds ratios across models</h2>",
        f"<figure>{forest_plot(forest_rows, f'Odds ratios with 95% intervals by model ({lead})')}"
        f"<figcaption>{escape(sentence(INTERVALS.get(lead, '')))} from the {escape(lead)} "
        "engine; the dashed line marks no association (odds ratio 1).</figcaption></figure>",
        checks,
        comparison,
        predicted,
        sensitivity,
        f"<h2 id='plain'>In plain language ({escape(main.model) if main else ''} model, "
        f"{escape(lead)} engine)</h2>",
        plain_language(main, desc, cohort.reference, cohort.labels)
        if main and main.info["converged"]
        else "<p>The main model did not pass its checks, so no plain-language summary "
        "is given.</p>",
        "<h2 id='appendix'>Reproducibility</h2>",
        appendix,
        "<p>Reproduce from the repository root, with the same config, input file and "
        "pseudonym key: <code>.venv/bin/snakemake --profile workflow/profiles/default "
        f"results/{escape(cohort.name)}/report.html</code>. The same seeds give the same "
        "numbers.</p>",
        _config_as_run(cohort),
    ]
    tables = report_tables(source, bayes_infos, loo_rows, tests)
    return page(f"sessionmlm: {cohort.name}", "".join(body)), tables


def _settings(f: Fit) -> str:
    """An engine's settings as run, compactly (priors are in the model's own section)."""
    # A prior is a mapping with "dist"; the model's Priors table already says it in words.
    settings = {k: v for k, v in f.info.get("settings", {}).items()
                if k != "priors" and not (isinstance(v, dict) and "dist" in v)}  # fmt: skip
    return escape(", ".join(f"{k}: {v}" for k, v in settings.items()))


def _config_as_run(cohort: Cohort) -> str:
    """The cohort file as it was when the report was made."""
    try:
        text = Path(cohort.config_file).read_text()
    except OSError:
        return ""
    return (
        f"<h3>Cohort file as run</h3><p class='note'>{escape(str(cohort.config_file))}; the "
        "global defaults are in config/config.yaml, and every fit's settings are listed above."
        f"</p><pre>{escape(text)}</pre>"
    )


def _run_record(f: Fit) -> str:
    seconds = f.info["wall_seconds"]
    seed = f.info.get("seed")
    text = f"seed {seed}" if seed is not None else "deterministic (no seed)"
    text += f", {seconds['total']:.1f} s"
    if "compile" in seconds:
        text += f" (compile {seconds['compile']:.1f} s)"
    return text


def write_cohort_report(
    cohort: Cohort,
    results_dir: str,
    descriptives: str,
    validation: str,
    out: str,
    tables: dict[str, str] | None = None,
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
    html, frames = render_cohort_report(cohort, desc, check, fits)
    for name, path in (tables or {}).items():
        atomic.write_text(path, frames[name].to_csv(index=False, float_format="%.6g"))
    atomic.write_text(out, html)


def report_tables(
    source: tuple[Fit, pd.DataFrame, str] | None,
    bayes: dict[str, dict[str, Any]],
    loo_rows: list[dict[str, Any]],
    tests: pd.DataFrame,
) -> dict[str, pd.DataFrame]:
    """The tables beside the report: what its own files do not already hold.

    Likelihood-ratio tests, predicted probabilities, PSIS-LOO and prior sensitivity.
    """
    predicted = pd.DataFrame(columns=["model", "engine", "kind", "caregiver_present", "licensed",
                                      "child_age", "probability", "low", "high"])  # fmt: skip
    if source is not None:
        fit, pred, _ = source
        predicted = pred.assign(model=fit.model, engine=fit.engine)[predicted.columns]
    sensitivity = [
        {"model": model} | row
        for model, info in checked(bayes).items()
        for row in info["checks"]["sensitivity"]
    ]
    return {
        "comparison": tests,
        "predicted": predicted,
        "loo": pd.DataFrame(loo_rows, columns=LOO_COLUMNS),
        "sensitivity": pd.DataFrame(sensitivity, columns=SENSITIVITY_COLUMNS),
    }
