"""Stage `reliability`: per-item inter-rater reliability from the double-coded table.

Each item's statistics (sessionmlm.reliability) with their 95% intervals, and whether the item
falls below the cohort's thresholds: its models are then flagged in the report, since an
association with an unreliable code is attenuated.
"""

from __future__ import annotations

import itertools
import logging

import numpy as np
import pandas as pd

from sessionmlm import atomic
from sessionmlm.config import Cohort
from sessionmlm.double_coded import Coded, load_double_coded, source_ratings
from sessionmlm.problems import Validation, ValidationError
from sessionmlm.reliability import compare_sources, item_reliability
from sessionmlm.reliability.choice import chosen_icc
from sessionmlm.tables import ReadOptions, read_table

log = logging.getLogger(__name__)

# Which statistic each threshold is held to, per kind of item; the first with an estimate.
HELD_TO = {
    # Unweighted kappa ignores how far apart two ratings are: ordinal items are held to the
    # ordinal alpha and the ICC instead.
    "kappa": {"binary": ("Cohen's kappa", "Fleiss' kappa"), "ordinal": ()},
    "alpha": {"binary": ("Krippendorff's alpha (nominal)",),
              "ordinal": ("Krippendorff's alpha (ordinal)",)},
    "icc": {"binary": (), "ordinal": ("ICC(2,1)", "ICC(1,1)")},
}  # fmt: skip


def flags(table: pd.DataFrame, kind: str, thresholds: dict[str, float]) -> list[str]:
    """The reasons an item's reliability is below the thresholds ([] when it is not).

    table is item_reliability's table; the ICC is ICC(2,1) when the coders were crossed, else
    ICC(1,1) (reliability/choice.py).
    """
    estimates = dict(zip(table.statistic, table.estimate, strict=True))
    reasons = []
    for key, limit in thresholds.items():
        held = HELD_TO[key][kind]
        if key == "icc" and held:
            held = tuple(filter(None, [chosen_icc(table)]))
        name = next((s for s in held if np.isfinite(estimates.get(s, np.nan))), None)
        if name is not None and estimates[name] < limit:
            reasons.append(f"{name} {estimates[name]:.2f} < {limit:.2f}")
    return reasons


def item_table(cohort: Cohort, coded: Coded) -> pd.DataFrame:
    """One row per item and statistic, with the item's kind, scale and flag."""
    frames = []
    for item in coded.ratings:
        kind = coded.kinds[item]
        scale = list(range(len(coded.scales[item])))
        table = item_reliability(coded.ratings[item], scale, kind)
        reasons = flags(table, kind, cohort.double_coding.thresholds)
        log.info("%s: %s%s", item, kind, f"; flagged: {'; '.join(reasons)}" if reasons else "")
        table.insert(0, "item", item)
        table.insert(1, "kind", kind)
        table.insert(2, "comparison", "all coders")
        table["flagged"] = bool(reasons)
        table["flag_reason"] = "; ".join(reasons)
        frames += [table, *source_tables(cohort, coded, item)]
    return pd.concat(frames, ignore_index=True)


def source_tables(cohort: Cohort, coded: Coded, item: str) -> list[pd.DataFrame]:
    """The item's statistics between each pair of sources (double_coded.sources), unflagged."""
    by_source = source_ratings(coded.ratings[item], cohort.double_coding.sources)
    scale, kind = list(range(len(coded.scales[item]))), coded.kinds[item]
    frames = []
    for a, b in itertools.combinations(by_source.columns, 2):
        table = compare_sources(by_source[a], by_source[b], scale, kind)
        table.insert(0, "item", item)
        table.insert(1, "kind", kind)
        table.insert(2, "comparison", f"{a} vs {b}")
        frames.append(table.assign(flagged=False, flag_reason=""))
    return frames


def run_reliability(cohort: Cohort, out: str) -> None:
    """Check the double-coded table and write each item's reliability to out (CSV)."""
    coding = cohort.double_coding
    sessions = read_table(cohort.data, ReadOptions.from_config(cohort.read))
    items = cohort.coded_outcomes
    coded, problems = load_double_coded(
        coding, items, sessions, cohort.levels[cohort.session_level], cohort.missing, cohort.read
    )
    if problems:
        raise ValidationError(Validation(cohort.name, coding.data.name, problems=problems))
    log.info(
        "%s: %d double-coded sessions, %d coders, %d items",
        coding.data.name, coded.sessions, len(coded.coders), len(items),
    )  # fmt: skip
    table = item_table(cohort, coded)
    table["sessions_double_coded"] = coded.sessions
    table["coders"] = len(coded.coders)
    atomic.write_text(out, table.to_csv(index=False, float_format="%.6g"))
