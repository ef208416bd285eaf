"""A model's structure as the cohort file completes it: level order, crossing, splits.

A formula names its grouping factors; the cohort's `levels` order them, its `crossed` says
which levels' units may sit under several units of the level above (clients who move
between therapists), and `within_between` which session predictors are split.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sessionmlm.formula import ModelSpec


def unit_key(level: str, grouping: tuple[str, ...], crossed: tuple[str, ...]) -> tuple[str, ...]:
    """The level columns that together identify one unit of level.

    A nested unit is identified within its parent (as lme4's therapist/client); a crossed
    level's units by their own id.
    """
    i = grouping.index(level)
    if i == 0 or level in crossed:
        return (level,)
    return (*unit_key(grouping[i - 1], grouping, crossed), level)


def joined_ids(frame: Any, columns: list[str]) -> Any:
    """One id per row from several id columns ("a/b/c"), vectorised.

    A row-wise join costs seconds at 10^6 sessions.
    """
    first, *rest = (frame[c].astype(str) for c in columns)
    return first.str.cat(rest, sep="/") if rest else first


def crossed_problems(raw: dict[str, Any], grouping: tuple[str, ...], where: str) -> list[str]:
    """The cohort's `crossed:` names grouping levels below the outermost."""
    return [
        f"{where}: crossed: {level!r} is not a grouping level below the outermost; "
        f"crossed may name {', '.join(grouping[1:]) or 'no level (there is one)'}."
        for level in raw.get("crossed", [])
        if level not in grouping[1:]
    ]


def within_between_setting(raw: dict[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...] | None]:
    """(predictors, models or None for every model using them) from `within_between:`."""
    setting = raw.get("within_between")
    if setting is None:
        return (), None
    if isinstance(setting, list):
        return tuple(setting), None
    models = setting.get("models")
    return tuple(setting.get("predictors", [])), None if models is None else tuple(models)


def complete_spec(
    spec: ModelSpec, raw: dict[str, Any], grouping: tuple[str, ...], where: str
) -> tuple[ModelSpec, list[str]]:
    """The spec with its groups in level order, its unit keys and within_between parts set.

    Returns (spec, problems); the groups must already be grouping levels.
    """
    crossed = tuple(raw.get("crossed", []))
    groups = tuple(sorted(spec.groups, key=grouping.index))
    keys = tuple(unit_key(g, grouping, crossed) for g in groups)
    predictors, models = within_between_setting(raw)
    applies = models is None or spec.name in models
    split = tuple(p for p in predictors if applies and p in spec.predictors)
    problems = []
    if models is not None and spec.name in models:
        problems += [
            f"{where}: within_between: {p!r} is not a predictor of models.{spec.name}."
            for p in predictors
            if p not in spec.predictors
        ]
    for group, terms in spec.slopes:
        if group in crossed:
            problems.append(
                f"{where}: models.{spec.name}: random slopes on the crossed level {group!r} "
                "are not supported; put them on a nested level."
            )
        if set(terms) & set(split):
            problems.append(
                f"{where}: models.{spec.name}: {sorted(set(terms) & set(split))} has a random "
                "slope and is split by within_between; random slopes of the parts are not "
                "supported yet: leave one of the two out."
            )
    completed = replace(spec, groups=groups, unit_keys=keys, within_between=split)
    if split and completed.crossed:
        problems.append(
            f"{where}: models.{spec.name}: within_between needs nested levels, and "
            f"{', '.join(crossed)} is crossed."
        )
    return completed, problems


def unused_within_between(
    raw: dict[str, Any], models: dict[str, ModelSpec], where: str
) -> list[str]:
    """within_between names a predictor no model uses, or a model that does not exist."""
    predictors, listed = within_between_setting(raw)
    used = {p for spec in models.values() for p in spec.predictors}
    problems = [
        f"{where}: within_between: no model uses {p!r}; remove it or add it to a formula."
        for p in predictors
        if p not in used
    ]
    problems += [
        f"{where}: within_between.models: no model {m!r}; models: {', '.join(models)}."
        for m in listed or ()
        if m not in models
    ]
    return problems
