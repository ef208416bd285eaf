"""Coded items: many outcomes per cohort, each fitted with the same model templates.

A coding study rates dozens of practice elements per session. The cohort file lists them under
`items:` (each defined as an outcome is) and writes its models once, with the placeholder
`item` left of `~`; each such template is fitted for every item, as the model
`<item>-<template>` (`pe_agenda-full`). Models naming a real outcome stay as they are.
"""

from __future__ import annotations

from typing import Any

PLACEHOLDER = "item"
SEPARATOR = "-"


def is_template(formula: Any) -> bool:
    """Whether a formula has the placeholder `item` left of `~`."""
    return isinstance(formula, str) and formula.split("~")[0].strip() == PLACEHOLDER


def model_key(item: str, template: str) -> str:
    """The fitted model's name: the item, then the template (`pe_agenda-full`)."""
    return f"{item}{SEPARATOR}{template}"


def _with_outcome(formula: str, item: str) -> str:
    left, right = formula.split("~", 1)
    return f"{left.replace(PLACEHOLDER, item, 1)}~{right}"


def expand_items(raw: dict[str, Any], where: str) -> tuple[dict, dict[str, tuple[str, str]], list]:
    """The cohort document with every template written out once per item.

    Returns (document, item_models, problems): item_models maps each written-out model to its
    (item, template). Templates keep their place among the models, one model per item each.
    `within_between.models` may name templates: they stand for all their item models.
    """
    items = list(raw.get("items", {}))
    models = raw.get("models", {})
    if not isinstance(models, dict):
        return raw, {}, []
    templates = [name for name, formula in models.items() if is_template(formula)]
    problems = []
    if templates and not items:
        problems.append(
            f"{where}: models {', '.join(templates)}: `{PLACEHOLDER} ~` stands for each coded "
            "item, but the cohort lists no items; list them under items: (config/README.md) or "
            "name an outcome left of ~."
        )
    if items and not templates:
        problems.append(
            f"{where}: items: no model is written for them; write a model with `{PLACEHOLDER} ~` "
            "on the left (a template fitted for every item)."
        )
    named = set(raw.get("outcomes", {})) | {raw.get("outcome", {}).get("name")}
    clash = [item for item in items if item in named or item == PLACEHOLDER]
    problems += [
        f"{where}: items.{item}: "
        + (f"`{PLACEHOLDER}` is the placeholder of templates; rename the item."
           if item == PLACEHOLDER else "also defined under outcomes; define it once.")
        for item in clash
    ]  # fmt: skip
    if problems:
        return raw, {}, problems
    expanded: dict[str, str] = {}
    item_models: dict[str, tuple[str, str]] = {}
    for name, formula in models.items():
        if name not in templates:
            expanded[name] = formula
            continue
        for item in items:
            key = model_key(item, name)
            if key in models:
                problems.append(f"{where}: models.{key}: also the name of template {name!r} "
                                f"for item {item!r}; rename the model.")  # fmt: skip
            expanded[key] = _with_outcome(formula, item)
            item_models[key] = (item, name)
    document = {**raw, "models": expanded}
    split = raw.get("within_between")
    if isinstance(split, dict) and isinstance(split.get("models"), list):
        listed = [
            key
            for model in split["models"]
            for key in ([model_key(i, model) for i in items] if model in templates else [model])
        ]
        document["within_between"] = {**split, "models": listed}
    return document, item_models, problems


def expansion_summary(item_models: dict[str, tuple[str, str]]) -> str:
    """One line for the log: how many models the templates became."""
    items = sorted({item for item, _ in item_models.values()})
    templates = list(dict.fromkeys(t for _, t in item_models.values()))
    return (
        f"{len(templates)} template{'s' if len(templates) != 1 else ''} "
        f"({', '.join(templates)}) x {len(items)} items = {len(item_models)} models"
    )
