"""Stage `model_table`: one fit's odds ratios as a manuscript table (DOCX and CSV)."""

from __future__ import annotations

from sessionmlm import atomic
from sessionmlm.docx_tables import write_docx
from sessionmlm.manuscript import as_frame
from sessionmlm.manuscript_models import model_table, read_fit


def run_model_table(
    model: str, engine: str, number: int, observation: str, fit: dict[str, str], csv: str, docx: str
) -> None:
    """Write Table `number`, of one (model, engine) fit, as CSV and DOCX.

    fit maps estimates, variance, thresholds and fit to the fit's files; observation names
    the cohort's innermost level (the note counts its units).
    """
    table = model_table(read_fit(model, engine, **fit), number, observation)
    atomic.write_text(csv, as_frame(table).to_csv(index=False))
    write_docx(docx, table)
