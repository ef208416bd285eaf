"""Stage `all_codes`: every coder's codes of the items in one table, for the coder models.

Joins the sessions table (its primary coders' codes) and the double-coded table (the other
coders') into results/{cohort}/all_codes.parquet, ids pseudonymised as ingest does
(all_codes.py says what the table is and why); stage fit_coders fits it.
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from sessionmlm import atomic
from sessionmlm.all_codes import CODER, PSEUDONYM_LEVEL, AllCodesError, long_table
from sessionmlm.cells import CodeMatcher, whole_floats
from sessionmlm.config import Cohort
from sessionmlm.double_coded import Coded, load_double_coded
from sessionmlm.privacy import Privacy
from sessionmlm.problems import Validation, ValidationError
from sessionmlm.pseudonyms import pseudonym_key, pseudonymise
from sessionmlm.stages.job import write_json
from sessionmlm.tables import ReadOptions, read_table

log = logging.getLogger(__name__)


def coded_rows(coded: Coded, items: list[str], session_level: str) -> pd.DataFrame:
    """The double-coded table's codes as rows: session_level, CODER, then each item.

    Ids as given (text); an item a coder left blank is NaN.
    """
    frames = [coded.ratings[item].stack(future_stack=True).rename(item) for item in items]
    rows = pd.concat(frames, axis=1).dropna(how="all")
    rows.index = rows.index.set_names([session_level, CODER])
    return rows.reset_index()


def _ids(cells: pd.Series, missing: tuple[Any, ...]) -> pd.Series:
    """Id cells as ingest reads them: stripped, whole floats as integers, missing codes NA."""
    text, _ = whole_floats(cells.astype("string").str.strip())
    absent = CodeMatcher(missing).match(text.fillna(""))[0].notna() | text.isna() | (text == "")
    return text.where(~absent)


def run_all_codes(cohort: Cohort, privacy: Privacy, sessions: str, table: str, record: str) -> None:
    """Write every code of the items, one row per (session, coder), and what was joined."""
    coding = cohort.double_coding
    level, source = cohort.session_level, cohort.levels[cohort.session_level]
    raw = read_table(cohort.data, ReadOptions.from_config(cohort.read))
    items = {i: cohort.outcomes[i] for i in cohort.items}
    coded, problems = load_double_coded(
        coding, items, raw, source, cohort.missing, cohort.read
    )  # fmt: skip
    if problems:
        raise ValidationError(Validation(cohort.name, coding.data.name, problems=problems))
    key = pseudonym_key(privacy)
    raw_sessions = pseudonymise(_ids(raw[source], cohort.missing), level, key)
    if raw_sessions.duplicated().any():
        raise AllCodesError(
            f"{cohort.data.name}: column {source!r}: session ids repeat, so the double-coded "
            f"table's rows ({coding.data.name}) cannot be matched to one session each; give "
            "every session its own id, or leave double_coded.all_codes out."
        )
    primary_of = pd.Series(
        pseudonymise(_ids(raw[coding.primary], cohort.missing), PSEUDONYM_LEVEL, key).to_numpy(),
        index=raw_sessions.to_numpy(),
    )
    canonical = pd.read_parquet(sessions)
    codes = coded_rows(coded, list(items), level)
    codes[level] = pseudonymise(_ids(codes[level], ()), level, key)
    codes[CODER] = pseudonymise(codes[CODER], PSEUDONYM_LEVEL, key)
    joined = long_table(
        canonical, level, primary_of.reindex(canonical[level]).to_numpy(), codes, list(items)
    )
    for item, n in joined.differ.items():
        if n:
            log.warning(
                "%s: %s: %d rows of the sessions' own coders hold a code other than %s's; the "
                "models use %s's.", coding.data.name, item, n, cohort.data.name, cohort.data.name,
            )  # fmt: skip
    if joined.without_coder:
        log.warning(
            "%s: column %r: %d sessions name no coder; the coder models leave them out.",
            cohort.data.name, coding.primary, joined.without_coder,
        )  # fmt: skip
    log.info("%s", joined.note())
    with atomic.atomic(table) as temporary:
        joined.table.to_parquet(temporary, index=False)
    write_json(record, joined.record())
