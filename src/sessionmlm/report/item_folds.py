"""Coded items in the report: each item's sections folded under one line (`<details>`).

With dozens of items the page would be hundreds of screens; the overview answers first, and a
reader opens the item they care about. No scripts: `<details>` folds by itself.
"""

from __future__ import annotations

from html import escape

from sessionmlm.report.fits import Fit
from sessionmlm.report.reliability import flag_note


def _status(fits: list[Fit]) -> str:
    fitted = [f for f in fits if f.fitted]
    failed = [f for f in fitted if not f.info["converged"]]
    if failed:
        return f"{len(failed)} of {len(fitted)} fits failed their checks"
    return f"all {len(fitted)} fits passed" if fitted else "nothing fitted"


def item_fold(item: str, fits: list[Fit], parts: list[str], flag: str | None) -> str:
    """One item's models and sections, folded; its summary line says how its fits went."""
    models = list(dict.fromkeys(f.model for f in fits))
    body = "".join(parts).replace("<h2", "<h3").replace("</h2>", "</h3>")
    dagger = " <span class='badge warn'>† coded unreliably</span>" if flag else ""
    return (
        f"<details id='item-{escape(item)}'><summary><code>{escape(item)}</code>: "
        f"{len(models)} model{'s' if len(models) != 1 else ''}, {escape(_status(fits))}"
        f"{dagger}</summary>{flag_note(item, flag) if flag else ''}{body}</details>"
    )


def items_section(folds: list[str], templates: list[str]) -> str:
    """The coded items, one fold each, under one heading."""
    if not folds:
        return ""
    return (
        "<h2 id='items'>Coded items, one by one</h2>"
        f"<p>Each item was fitted with the model template{'s' if len(templates) > 1 else ''} "
        f"{', '.join(f'<code>{escape(t)}</code>' for t in templates)} (its models are named "
        "<code>item-template</code>). Open an item for its models, engines side by side, "
        "checks and plain-language sentences.</p>" + "".join(folds)
    )
