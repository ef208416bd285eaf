"""Batches: a cohort's coded-item models checked, fitted and tabled many to a workflow job.

Forty items fitted by three templates with two engines are 240 fits; as one job each, Python's
start and the imports (seconds) cost more than an ml or gee fit of a demo-sized cohort. So each
template's item models are checked in one job, and fitted (then tabled) in jobs of the engine's
Resources.batch_items fits: items in their configured order, so adding an item changes only
the last batch of each template. An engine with batch_items 1 (bayes: long, multi-core fits)
fits each item model in its own job, as every model that is not an item model is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

FIT_FILES = ("estimates", "variance", "thresholds", "fit")  # the fit rule's outputs, in order
SUFFIX = {"estimates": "csv", "variance": "csv", "thresholds": "csv", "fit": "json"}


@dataclass(frozen=True)
class Batch:
    """Some item models of one cohort and template, with one engine ("" for the checks).

    part counts the batches of (cohort, template, engine) from 1.
    """

    cohort: str
    template: str
    engine: str
    part: int
    models: tuple[str, ...]

    @property
    def label(self) -> str:
        """Names the batch in log paths: template, engine, part (`full-ml-2`)."""
        return "-".join(filter(None, (self.template, self.engine, str(self.part))))


def fit_files(cohort: str, model: str, engine: str) -> dict[str, str]:
    """The output contract's files of one fit, as the fit rule writes them, by name."""
    return {name: f"results/{cohort}/{model}/{engine}/{name}.{SUFFIX[name]}" for name in FIT_FILES}


def _by_template(item_models: dict[str, tuple[str, str]]) -> dict[str, list[str]]:
    """Each template's item models, templates and items in their configured order."""
    found: dict[str, list[str]] = {}
    for model, (_, template) in item_models.items():
        found.setdefault(template, []).append(model)
    return found


def check_batches(cohort: str, item_models: dict[str, tuple[str, str]]) -> list[Batch]:
    """One check job per template: all its item models (checks take milliseconds each)."""
    return [
        Batch(cohort, template, "", 1, tuple(models))
        for template, models in _by_template(item_models).items()
    ]


def fit_batches(
    cohort: str,
    item_models: dict[str, tuple[str, str]],
    engines: Iterable[str],
    batch_items: Callable[[str], int],
) -> list[Batch]:
    """The fit jobs of a cohort's item models for every engine whose batch_items exceeds 1.

    batch_items maps an engine's name to how many fits one job runs. Raises ValueError for a
    figure below 1 (an engine's Resources are code, not config).
    """
    batches = []
    for engine in engines:
        size = batch_items(engine)
        if size < 1:
            raise ValueError(f"engine {engine!r}: batch_items must be at least 1, not {size}")
        if size == 1:
            continue
        for template, models in _by_template(item_models).items():
            chunks = [models[i : i + size] for i in range(0, len(models), size)]
            batches += [Batch(cohort, template, engine, n + 1, tuple(chunk))
                        for n, chunk in enumerate(chunks)]  # fmt: skip
    return batches
