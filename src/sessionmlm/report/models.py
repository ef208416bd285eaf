"""The report's Models section: one model under one engine, in the engine's own words."""

from __future__ import annotations

import math
from html import escape

from sessionmlm.htmlparts import html_table, num, with_interval
from sessionmlm.report.fits import Fit, badge, engine_of, p_text
from sessionmlm.report.ordinal import splits_table
from sessionmlm.report.structure_terms import random_slopes_table, slope_equation, term_notes
from sessionmlm.variance import proportional_changes


def _equation(fit: Fit, groups: list[str]) -> str:
    terms = [t for t in fit.estimates["term"] if t != "Intercept"]
    linear = [f"β<sub>{escape(t)}</sub>·{escape(t)}" for t in terms]
    outcome = escape(fit.info["formula"].split("~")[0].strip())
    if fit.ordinal:  # cumulative logit: thresholds in place of the intercept
        k = len(fit.info.get("categories", [])) - 1
        left = f"logit P({outcome} ≤ k) = θ<sub>k</sub> − ("
        fixed, close = " + ".join(linear) or "0", f") for each of the {k} thresholds k"
    else:
        left, fixed, close = f"logit P({outcome} = 1) = ", " + ".join(["β₀", *linear]), ""
    engine = engine_of(fit)
    if engine.population_averaged:
        # A marginal model: no random effects; the engine says how it treats the clustering.
        return (
            f"<p class='eq'>{left}{fixed}{close}, averaged over "
            f"{' and '.join(escape(g) + 's' for g in groups)}; "
            f"{escape(engine.wording.dependence)}</p>"
        )
    random = " + ".join(f"u<sub>{escape(g)}</sub>" for g in groups)
    sds = "; ".join(
        f"u<sub>{escape(g)}</sub> ~ Normal(0, σ<sub>{escape(g)}</sub>²)" for g in groups
    )
    slopes, slope_sds = slope_equation(fit)
    return f"<p class='eq'>{left}{fixed} + {random}{slopes}{close}; {sds}{slope_sds}</p>"


def _thresholds_table(fit: Fit) -> str:
    """An ordinal outcome's thresholds: where the latent scale is cut into categories."""
    if fit.thresholds is None or fit.thresholds.empty:
        return ""
    rows = [
        [escape(str(r.threshold)), num(r.estimate, 3), f"{num(r.ci_low, 3)} to {num(r.ci_high, 3)}",
         num(r.std_error, 3)]
        for r in fit.thresholds.itertuples()
    ]  # fmt: skip
    return html_table(
        ["threshold", "estimate (log-odds)", "95% interval", "SE / SD"],
        rows,
        "Thresholds between adjacent categories, with every predictor at 0 and every random "
        "intercept at 0: logit P(rating at or below the lower category)",
    )


def model_section(fit: Fit, null: Fit | None = None, observation: str = "session") -> str:
    """One model under one engine: equation, priors, odds ratios, variance, diagnostics.

    null: the same engine's model without predictors, for the proportional change in variance;
    observation: the cohort's innermost level, as the notes name its units.
    """
    info, est, var = fit.info, fit.estimates, fit.variance
    wording = engine_of(fit).wording
    groups = list(info.get("units", {})) or list(var["level"])
    parts = [
        f"<h3 id='{fit.model}-{fit.engine}'>Model <code>{escape(fit.model)}</code>, engine "
        f"<code>{escape(fit.engine)}</code> {badge(fit)}</h3>",
        f"<p>lme4 syntax: <code>{escape(info['formula'])}</code></p>",
    ]
    if not fit.fitted:
        return "".join(parts) + (
            f"<p class='note'>The {escape(fit.engine)} engine does not fit this model: "
            f"{escape(info['not_fitted'])}.</p>"
        )
    parts.append(_equation(fit, groups))
    if not info["converged"]:
        reasons = "".join(f"<li>{escape(p)}</li>" for p in info["problems"])
        attempts = f" after {len(info['attempts'])} attempt(s)" if "attempts" in info else ""
        parts.append(
            "<div class='banner' role='alert'><strong>This fit failed its checks and must "
            f"not be reported as a result</strong>{attempts}:<ul>{reasons}</ul>"
            f"{escape(wording.advice)}</div>"
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
            num(r.prob_positive, 3) if "prob_positive" in est else p_text(r.p_value),
        ]
        for r in est.itertuples()
    ]
    last = "P(β > 0)" if "prob_positive" in est else "p"
    kind = "Cumulative odds ratios (a higher rating rather than a lower one)" if fit.ordinal else (
        "Odds ratios")  # fmt: skip
    parts.append(
        html_table(
            ["term", "odds ratio", "95% interval", "log-odds", "SE / SD", last],
            rows,
            f"{kind}, {info['n_obs']} sessions: {wording.estimates}",
        )
    )
    parts.append(term_notes(fit, observation))
    parts.append(_thresholds_table(fit))
    parts.append(splits_table(fit))
    parts.append(_variance_table(fit, null))
    parts.append(_missing_table(fit))
    parts.append(_diagnostics(fit))
    return "".join(parts)


def _priors(fit: Fit) -> str:
    """The priors as set, and what the coefficient prior means for each term on its own scale."""
    info = fit.info
    if "priors" not in info:
        return f"<p class='note'>Priors: {escape(engine_of(fit).wording.priors)}.</p>"
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
    return proportional_changes(null.variance, fit.variance)


def _variance_table(fit: Fit, null: Fit | None = None) -> str:
    var = fit.variance
    engine = engine_of(fit)
    if engine.population_averaged:
        if var.empty:
            return ""
        # No random effects: what the engine assumed about sessions sharing a unit, if anything.
        rows = [[escape(r.level), str(getattr(r, "units", "")), num(r.icc, 3)]
                for r in var.itertuples()]  # fmt: skip
        return (
            html_table(
                ["level", "units", engine.wording.sd_intervals],
                rows,
                engine.wording.dependence_table,
            )
            + f"<p class='note'>{escape(engine.wording.dependence_note)}</p>"
        )
    slopes = random_slopes_table(fit)
    if "kind" in var:
        var = var[var["kind"] != "slope"]
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
    kind = engine.wording.sd_intervals
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
    return (
        html_table(
            header,
            rows,
            f"Variance components (latent scale, residual π²/3; {kind})",
        )
        + (  # fmt: skip
            "<p class='note'>ICC of a level: the correlation, on the latent scale, of two sessions "
            "that share a unit of that level (and so every level above it). Median odds ratio: the "
            "median of the odds ratio between two randomly chosen units of that level with the "
            f"same predictor values.{pcv_note}</p>"
        )
        + slopes
    )


def _diagnostics(fit: Fit) -> str:
    info = fit.info
    dropped = f"{info['n_dropped']} sessions dropped for missing values."
    describe = engine_of(fit).wording.diagnostics
    text = describe(info) if describe else "none reported"
    return f"<p class='note'>Diagnostics: {text}. {dropped}</p>"
