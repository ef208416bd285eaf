"""Stage `table1`: the report's Table 1 by level as a manuscript table (DOCX and CSV)."""

from __future__ import annotations

import json
from pathlib import Path

from sessionmlm import atomic
from sessionmlm.docx_tables import write_docx
from sessionmlm.manuscript import as_frame, table1


def run_table1(descriptives: str, csv: str, docx: str) -> None:
    """Table 1 from descriptives.json (small counts already suppressed there)."""
    table = table1(json.loads(Path(descriptives).read_text()))
    atomic.write_text(csv, as_frame(table).to_csv(index=False))
    write_docx(docx, table)
