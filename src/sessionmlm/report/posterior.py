"""Report sections from a fit's posterior checks (fit.json "checks", see checks.py).

Predictive checks and calibration, model comparison by PSIS-LOO, and prior sensitivity, plus
the warnings they raise for the report's at-a-glance table. Functions take fit.json records
(model name -> info) so they do not depend on the report's own types.
"""

from __future__ import annotations

from html import escape
from typing import Any

from sessionmlm import engines
from sessionmlm.checks import K_GOOD
from sessionmlm.compare import checked
from sessionmlm.figures import band_plot, calibration_plot, plural
from sessionmlm.htmlparts import html_table, num, percent, sentence

PPC_ALPHA = 0.05  # a two-sided predictive p below this is worth a look


def k_note(unit: str) -> str:
    """What a high Pareto k means, for a left-out unit of this level."""
    return (
        f"Pareto k above the threshold marks a {unit} whose own data the other draws cannot "
        f"stand in for; that {unit}'s contribution to elpd is then unreliable (usually too "
        "optimistic)."
    )


def _interval(row: dict[str, Any], as_percent: bool = True) -> str:
    """A replicated statistic's median and 95% interval, as a percent or a number."""
    fmt = percent if as_percent else num
    return f"{fmt(row['median'])} ({fmt(row['low'])} to {fmt(row['high'])})"


def check_warnings(info: dict[str, Any]) -> list[str]:
    """What a reader should look at in a fit's posterior checks (empty when all is well)."""
    checks = info.get("checks")
    if not checks or not info.get("converged"):
        return []
    out = []
    predictive = checks["predictive"]
    # An ordinal outcome has a share per category where a binary one has its overall rate.
    overall = predictive.get("shares") or [predictive["overall"]]
    for stat in [*overall, *predictive.get("per_unit", {}).get("statistics", [])]:
        if stat["p_value"] < PPC_ALPHA:
            out.append(
                f"predictive check: the {stat['name']} is unlike the model's "
                f"(p {stat['p_value']:.3f})"
            )
    outside = [
        f"{g['variable']} {g['level']}" + (f" (rating {g['category']})" if "category" in g else "")
        for g in predictive["per_category"]
        if g["inside"] is False
    ]
    if outside:
        out.append(
            f"predictive check: the observed rate of {', '.join(outside)} lies outside the "
            "replicated 95% interval"
        )
    loo = checks["loo"]
    if loo["k_bad"]:
        out.append(
            f"PSIS-LOO: {loo['k_bad']} of {loo['n_units']} {loo['unit']}s have Pareto k above "
            f"{loo['k_threshold']:.2f}"
        )
    changed = sorted({r["term"] for r in checks["sensitivity"] if r["changed"]})
    if changed:
        out.append(
            f"prior sensitivity: the conclusion about {', '.join(changed)} changes with the prior"
        )
    return out  # fmt: skip


def predictive_section(
    infos: dict[str, dict[str, Any]], main: str, outcome: str, levels: list[str]
) -> str:
    """Posterior predictive checks and calibration: the main model in full, others in a table.

    outcome is the outcome's name; levels the cohort's, outermost first (the last one is the
    observation, e.g. session), for the wording.
    """
    rows, groups = escape(plural(levels[-1])), [escape(g) for g in levels[:-1]]
    fitted = checked(infos)
    if not fitted:
        # The engines whose after-fit steps make the checks, by name for the advice.
        checking = [n for n, e in engines.registered().items() if "checks" in e.steps]
        named = " or ".join(f"<code>{escape(n)}</code>" for n in checking)
        reason = (
            "no fit with posterior checks passed its convergence checks"
            if infos
            else f"this cohort did not run the {named} engine (add it to "
            "<code>engines</code> in the cohort file)"
        )
        return (
            "<h2 id='checks'>Posterior predictive checks</h2><p class='note'>Posterior "
            f"predictive checks, calibration, leave-one-{groups[-1]}-out cross-validation and "
            f"prior sensitivity come from the draws of the {named} engine; {reason}.</p>"
        )
    model = main if main in fitted else list(fitted)[-1]  # the main model, else the last checked
    ordinal = fitted[model]["checks"].get("outcome_type") == "ordinal"
    observed = "shares of each rating" if ordinal else "rates"
    parts = [
        "<h2 id='checks'>Posterior predictive checks</h2>",
        "<p>Does the fitted model reproduce the data? Each posterior draw replicates every "
        f"{escape(levels[-1])}'s outcome from the model, with its fitted {' and '.join(groups)} "
        f"effects; the observed {observed} of <code>{escape(outcome)}</code> are compared with the "
        "replicated ones. A two-sided predictive p near 0 means the data look unlike the model "
        f"in that respect. Because the replicates use each {groups[0]}'s own fitted effect, "
        f"these checks are lenient about {escape(plural(levels[0]))}; the calibration plot below "
        f"is the stricter test (it leaves out whole {escape(plural(levels[-2]))}, so their own "
        f"{rows} do not flatter it).</p>",
    ]
    if ordinal:
        from sessionmlm.report.ordinal import ordinal_predictive_detail

        parts.append(ordinal_predictive_detail(model, fitted[model], outcome, levels))
    else:
        parts.append(_predictive_detail(model, fitted[model], outcome, levels))
    if len(fitted) > 1:
        parts.append(_predictive_summary(fitted))
    return "".join(parts)


def statistics_table(unit: dict[str, Any]) -> str:
    """The per-unit statistics of a predictive check (checks.py's "per_unit") as a table."""
    rows = []
    for stat in unit["statistics"]:
        share = stat["name"].startswith("share")
        observed = percent(stat["observed"]) if share else num(stat["observed"], 3)
        rows.append([escape(sentence(stat["name"])), observed,
                     _interval(stat, as_percent=share), num(stat["p_value"], 3)])  # fmt: skip
    level = unit["level"]
    return html_table(
        ["statistic", "observed", "replicated (95% interval)", "predictive p"],
        rows,
        f"Per {level}: how much {plural(level)} differ",
    )


def per_category_table(groups: list[dict[str, Any]], observations: str, caption: str) -> str:
    """A predictive check per level of each categorical predictor, as a table.

    An ordinal outcome's rows name their `category`: they get a rating column.
    """
    rating = bool(groups) and "category" in groups[0]
    rows = [
        [escape(g["variable"]), escape(g["level"])]
        + ([escape(str(g["category"]))] if rating else [])
        + ["–" if g["sessions"] is None else str(g["sessions"]),
           "suppressed" if g["observed"] is None else percent(g["observed"]),
           _interval(g), {True: "yes", False: "<strong>no</strong>", None: "–"}[g["inside"]]]
        for g in groups
    ]  # fmt: skip
    header = ["variable", "level", *(["rating"] if rating else []), observations,
              "observed", "replicated (95% interval)", "inside"]  # fmt: skip
    return html_table(header, rows, caption)


def _predictive_detail(model: str, info: dict[str, Any], outcome: str, levels: list[str]) -> str:
    checks = info["checks"]
    rate = f"{outcome} rate"  # the share of observations with outcome 1 ("homework rate")
    observations = plural(levels[-1])
    p = checks["predictive"]
    overall = p["overall"]
    parts = [
        f"<h3>Model <code>{escape(model)}</code> ({checks['draws']} posterior draws)</h3>",
        f"<p>Overall: observed {escape(rate)} <strong>{percent(overall['observed'])}</strong>; "
        f"the model replicates {_interval(overall)} (predictive p {num(overall['p_value'])}).</p>",
    ]
    unit = p.get("per_unit")
    if unit:
        level = unit["level"]
        title = f"Observed and replicated {rate}s of the {unit['n_units']} {plural(level)}, sorted"
        parts.append(
            "<figure>"
            + band_plot(
                unit["sorted_observed"],
                unit["sorted_low"],
                unit["sorted_median"],
                unit["sorted_high"],
                title,
                f"share of {plural(level)}, ranked by rate",
                rate,
            )  # fmt: skip
            + f"<figcaption>{escape(title)}: the red line is the observed rates, the band the "
            f"95% range of replicated ones at each rank. {100 * unit['covered']:.0f}% of "
            f"{escape(plural(level))} have their observed rate inside their own 95% predictive "
            "interval. No ids are shown.</figcaption></figure>"
        )
        parts.append(statistics_table(unit))
    if p["per_category"]:
        parts.append(
            per_category_table(
                p["per_category"],
                observations,
                f"Per category: observed and replicated {rate}s (observed rates with fewer than "
                f"{checks['min_cell']} {observations} with {outcome} 1 or 0 are suppressed)",
            )
        )
    bins = checks["calibration"]
    if bins:
        title = f"Calibration of model {model}: observed against predicted {rate}"
        inner = levels[-2]
        of_same = f" of the same {levels[-3]}" if len(levels) > 2 else ""
        parts.append(
            "<h3>Calibration</h3>"
            f"<figure>{calibration_plot(bins, title, observations)}<figcaption>{escape(title)}. "
            f"{escape(sentence(observations))} are grouped by their predicted probability "
            f"for a <em>new {escape(inner)}</em>{escape(of_same)} (each {escape(inner)} left "
            f"out in turn by PSIS-LOO, so a {escape(inner)}'s own {escape(observations)} do "
            "not flatter the prediction). Points on the dashed diagonal mean the predicted and "
            "observed rates agree; bars are 95% Wilson intervals of the observed rate. Bins "
            f"merge until each has at least {checks['min_cell']} {escape(observations)} with "
            f"{escape(outcome)} 1 and 0."
            "</figcaption></figure>"
        )
        outside = [b for b in bins if not b["low"] <= b["predicted"] <= b["high"]]
        parts.append(
            f"<p>{len(bins) - len(outside)} of {len(bins)} bins hold the predicted rate within "
            "the observed rate's 95% interval"
            + ("." if not outside else "; expect about 1 in 20 outside by chance.")
            + "</p>"
        )
    return "".join(parts)


def _predictive_summary(fitted: dict[str, dict[str, Any]]) -> str:
    rows = []
    for model, info in fitted.items():
        checks = info["checks"]
        stats = checks["predictive"].get("per_unit", {}).get("statistics", [])
        categories = [g for g in checks["predictive"]["per_category"] if g["inside"] is not None]
        if checks.get("outcome_type") == "ordinal":
            from sessionmlm.report.ordinal import ordinal_summary_cells

            overall, bins = ordinal_summary_cells(checks)
        else:
            overall, bins = checks["predictive"]["overall"]["p_value"], checks["calibration"]
        rows.append([
            f"<code>{escape(model)}</code>",
            num(overall),
            num(min((s["p_value"] for s in stats), default=None)),
            f"{sum(g['inside'] is False for g in categories)} of {len(categories)}",
            f"{sum(not b['low'] <= b['predicted'] <= b['high'] for b in bins)} of {len(bins)}",
        ])  # fmt: skip
    return html_table(
        ["model", "overall predictive p", "smallest per-unit p", "categories outside",
         "calibration bins outside"],
        rows,
        "Predictive checks of every model with posterior draws",
    )  # fmt: skip


def loo_section(rows: list[dict[str, Any]], observation: str) -> str:
    """The PSIS-LOO comparison table (loo_comparison's rows) with its reading guide.

    observation is the innermost level's name (session).
    """
    if not rows:
        return ""
    unit = rows[0]["unit"]
    obs, units = escape(plural(observation)), escape(plural(unit))
    table = html_table(
        ["model", plural(observation), plural(unit), "elpd_loo (SE)", "p_loo",
         "difference from best (SE)", "Pareto k > threshold"],
        [[f"<code>{escape(r['model'])}</code>", str(r["n_obs"]), str(r["n_units"]),
          f"{r['elpd']:.1f} ({r['se']:.1f})", f"{r['p_loo']:.1f}",
          "best" if r["best"] == r["model"] else
          f"{r['elpd_diff']:.1f} ({r['se_diff']:.1f}) vs {escape(r['best'])}",
          f"{r['k_bad']} (max {r['k_max']:.2f})"] for r in rows],
        f"Leave-one-{unit}-out cross-validation (PSIS-LOO from the posterior draws; higher "
        "elpd is better)",
    )  # fmt: skip
    verdicts = [
        f"<li><code>{escape(r['best'])}</code> predicts new {units} "
        + ("clearly" if -r["elpd_diff"] > 2 * r["se_diff"] else "not clearly")
        + f" better than <code>{escape(r['model'])}</code> (difference {-r['elpd_diff']:.1f}, "
        f"SE {r['se_diff']:.1f}).</li>"
        for r in rows
        if r["best"] != r["model"]
    ]
    table += f"<ul>{''.join(verdicts)}</ul>" if verdicts else ""
    return (
        f"<h3 id='loo'>Leave-one-{escape(unit)}-out cross-validation</h3>"
        f"<p>How well each model predicts the {obs} of a {escape(unit)} it has not seen, "
        f"with that {escape(unit)}'s own effect unknown (integrated out) and the rest of the data "
        "kept: the expected log predictive density (elpd), estimated by Pareto-smoothed "
        f"importance sampling. Leaving out whole {units} rather than single {obs} matters "
        f"here: with few {obs} per {escape(unit)}, a single one pulls its own {escape(unit)}'s "
        f"effect and PSIS-LOO over single {obs} breaks down. A difference smaller than about "
        "twice its SE is not a meaningful difference. p_loo is the effective number of "
        f"parameters. {escape(k_note(unit))}</p>{table}"
    )


def sensitivity_section(infos: dict[str, dict[str, Any]], main: str, groups: list[str]) -> str:
    """Odds ratios under the priors power-scaled wider and narrower, changed conclusions flagged.

    groups are the cohort's grouping levels (therapist, client), whose SDs have the SD prior.
    """
    fitted = {m: i for m, i in checked(infos).items() if i["checks"]["sensitivity"]}
    if not fitted:
        return ""
    model = main if main in fitted else list(fitted)[-1]
    rows = fitted[model]["checks"]["sensitivity"]
    columns = [("coefficients", "wider"), ("coefficients", "narrower"),
               ("group_sd", "wider"), ("group_sd", "narrower")]  # fmt: skip
    headers = ["coefficient prior wider", "coefficient prior narrower", "SD prior wider",
               "SD prior narrower"]  # fmt: skip
    if any(r["prior"] == "thresholds" for r in rows):  # an ordinal outcome's threshold prior
        columns += [("thresholds", "wider"), ("thresholds", "narrower")]
        headers += ["threshold prior wider", "threshold prior narrower"]
    by = {(r["prior"], r["direction"], r["term"]): r for r in rows}
    terms = list(dict.fromkeys(r["term"] for r in rows))
    body = []
    for term in terms:
        first = next(r for r in rows if r["term"] == term)
        base = f"{num(first['base_or'])} ({num(first['base_low'])} to {num(first['base_high'])})"
        cells = [f"<code>{escape(term)}</code>", base]
        for key in columns:
            r = by.get((*key, term))
            if r is None:
                cells.append("–")
                continue
            text = f"{num(r['or'])} ({num(r['or_low'])} to {num(r['or_high'])})"
            if r["changed"]:
                text = f"<strong>{text} changed</strong>"
            if not r["reliable"]:
                text += " (k high)"
            cells.append(text)
        body.append(cells)
    changed = sorted({r["term"] for r in rows if r["changed"]})
    unreliable = sorted({f"{r['prior']} {r['direction']}" for r in rows if not r["reliable"]})
    verdict = (
        f"<p><strong>The conclusion about {escape(', '.join(changed))} depends on the "
        "prior</strong>: "
        "under at least one scaled prior its 95% interval moves across 1 (or the reverse). Report "
        "it with that caveat, and consider a refit with the prior you can defend.</p>"
        if changed
        else "<p>No conclusion changes: every odds ratio's 95% interval stays on the same side of "
        "1 (or keeps spanning 1) when either prior is made wider or narrower.</p>"
    )  # fmt: skip
    if unreliable:
        verdict += (
            f"<p class='note'>Importance weights were unreliable (Pareto k above {K_GOOD}) for "
            f"{escape(', '.join(unreliable))}; for those columns a refit with the scaled prior "
            "is the trustworthy check.</p>"
        )
    others = [m for m in fitted if m != model]
    other_text = "".join(
        f"<li><code>{escape(m)}</code>: "
        + (
            escape(
                ", ".join(
                    sorted({r["term"] for r in fitted[m]["checks"]["sensitivity"] if r["changed"]})
                )
            )
            or "no conclusion changes"
        )  # fmt: skip
        + "</li>"
        for m in others
    )
    return (
        "<h2 id='sensitivity'>Prior sensitivity</h2>"
        f"<p>Would the odds ratios of model <code>{escape(model)}</code> change under a "
        "different prior? Each prior is <em>power-scaled</em> (Kallioinen et al. 2023): raised to "
        "the power 0.5 it becomes wider (a Normal(0, s) prior becomes Normal(0, 1.41 s)), to the "
        "power 2 narrower (Normal(0, 0.71 s)). The posterior under the scaled prior is computed "
        "from the same draws by Pareto-smoothed importance weights, without refitting. The "
        "coefficient prior is scaled in the first two columns, the prior on the "
        f"{escape(' and '.join(groups))} SDs in the next two"
        + (", the thresholds' prior in the last two" if len(columns) > 4 else "")
        + ".</p>"
        + html_table(
            ["term", "as fitted", *headers],
            body,
            f"Odds ratios (95% interval) of model {model} under scaled priors",
        )  # fmt: skip
        + verdict
        + (
            "<p>Other models with posterior draws, terms whose conclusion changes:</p>"
            f"<ul>{other_text}</ul>"
            if others
            else ""
        )  # fmt: skip
    )
