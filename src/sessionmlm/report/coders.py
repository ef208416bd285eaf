"""The report's section on the coders: each item model beside its twin fitted to every code.

With `double_coded.all_codes` (all_codes.py) each item model has a coder model: the same
formula with a coder random intercept, fitted to every coder's codes. The section shows, per
item model, the coder SD with its interval, the coefficients of the two fits side by side and
each coder's severity (coders.csv), under the coders' pseudonyms. render_cohort_report places
it with one call, coders_section(cohort, results_dir).
"""

from __future__ import annotations

from html import escape
from pathlib import Path

import pandas as pd

from sessionmlm.all_codes import CODER, coder_engines, coder_model_name, coder_models
from sessionmlm.config import Cohort
from sessionmlm.htmlparts import html_table, num
from sessionmlm.report.fits import Fit, badge, load_fit

Z95 = 3.92  # a normal 95% interval's width in SDs: the shift column's yardstick


def coder_pairs(cohort: Cohort, results_dir: Path) -> list[tuple[Fit, Fit, pd.DataFrame]]:
    """(item model's fit, its coder model's fit, coders.csv) for each fitted coder model."""
    pairs = []
    models = coder_models(cohort)
    for single in cohort.item_models:
        name = coder_model_name(single)
        if name not in models:
            continue
        for engine in coder_engines(cohort, models[name]):
            folder = results_dir / name / engine
            if not (folder / "fit.json").is_file() or not (results_dir / single / engine).is_dir():
                continue
            severities = pd.read_csv(folder / "coders.csv", dtype={CODER: str})
            pairs.append(
                (load_fit(results_dir, single, engine), load_fit(results_dir, name, engine),
                 severities)
            )  # fmt: skip
    return pairs


def _interval(row: pd.Series, name: str, low: str, high: str, digits: int = 2) -> str:
    return f"{num(row[name], digits)} ({num(row[low], digits)} to {num(row[high], digits)})"


def coefficient_rows(single: Fit, every: Fit) -> list[list[str]]:
    """Each term's odds ratio in the two fits and the shift, in the single fit's SDs."""
    one = single.estimates.set_index("term")
    rows = []
    for term, row in every.estimates.set_index("term").iterrows():
        if term == "Intercept" or term not in one.index:
            continue
        base = one.loc[term]
        sd = (base["ci_high"] - base["ci_low"]) / Z95
        shift = (row["estimate"] - base["estimate"]) / sd if sd > 0 else float("nan")
        rows.append([
            f"<code>{escape(str(term))}</code>",
            _interval(base, "odds_ratio", "or_low", "or_high"),
            _interval(row, "odds_ratio", "or_low", "or_high"),
            num(shift, 2),
        ])  # fmt: skip
    return rows


def coder_sd(fit: Fit) -> str:
    """The coder SD with its interval, from variance.csv's coder row."""
    rows = fit.variance[fit.variance["level"] == CODER]
    if rows.empty:
        return "–"
    return _interval(rows.iloc[0], "sd", "sd_low", "sd_high")


def _pair(single: Fit, every: Fit, severities: pd.DataFrame) -> str:
    coefficients = html_table(
        ["Term", "Odds ratio: primary coder's codes", "Odds ratio: every code",
         "Shift (SDs of the first)"],
        coefficient_rows(single, every),
        "Coefficients of the two fits (95% intervals); the shift is the change in log-odds "
        "over the first fit's posterior SD",
    )  # fmt: skip
    coders = html_table(
        ["Coder (pseudonym)", "Severity, log-odds (95% interval)", "P(severity > 0)"],
        [
            [f"<code>{escape(str(r[CODER]))}</code>",
             _interval(r, "severity", "ci_low", "ci_high"), num(r["prob_positive"], 2)]
            for _, r in severities.iterrows()
        ],
        "Each coder's severity: log-odds added to every code they give (positive: codes the "
        "item present, or higher, more often than the average coder)",
    )  # fmt: skip
    return (
        f"<details><summary><code>{escape(every.model)}</code> ({escape(every.engine)}) "
        f"{badge(every)}: coder SD {coder_sd(every)}</summary>{coefficients}{coders}</details>"
    )


def coders_section(cohort: Cohort, results_dir: str | Path) -> str:
    """The section, or "" when the cohort fits no coder model."""
    pairs = coder_pairs(cohort, Path(results_dir))
    if not pairs:
        return ""
    record = pairs[0][1].info.get("all_codes", {})
    summary = html_table(
        ["Item model", "Engine", "Coder SD (95% interval)", "Rows", "Coders"],
        [
            [f"<code>{escape(every.model)}</code>", escape(every.engine), coder_sd(every),
             str(every.info.get("n_obs", "–")), str(every.info.get("units", {}).get(CODER, "–"))]
            for _, every, _ in pairs
        ],
        "The coder random intercept's SD in each coder model",
    )  # fmt: skip
    return (
        "<h2 id='coders'>Coders: every code in the models</h2>"
        f"<p>{escape(record.get('note', ''))} Each item model is fitted again to every code "
        "with a coder random intercept crossed with the levels (its name ends in "
        "<code>-coders</code>); an SD near zero means the coders code alike, and coefficients "
        "that barely shift mean the primary coders' severities did not bias them.</p>"
        + summary
        + "".join(_pair(single, every, severities) for single, every, severities in pairs)
    )
