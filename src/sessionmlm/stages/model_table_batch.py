"""Stage `model_table_batch`: the manuscript tables of a batch of fits, in one job (batches.py)."""

from __future__ import annotations

from dataclasses import dataclass

from sessionmlm.stages.model_table import run_model_table


@dataclass(frozen=True)
class BatchTable:
    """One table of a batch: its fit's model and files (batches.fit_files), number and outputs."""

    model: str
    number: int
    fit: dict[str, str]
    csv: str
    docx: str


def run_model_table_batch(engine: str, observation: str, tables: tuple[BatchTable, ...]) -> None:
    """Write each table as the model_table stage writes it."""
    for t in tables:
        run_model_table(t.model, engine, t.number, observation, t.fit, t.csv, t.docx)
