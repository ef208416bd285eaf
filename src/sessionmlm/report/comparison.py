"""The report's Model comparison section: PSIS-LOO, information criteria and LR tests.

The numbers come from sessionmlm.compare; this module only lays them out.
"""

from __future__ import annotations

from html import escape
from typing import Any

import pandas as pd

from sessionmlm.figures import plural
from sessionmlm.htmlparts import html_table
from sessionmlm.report.fits import p_text
from sessionmlm.report.posterior import loo_section


def comparison_section(
    loo_rows: list[dict[str, Any]],
    criteria: pd.DataFrame | None,
    tests: pd.DataFrame,
    observation: str,
) -> str:
    """PSIS-LOO between posterior fits, AIC/BIC and likelihood-ratio tests between ML fits.

    loo_rows are compare.loo_comparison's, criteria compare.information_criteria's (None
    without maximum-likelihood fits) and tests compare.likelihood_ratio_tests'; observation
    is the innermost level's name (session).
    """
    loo = loo_section(loo_rows, observation)
    if criteria is None and not loo:
        return ""
    rows = plural(observation)  # html_table escapes its header and caption
    parts = ["<h2 id='comparison'>Model comparison</h2>", loo]
    if criteria is None:
        return "".join(parts)
    parts.append(
        "<h3 id='lrt'>Maximum likelihood: information criteria and likelihood-ratio tests</h3>"
    )
    outcomes = list(dict.fromkeys(criteria["outcome"]))
    for outcome, group in criteria.groupby("outcome", sort=False):
        # Criteria compare models of the same outcome only, so each outcome has its table.
        named = f" of {outcome}" if len(outcomes) > 1 else ""
        parts.append(
            html_table(
                ["model", rows, "parameters", "log-likelihood", "AIC", "BIC"],
                [
                    [
                        escape(r.model),
                        str(r.n_obs),
                        str(r.n_params),
                        f"{r.loglik:.2f}",
                        f"{r.aic:.1f}",
                        f"{r.bic:.1f}",
                    ]
                    for r in group.itertuples()
                ],
                f"Information criteria{named} (lower is better; BIC uses the number of {rows})",
            )  # fmt: skip
        )
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
                        p_text(r.p_value),
                    ]
                    for r in tests.itertuples()
                ],
                f"Likelihood-ratio tests between nested models (same {rows})",
            )  # fmt: skip
        )
    else:
        parts.append(
            "<p class='note'>No pair of models is nested on the same "
            f"{escape(rows)}, so no "
            "likelihood-ratio test applies.</p>"
        )
    return "".join(parts)
