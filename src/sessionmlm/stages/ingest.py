"""Stage `ingest`: a cohort's data files to its canonical table, or the problems found."""

from __future__ import annotations

import logging

from sessionmlm import atomic
from sessionmlm.config import Cohort
from sessionmlm.ingest import ValidationError, ingest
from sessionmlm.privacy import Privacy
from sessionmlm.stages.job import inputs_hash, write_json
from sessionmlm.variables import Variable

log = logging.getLogger(__name__)


def run_ingest(cohort: Cohort, privacy: Privacy, sessions: str, validation: str) -> None:
    """Ingest one cohort; raise ValidationError listing every problem when it cannot go on."""
    log.info("reading %s", ", ".join(str(f) for f in cohort.data_files))
    table, check = ingest(cohort, privacy)
    log.info("variables (type, level; declared unless marked inferred):")
    for record in check.variables.values():
        log.info("  %s", Variable.from_dict(record))
    for quirk in check.quirks:
        log.info("read: %s", quirk)
    for warning in check.warnings:
        log.warning("%s", warning)
    record = check.to_dict() | {"input_hash": inputs_hash(cohort.data_files), "n_rows": len(table)}
    write_json(validation, record)
    if not check.ok:
        raise ValidationError(check)
    with atomic.atomic(sessions) as temporary:
        table.to_parquet(temporary, index=False)
    log.info("wrote %d sessions to %s", len(table), sessions)
