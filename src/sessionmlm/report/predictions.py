"""The report's Predicted probabilities section, from the lead engine's fit job."""

from __future__ import annotations

from html import escape

import pandas as pd

from sessionmlm import engines
from sessionmlm.config import Cohort
from sessionmlm.figures import line_plot
from sessionmlm.htmlparts import html_table, num, sentence
from sessionmlm.predictions import AVERAGED, CONDITIONAL
from sessionmlm.report.fits import Fit, engine_of, lead_engine


def prediction_source(cohort: Cohort, fits: list[Fit]) -> tuple[Fit, pd.DataFrame, str] | None:
    """The fit whose predicted probabilities the report shows, the predictions, and how made.

    The last model of the lead engine that has predictions in its fit.json (engines whose
    after-fit steps make them, for models with caregiver presence, child age and licensure),
    else of the highest-ranked engine that has them.
    """
    usable = [f for f in fits if "predicted" in f.info]
    lead = lead_engine(cohort, fits)
    ranked = [lead, *engines.by_rank(list(dict.fromkeys(f.engine for f in usable)))]
    for engine in ranked:
        chosen = [f for f in usable if f.engine == engine]
        if chosen:
            fit = chosen[-1]
            describe = engine_of(fit).wording.predictions
            how = describe(fit.info) if describe else "95% intervals"
            return fit, pd.DataFrame(fit.info["predicted"]), how
    return None


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
