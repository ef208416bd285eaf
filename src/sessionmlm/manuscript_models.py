"""A fit's manuscript table: odds ratios, thresholds and random effects, as APA lays them out.

Read from the fit's output-contract files (estimates.csv, variance.csv, thresholds.csv,
fit.json). What a column holds follows the files, as the report's does: a posterior fit
(prob_positive in estimates.csv) gives credible intervals and the probability of direction,
the others confidence intervals and p values; the engine's registration says whether it has
random effects and in what words it describes its estimates. A fit that failed its checks or
that the engine does not fit gets no numbers: its table says why.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd

from sessionmlm import apa, engines
from sessionmlm.figures.levels import plural
from sessionmlm.manuscript import ApaTable, Row

PD_NOTE = (
    "pd = probability of direction, the posterior probability that the coefficient has its more "
    "probable sign (from .5 to 1)"
)


@dataclass(frozen=True)
class FitFiles:
    """One (model, engine) fit's files, read back."""

    model: str
    engine: str
    estimates: pd.DataFrame
    variance: pd.DataFrame
    thresholds: pd.DataFrame  # empty for a binary outcome
    info: dict[str, Any]


def read_fit(
    model: str, engine: str, estimates: str, variance: str, thresholds: str, fit: str
) -> FitFiles:
    """Read a fit's four files."""
    return FitFiles(
        model=model,
        engine=engine,
        estimates=pd.read_csv(estimates),
        variance=pd.read_csv(variance),
        thresholds=pd.read_csv(thresholds, dtype={"threshold": str}),
        info=json.loads(Path(fit).read_text()),
    )


def _title(fit: FitFiles) -> str:
    outcome = fit.info.get("formula", "").split("~")[0].strip()
    kind = "Cumulative Odds Ratios" if fit.info.get("outcome_type") == "ordinal" else "Odds Ratios"
    return f"{kind} for {outcome}: Model {fit.model}, {fit.engine} Engine"


def _unavailable(fit: FitFiles, engine: engines.Engine) -> str:
    """Why a fit has no numbers to report ("" when it has)."""
    info = fit.info
    if info.get("status") == "not fitted":
        return f"The {fit.engine} engine does not fit this model: {info['not_fitted']}."
    if not info.get("converged"):
        reasons = "; ".join(info.get("problems", [])) or "no reason recorded"
        return (
            f"This fit failed its checks and must not be reported as a result: {reasons}. "
            f"{engine.wording.advice}"
        )
    return ""


def _fixed_rows(est: pd.DataFrame, posterior: bool) -> list[Row]:
    """Each term's odds ratio, interval, and p (or pd); the last cell is empty without either."""
    rows = []
    for r in est.itertuples():
        if posterior:
            last = apa.probability(max(r.prob_positive, 1 - r.prob_positive))
        else:
            last = apa.probability(r.p_value) if "p_value" in est else ""
        rows.append(Row((r.term, apa.number(r.odds_ratio), apa.interval(r.or_low, r.or_high),
                         last)))  # fmt: skip
    return rows


def _threshold_rows(cuts: pd.DataFrame) -> list[Row]:
    if cuts.empty:
        return []
    rows = [Row((str(r.threshold), apa.number(r.estimate), apa.interval(r.ci_low, r.ci_high),
                 "")) for r in cuts.itertuples()]  # fmt: skip
    return [Row(("Thresholds (log-odds)",), panel=True), *rows]


def _random_rows(var: pd.DataFrame) -> list[Row]:
    """Each level's random-intercept SD and ICC, then each random slope's SD."""
    if var.empty:
        return []
    kinds = var["kind"] if "kind" in var else pd.Series("intercept", index=var.index)
    intercepts, slopes = var[kinds != "slope"], var[kinds == "slope"]
    rows = [Row(("Random effects",), panel=True)]
    rows += [Row((f"SD ({r.level})", apa.number(r.sd), apa.interval(r.sd_low, r.sd_high), ""))
             for r in intercepts.itertuples()]  # fmt: skip
    rows += [Row((f"SD ({r.level})", apa.number(r.sd), apa.interval(r.sd_low, r.sd_high), ""))
             for r in slopes.itertuples()]  # fmt: skip
    for r in intercepts.itertuples():
        low, high = getattr(r, "icc_low", None), getattr(r, "icc_high", None)
        rows.append(Row((f"ICC ({r.level})", apa.bounded(r.icc),
                         apa.interval(low, high, lead=False), "")))  # fmt: skip
    return rows


def _dependence_rows(var: pd.DataFrame, wording: engines.Wording) -> list[Row]:
    """A population-averaged engine's working correlations: not random effects."""
    shown = var[pd.to_numeric(var["icc"], errors="coerce").notna()] if not var.empty else var
    if shown.empty:
        return []
    rows = [Row((f"{wording.sd_intervals.capitalize()} ({r.level})", apa.bounded(r.icc), "", ""))
            for r in shown.itertuples()]  # fmt: skip
    return [Row((wording.dependence_table,), panel=True), *rows]


def _note(fit: FitFiles, engine: engines.Engine, posterior: bool, observation: str) -> str:
    info = fit.info
    units = "; ".join(f"{n} {plural(level)}" for level, n in info.get("units", {}).items())
    parts = [f"N = {info['n_obs']} {plural(observation)}" + (f" ({units})" if units else "") + "."]
    parts.append(f"Estimates are {engine.wording.estimates}.")
    parts.append(
        "OR = odds ratio; CrI = credible interval; " + PD_NOTE + "."
        if posterior
        else "OR = odds ratio; CI = confidence interval."
    )
    if info.get("outcome_type") == "ordinal":
        parts.append(
            "Odds ratios are cumulative: the odds of a higher rating rather than a lower one. "
            "Thresholds are on the log-odds scale: logit P(rating at or below the lower "
            "category) with every predictor at 0 and every random intercept at 0."
        )
    if engine.population_averaged:
        parts.append(engine.wording.dependence_note)
    elif not fit.variance.empty:
        parts.append(
            "SD = standard deviation of a level's random intercepts (log-odds scale), with "
            f"{engine.wording.sd_intervals}; ICC = intraclass correlation on the latent scale "
            "(residual variance \u03c0\u00b2/3)."
        )
        if info.get("slopes"):
            parts.append("SD (group:term) is a random slope's, per unit of its term.")
        if "icc_low" not in fit.variance:
            parts.append(f"{apa.EMPTY} = not estimated.")
    if info.get("n_dropped"):
        parts.append(
            f"{info['n_dropped']} {plural(observation)} with missing values were left out "
            "(listwise deletion)."
        )
    parts += [f"Warning: {w}" for w in info.get("warnings", [])]
    return " ".join(p for p in parts if p)  # an engine may have no dependence note


def model_table(fit: FitFiles, number: int, observation: str = "session") -> ApaTable:
    """A fit's table: fixed effects, thresholds (ordinal), random effects; or why none.

    observation names the cohort's innermost level, whose units the note counts.
    """
    engine = engines.get(fit.engine)
    posterior = "prob_positive" in fit.estimates
    test = ("pd",) if posterior else ("p",) if "p_value" in fit.estimates else ()
    header = ("Term", "OR", "95% CrI" if posterior else "95% CI", *test)
    unavailable = _unavailable(fit, engine)
    if unavailable:
        return ApaTable(number, _title(fit), header, (), unavailable, unavailable=unavailable)
    rows = []
    if not fit.estimates.empty:  # an ordinal model without predictors has only thresholds
        rows = [Row(("Fixed effects",), panel=True), *_fixed_rows(fit.estimates, posterior)]
    rows += _threshold_rows(fit.thresholds)
    if engine.population_averaged:
        rows += _dependence_rows(fit.variance, engine.wording)
    else:
        rows += _random_rows(fit.variance)
    return ApaTable(
        number=number,
        title=_title(fit),
        header=header,
        rows=tuple(r if r.panel else replace(r, cells=r.cells[: len(header)]) for r in rows),
        note=_note(fit, engine, posterior, observation),
    )
