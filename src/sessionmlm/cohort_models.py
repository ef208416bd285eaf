"""A cohort's models: each formula parsed and checked against the cohort's columns and levels."""

from __future__ import annotations

from typing import Any

from sessionmlm.documents import closest
from sessionmlm.formula import FormulaError, ModelSpec, parse_formula
from sessionmlm.outcomes import Outcome, model_outcome_problems
from sessionmlm.structure import complete_spec, crossed_problems, unused_within_between


def build_models(
    raw: dict[str, Any],
    outcomes: dict[str, Outcome],
    levels: dict[str, str],
    canonical: set[str],
    fitted_by: dict[str, tuple[str, ...]],
    where: str,
) -> tuple[dict[str, ModelSpec], list[str]]:
    """Every model of the (item-expanded) cohort document, and every problem found in them.

    canonical holds the column names models may use; fitted_by the outcome types each engine
    fits.
    """
    models, problems = {}, []
    groupable = list(levels)[:-1]
    for model_name, formula in raw["models"].items():
        try:
            spec = parse_formula(formula, model_name)
        except FormulaError as error:
            problems.append(f"{where}: models.{model_name}: {error}")
            continue
        problems += model_outcome_problems(spec, outcomes, fitted_by, where)
        for term in spec.predictors:
            if term in levels or term in outcomes:
                what = "a level id" if term in levels else "an outcome"
                problems.append(
                    f"{where}: models.{model_name}: {term!r} is {what}, not a predictor."
                )
            elif term not in canonical:
                problems.append(
                    f"{where}: models.{model_name}: term {term!r} names no column."
                    f"{closest(term, sorted(canonical - set(levels)))}"
                )
        for group in spec.groups:
            if group not in groupable:
                problems.append(
                    f"{where}: models.{model_name}: grouping {group!r} is not a level; "
                    f"random intercepts may use {', '.join(groupable)}."
                )
        if not spec.groups:
            problems.append(
                f"{where}: models.{model_name}: no random intercept; add e.g. "
                f"(1 | {'/'.join(groupable)})."
            )
        elif set(spec.groups) <= set(groupable):
            spec, found = complete_spec(spec, raw, tuple(groupable), where)
            problems += found
        models[model_name] = spec
    problems += crossed_problems(raw, tuple(groupable), where)
    problems += unused_within_between(raw, models, where)
    return models, problems
