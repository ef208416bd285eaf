"""One item's reliability table: every statistic in STATISTICS, its 95% interval and notes."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import UserError
from . import agreement, icc
from .alpha import krippendorff_alpha
from .bootstrap import N_BOOT, SEED, percentile_interval, unit_weights
from .ratings import MISSING, Ratings, read_ratings

STATISTICS = (
    "percent agreement",
    "Cohen's kappa",
    "Fleiss' kappa",
    "Gwet's AC1",
    "Krippendorff's alpha (nominal)",
    "Krippendorff's alpha (ordinal)",
    "Krippendorff's alpha (interval)",
    "ICC(1,1)",
    "ICC(2,1)",
)
COLUMNS = ("statistic", "estimate", "ci_low", "ci_high", "units", "raters", "method", "note")
ASYMPTOTIC, F_DISTRIBUTION = "asymptotic", "F distribution"
NO_VARIATION = "no variation: chance-corrected agreement undefined"


@dataclass(frozen=True)
class Row:
    """One statistic's line of the table."""

    statistic: str
    estimate: float = math.nan
    ci_low: float = math.nan
    ci_high: float = math.nan
    units: int = 0
    raters: int = 0
    method: str = ""
    note: str = ""


def join(*parts: str) -> str:
    """The non-empty parts joined by "; "."""
    return "; ".join(p for p in parts if p)


def item_reliability(
    ratings: pd.DataFrame, scale: list, kind: str, *, seed: int = SEED, n_boot: int = N_BOOT
) -> pd.DataFrame:
    """Inter-rater reliability of one coded item, one row per statistic in STATISTICS.

    `ratings` has one row per unit and one column per rater, NaN where a rater did not rate a
    unit; `scale` lists the item's codes in order; `kind` is "binary", "nominal" or "ordinal".
    Units rated fewer than twice show no agreement and are left out (the notes count them),
    except that Gwet's category shares use every rated unit, as Gwet (2014) defines them.
    """
    r = read_ratings(ratings, scale, kind)
    paired = r.paired
    rows = _rows(r, paired, seed, n_boot) if len(paired.codes) else _nothing_paired()
    return pd.DataFrame([vars(row) for row in rows], columns=list(COLUMNS))


def compare_sources(
    a: pd.Series, b: pd.Series, scale: list, kind: str, *, seed: int = SEED, n_boot: int = N_BOOT
) -> pd.DataFrame:
    """item_reliability of two sources (e.g. self-report and observer) keyed by the same units."""
    for source in (a, b):
        if source.index.duplicated().any():
            twice = sorted({str(u) for u in source.index[source.index.duplicated()]})
            raise UserError(f"reliability: source {source.name!r} lists units twice: "
                            f"{', '.join(twice[:10])}; give one rating per unit.")  # fmt: skip
    names = (a.name, b.name) if a.name is not None and a.name != b.name else ("a", "b")
    frame = pd.concat([a.rename(names[0]), b.rename(names[1])], axis=1, join="outer")
    return item_reliability(frame, scale, kind, seed=seed, n_boot=n_boot)


def _nothing_paired() -> list[Row]:
    return [Row(name, note="no unit rated by two or more raters") for name in STATISTICS]


def _left_out(r: Ratings, gwet: bool = False) -> str:
    """Which units a statistic could not use, for its note."""
    parts = []
    if r.single_rated:
        use = "used only in the category shares" if gwet else "left out"
        parts.append(f"{r.single_rated} units rated once {use}")
    if r.unrated:
        parts.append(f"{r.unrated} units with no rating left out")
    return join(*parts)


def _rows(r: Ratings, paired: Ratings, seed: int, n_boot: int) -> list[Row]:
    counts_all, counts = r.counts, paired.counts
    n_all, n = len(counts_all), len(counts)
    # The same seed for both: units rated once only matter to Gwet's category shares.
    weights = unit_weights(n, n_boot, seed)
    weights_all = weights if n == n_all else unit_weights(n_all, n_boot, seed)
    method = f"bootstrap over units, {n_boot} resamples"
    one_category = int((counts.sum(axis=0) > 0).sum()) == 1
    # Gwet's coefficients also see the units rated once, which may add a category.
    one_category_all = int((counts_all.sum(axis=0) > 0).sum()) == 1
    used = {"units": n, "raters": paired.raters_used()}
    gwet_used = {"units": n, "raters": r.raters_used()}
    left, left_gwet = _left_out(r), _left_out(r, gwet=True)

    def boot(name: str, statistic, w: np.ndarray, note: str, counts_=counts, who=None) -> Row:
        estimate = float(statistic(counts_, np.ones((1, w.shape[1])))[0])
        if not math.isfinite(estimate):
            return Row(name, **(who or used), method=method, note=join(NO_VARIATION, note))
        interval = percentile_interval(lambda ws: statistic(counts_, ws), w)
        undefined = f"{interval.undefined} resamples undefined" if interval.undefined else ""
        return Row(name, estimate, interval.low, interval.high, **(who or used), method=method,
                   note=join(note, undefined))  # fmt: skip

    ordinal_note = "unweighted: ordinal distances ignored" if r.kind == "ordinal" else ""
    rows = [boot("percent agreement", agreement.percent_agreement, weights, left)]
    rows.append(_cohen(paired, used, join(ordinal_note, left), one_category))
    rows.append(_fleiss(counts_all, gwet_used, join(ordinal_note, left_gwet), one_category_all))
    ac1_note = "all ratings in one category: AC1 equals percent agreement"
    ac1_note = ac1_note if one_category_all else ""
    rows.append(boot("Gwet's AC1", agreement.gwet_ac1, weights_all,
                     join(ordinal_note, ac1_note, left_gwet), counts_all, gwet_used))  # fmt: skip
    for level in ("nominal", "ordinal", "interval"):
        name = f"Krippendorff's alpha ({level})"
        if level != "nominal" and r.kind == "nominal":
            rows.append(Row(name, note="nominal item"))
            continue
        binary = level != "nominal" and r.kind == "binary"
        note = "binary item: equals the nominal alpha" if binary else ""
        if level == "interval" and r.values_are_positions:
            note = join(note, "codes are not numbers: distances between scale positions")
        statistic = _alpha(level, r.values)
        rows.append(boot(name, statistic, weights, join(note, left)))
    rows.extend(_iccs(paired, used, left, one_category))
    return rows


def _alpha(level: str, values: np.ndarray):
    return lambda counts, w: krippendorff_alpha(counts, w, level, values)


def _cohen(paired: Ratings, used: dict, note: str, one_category: bool) -> Row:
    name = "Cohen's kappa"
    if used["raters"] != 2:
        return Row(name, note="needs exactly two coders; see Fleiss' kappa")
    columns = np.flatnonzero((paired.codes != MISSING).any(axis=0))
    kappa, low, high = agreement.cohen_interval(paired.codes[:, columns], len(paired.scale))
    if one_category or not math.isfinite(kappa):
        return Row(name, **used, method=ASYMPTOTIC, note=join(NO_VARIATION, note))
    high, note = _capped(high, note)
    return Row(name, kappa, low, high, **used, method=ASYMPTOTIC, note=note)


def _fleiss(counts_all: np.ndarray, used: dict, note: str, one_category: bool) -> Row:
    name = "Fleiss' kappa"
    kappa, low, high, balanced = agreement.fleiss_interval(counts_all)
    if one_category or not math.isfinite(kappa):
        return Row(name, **used, method=ASYMPTOTIC, note=join(NO_VARIATION, note))
    form = "" if balanced else "Gwet's (2014) generalisation to unequal raters per unit"
    high, note = _capped(high, join(form, "standard error of Gwet (2008)", note))
    return Row(name, kappa, low, high, **used, method=ASYMPTOTIC, note=note)


def _capped(high: float, note: str) -> tuple[float, str]:
    """An agreement coefficient is at most 1; a normal interval past 1 is cut there, and said."""
    if high > 1:
        return 1.0, join(note, "upper limit capped at 1")
    return high, note


def _iccs(paired: Ratings, used: dict, left: str, one_category: bool) -> list[Row]:
    names = ("ICC(1,1)", "ICC(2,1)")
    if paired.kind != "ordinal":
        return [Row(name, note="ordinal items only") for name in names]
    positions = "codes are not numbers: ICC of scale positions"
    positions = positions if paired.values_are_positions else ""
    y = np.where(paired.codes != MISSING, paired.values[np.maximum(paired.codes, 0)], np.nan)
    if one_category:
        note = join(NO_VARIATION, left)
        return [Row(name, **used, method=F_DISTRIBUTION, note=note) for name in names]
    one = icc.one_way(y)
    rows = [Row(names[0], one.estimate, one.ci_low, one.ci_high, **used, method=F_DISTRIBUTION,
                note=join(one.note, positions, left))]  # fmt: skip
    rated = ~np.isnan(y)
    units, raters = icc.crossed_block(rated)
    if len(raters) == 0:
        return [*rows, Row(names[1], note="raters not crossed: no two raters rated the same "
                           "two units; see ICC(1,1)")]  # fmt: skip
    crossed = bool(units.all()) and len(raters) == used["raters"]
    block = "" if crossed else (
        f"raters not fully crossed: computed on the {int(units.sum())} units rated by all of "
        f"{', '.join(paired.raters[j] for j in raters)} (largest fully crossed block); "
        "ICC(1,1) uses every unit"
    )  # fmt: skip
    two = icc.agreement(y[np.ix_(units, raters)])
    note = join(two.note, block, positions, left)
    size = int(units.sum())
    return [*rows, Row(names[1], two.estimate, two.ci_low, two.ci_high, size, len(raters),
                       F_DISTRIBUTION, note)]  # fmt: skip
