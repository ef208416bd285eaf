"""The report of one design simulation: lays out what power_summary computed.

Power curves, and per grid point power, bias, coverage and singular fits, with the answer to
the planning question in words.
"""

from __future__ import annotations

import math
from html import escape
from typing import Any

import pandas as pd

from sessionmlm import atomic
from sessionmlm.designs import Design, planned_counts, sessions_of
from sessionmlm.figures import line_plot
from sessionmlm.htmlparts import html_table, num, page
from sessionmlm.intervals import wilson
from sessionmlm.power_summary import read_replicates, se_ratio, smallest_sufficient, summarise


def _label(key: str) -> str:
    return key.replace("odds_ratios.", "odds ratio of ").replace("_", " ").replace(".", " ")


def _answers(summary: pd.DataFrame, design: Design, effects: list[str]) -> str:
    """The planning question answered in words, when the grid varies one thing."""
    if len(design.grid) != 1:
        return ""
    key = next(iter(design.grid))
    items = []
    for term in effects:
        found = smallest_sufficient(summary, key, term, design.power_target)
        odds = summary.loc[summary.quantity == term, "true_odds_ratio"].iloc[0]
        if found is None:
            best = summary[summary.quantity == term]["power"].max()
            items.append(
                f"<li><strong>{escape(term)}</strong> (odds ratio {odds:.2f}): no grid value "
                f"reaches {design.power_target:.0%} power (highest {best:.0%}); "
                "extend the grid.</li>"
            )
        else:
            row = summary[(summary.quantity == term) & (summary[key] == found)].iloc[0]
            items.append(
                f"<li><strong>{escape(term)}</strong> (odds ratio {odds:.2f}): "
                f"{_label(key)} = {found:g} gives {row.power:.0%} power "
                f"(Monte Carlo SE {row.power_mc_se:.1%}), the smallest value in the grid that "
                f"reaches {design.power_target:.0%}.</li>"
            )
    return "<ul>" + "".join(items) + "</ul>"


def _curves(summary: pd.DataFrame, design: Design, effects: list[str]) -> str:
    if not design.grid:
        return ""
    key, *others = list(design.grid)
    figures = []
    groups = [(None, effects)] if not others else [(term, [term]) for term in effects]
    for title_term, terms in groups:
        series: dict[str, list] = {}
        for term in terms:
            part = summary[summary.quantity == term]
            for row in part.itertuples():
                values = row._asdict()
                name = (
                    term if not others else ", ".join(f"{_label(o)} {values[o]:g}" for o in others)
                )
                low, high = wilson(row.power, row.replicates - row.failed)
                series.setdefault(name, []).append((values[key], row.power, low, high))
        title = f"Power of {title_term}" if title_term else "Power per predictor"
        figures.append(
            "<figure>"
            + line_plot(series, title, _label(key), "power", target=design.power_target)
            + f"<figcaption class='note'>{escape(title)} against {escape(_label(key))}, with "
            "95% Monte Carlo intervals; the dashed line is the target power.</figcaption></figure>"
        )
    return "".join(figures)


def _point_table(summary: pd.DataFrame, design: Design) -> str:
    rows = []
    for row in summary.itertuples():
        values = row._asdict()
        untested = not math.isfinite(row.power)
        rows.append(
            [str(row.point)]
            + [f"{values[k]:g}" for k in design.grid]
            + [
                escape(row.quantity),
                num(row.truth, 3),
                "–" if untested else f"{row.power:.1%} ({row.power_mc_se:.1%})",
                num(row.bias, 3),
                num(row.rmse, 3),
                "–" if not math.isfinite(row.coverage) else f"{row.coverage:.1%}",
                num(se_ratio(row.mean_std_error, row.empirical_sd), 2),
                f"{row.singular_rate:.1%}",
                str(row.failed),
            ]
        )
    header = ["point", *map(_label, design.grid), "quantity", "true value (log-odds or SD)",
              "power (MC SE)", "bias", "RMSE", "95% coverage", "mean SE / empirical SD",
              "singular fits", "failed fits"]  # fmt: skip
    return html_table(header, rows, "Per grid point")


def _study_table(design: Design) -> str:
    s = design.study
    if s["programs"] is None:
        top = [["therapists", str(s["therapists"])]]
    else:
        top = [
            ["programs", str(s["programs"])],
            ["therapists per program", _spread(s["therapists_per_program"])],
            ["therapists", f"{planned_counts(s)[0]:,}"],
            ["SD of program intercepts", num(s["sd_program"], 2)],
        ]
    rows = [
        *top,
        ["clients per therapist", _spread(s["clients_per_therapist"])],
        ["sessions per client", _spread(s["sessions_per_client"])],
        ["expected sessions", f"{sessions_of(s):,}"],
        ["intercept (log-odds)", num(s["intercept"], 2)],
        ["odds ratios", ", ".join(f"{k} {v:g}" for k, v in s["odds_ratios"].items()) or "none"],
        ["SD of therapist intercepts", num(s["sd_therapist"], 2)],
        ["SD of client intercepts", num(s["sd_client"], 2)],
        ["model fitted", f"<code>{escape(design.spec.formula)}</code> (ml engine)"],
        [
            "grid",
            "; ".join(
                f"{_label(k)}: {', '.join(f'{v:g}' for v in vs)}" for k, vs in design.grid.items()
            )
            or "none",
        ],
        ["replicates per grid point", f"{design.replicates:,}"],
        ["replicates per job", str(design.replicates_per_job)],
        ["significance level", f"{design.alpha:g} (two-sided Wald test)"],
        ["ml settings", escape(", ".join(f"{k}: {v}" for k, v in design.ml_settings.items()))],
        ["seed", str(design.seed)],
    ]
    return html_table(
        ["planned study", "value"], rows, "The planned study (grid values replace these)"
    )


def _spread(s: dict[str, Any]) -> str:
    return f"mean {s['mean']:g}, between {s['min']} and {s['max']}"


def render_power_report(design: Design, summary: pd.DataFrame) -> str:
    """The whole design-simulation report as one self-contained HTML string."""
    effects = [
        q for q in dict.fromkeys(summary.quantity) if q != "Intercept" and not q.startswith("sd ")
    ]
    nonzero = [t for t in effects if summary.loc[summary.quantity == t, "truth"].iloc[0] != 0]
    singular = summary.groupby("point")["singular_rate"].first()
    failed = summary.groupby("point")["failed"].first()
    parts = [
        f"<h1>Design simulation: {escape(design.name)}</h1>",
        f"<p>{escape(design.description)}</p>" if design.description else "",
        "<h2 id='answer'>Answer</h2>",
        _answers(summary, design, nonzero) or "<p>See the power curves and the table below.</p>",
        "<p class='note'>Power is the share of simulated studies whose Wald test of the predictor "
        f"had p &lt; {design.alpha:g}, among fits that converged. Predictors whose true odds "
        "ratio is 1 show the false-positive rate instead, which should be near the significance "
        "level. Each power is an estimate from the replicates: its Monte Carlo SE is shown.</p>",
        "<h2 id='curves'>Power curves</h2>",
        _curves(summary, design, effects),
        "<h2 id='study'>The planned study</h2>",
        _study_table(design),
        "<h2 id='accuracy'>Bias, coverage and singular fits</h2>",
        "<p class='note'>Bias and RMSE are on the log-odds scale for fixed effects and on the SD "
        "scale for the random-effect SDs. Coverage is the share of 95% intervals containing the "
        "truth (profile-likelihood intervals for SDs, only when <code>ml.profile</code> is on). "
        "Mean SE / empirical SD near 1 means the standard errors are honest. A singular fit has "
        f"an SD estimated at zero; across grid points {singular.min():.0%} to {singular.max():.0%} "
        f"of fits were singular, and {int(failed.sum())} fits failed in all.</p>",
        _point_table(summary, design),
    ]
    return page(f"Design simulation: {design.name}", "".join(parts))


def write_power_report(
    design: Design, replicates: list[str], summary_out: str, report_out: str
) -> None:
    """Stage: summarise every chunk of a design into power.csv and power.html."""
    table = read_replicates(replicates, design)
    summary = summarise(table, design)
    atomic.write_text(summary_out, summary.to_csv(index=False, float_format="%.6g"))
    atomic.write_text(report_out, render_power_report(design, summary))
