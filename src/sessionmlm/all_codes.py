"""Every coder's codes in the model: the long table, the coder models, the coders' severities.

With `double_coded.all_codes: true` each item model `<item>-<template>` gets a twin,
`<item>-<template>-coders`, fitted to every code of the item: each session's row as the
sessions table holds it (its primary coder's codes) and one more row per other coder of a
double-coded session (that coder's codes, every predictor copied from the session). A coder
random intercept, crossed with the nesting, `(1 | coder)`, estimates each coder's severity
instead of leaving it in the residual; the session stays the unit of every other level.

How a session's several codes enter (chosen here; the cohort file has no say): each of its m
codes weighs 1/m in the likelihood, so every session counts once, as in the single-coder
model. Its codes are not independent draws: coders of one session agree far beyond what its
client, therapist and program share (their reliability), and taken as independent rows they
inflate the client SD and, with it, the coefficients (tried on the simulator: client SD 1.3
against 0.8, coefficients 20% larger, with 40% of sessions double-coded). A session random
intercept is no cure: informed by the double-coded sessions alone, it takes up that agreement
(large for a reliable item: the coders share most of the session's noise) and moves every
coefficient to another scale (given the session's shared noise, larger by the ratio of the
latent SDs), no longer comparable with the single-coder model's. With
weights, a session whose coders agree gives the single-coder likelihood exactly, plus what it
tells of the coders' severities; where they disagree it tells each coder's lean, and its
weighted likelihood is more cautious than a joint model of the codes would be. The coefficients
keep the single-coder model's scale; the severities come from the contrasts between coders of
a session and from each coder's share of the sessions.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from sessionmlm import engines as registry
from sessionmlm.errors import UserError
from sessionmlm.formula import ModelSpec
from sessionmlm.items import SEPARATOR

CODER = "coder"  # the coder's column in the long table and its grouping level
SUFFIX = "coders"  # the coder model's name: <item>-<template>-coders
# The coders' pseudonyms are keyed as a level of this name: "R-..." ("coder" would give them
# the clients' "C-" prefix).
PSEUDONYM_LEVEL = "rater"


class AllCodesError(UserError):
    """The sessions table and the double-coded table cannot be joined into one table."""


def coder_model_name(model: str) -> str:
    """The twin of an item model fitted to every code: `pe_agenda-full-coders`."""
    return f"{model}{SEPARATOR}{SUFFIX}"


def with_coder(spec: ModelSpec, session: str) -> ModelSpec:
    """The model with a coder random intercept crossed with its levels; a session weighs one.

    The coder comes first among the groups: the innermost level stays the unit the posterior
    checks leave out (LOO), and the checks' per-unit rates become per-coder rates.
    """
    return replace(
        spec,
        name=coder_model_name(spec.name),
        formula=f"{spec.formula} + (1 | {CODER})",
        groups=(CODER, *spec.groups),
        unit_keys=((CODER,), *spec.keys()),
        weight_by=session,
    )


def coder_models(cohort: Any) -> dict[str, ModelSpec]:
    """The cohort's coder models (none unless double_coded.all_codes), name -> spec."""
    coding = cohort.double_coding
    if coding is None or not coding.all_codes:
        return {}
    return {
        coder_model_name(model): with_coder(cohort.models[model], cohort.session_level)
        for model in cohort.item_models
        if model in cohort.models
    }


def fits_coder_model(engine: str, spec: ModelSpec) -> bool:
    """Whether an engine fits a coder model: crossed random intercepts and weighted rows."""
    chosen = registry.get(engine)
    return chosen.weights and not chosen.cannot_fit(spec)


def coder_engines(cohort: Any, spec: ModelSpec) -> tuple[str, ...]:
    """The cohort's engines that fit a coder model."""
    return tuple(e for e in cohort.engines if fits_coder_model(e, spec))


def all_codes_problems(
    wanted: bool,
    models: dict[str, ModelSpec],
    item_models: dict[str, tuple[str, str]],
    engines: tuple[str, ...],
    columns: set[str],
    session: str,
    where: str,
) -> list[str]:
    """What stops `double_coded.all_codes`: no item model, no engine for it, a name taken.

    wanted is the cohort's double_coded.all_codes; columns holds the canonical column names (a
    column named coder would clash), session the session level's name.
    """
    if not wanted:
        return []
    key = f"{where}: double_coded.all_codes"
    if not item_models:
        return [f"{key}: the cohort has no item models (`item ~ ...` templates over items:); "
                "all_codes fits each of them again with every coder's codes."]  # fmt: skip
    problems = []
    if CODER in columns:
        problems.append(f"{key}: the coders' level is named {CODER!r}, and so is a column or "
                        "level of the cohort; rename that column (columns:) or level.")  # fmt: skip
    for model in item_models:
        spec = models.get(model)
        if spec is None:
            continue
        if coder_model_name(model) in models:
            problems.append(f"{key}: {coder_model_name(model)!r} is the coder model of {model!r} "
                            "and also a model of the cohort; rename that model.")  # fmt: skip
        if spec.within_between:
            problems.append(f"{key}: models.{model} splits {', '.join(spec.within_between)} "
                            "(within_between), which needs nested levels; the coders are "
                            "crossed with them. Leave the template out of "
                            "within_between.models.")  # fmt: skip
    spec = next((models[m] for m in item_models if m in models), None)
    if spec is not None and not any(
        fits_coder_model(e, with_coder(spec, session)) for e in engines
    ):
        problems.append(f"{key}: none of the cohort's engines ({', '.join(engines)}) fits a "
                        "coder random intercept crossed with the levels with weighted rows; add "
                        "an engine that does (bayes) to engines.")  # fmt: skip
    return problems


@dataclass(frozen=True)
class LongTable:
    """Every code of the items, one row per (session, coder), and what was joined."""

    table: pd.DataFrame  # the sessions table's rows (coder: primary), then the extra rows
    sessions: int
    double_coded: int  # sessions with at least one extra row
    extra_rows: int
    coders: int
    without_coder: int  # sessions whose primary coder is missing: left out of coder models
    differ: dict[str, int]  # item -> the primary coder's rows of the double-coded table whose
    # code is not the sessions table's (the sessions table's is used)

    def note(self) -> str:
        """What the coder models are fitted to and how, for fit.json and the report."""
        return (
            f"Every code of the items: the {self.sessions} sessions' codes and "
            f"{self.extra_rows} more from other coders of {self.double_coded} double-coded "
            f"sessions, {self.coders} coders. Each of a session's m codes weighs 1/m, so every "
            "session counts once, as in the single-coder model, and the coefficients keep its "
            "scale; the coder random intercept takes up each coder's severity."
        )

    def record(self) -> dict[str, Any]:
        """all_codes.json: the counts and the note."""
        return {
            "sessions": self.sessions,
            "double_coded_sessions": self.double_coded,
            "extra_rows": self.extra_rows,
            "coders": self.coders,
            "sessions_without_coder": self.without_coder,
            "primary_codes_differing": self.differ,
            "note": self.note(),
        }


def long_table(
    sessions: pd.DataFrame,
    session_level: str,
    primary: Any,
    codes: pd.DataFrame,
    items: list[str],
) -> LongTable:
    """The sessions table with each row's coder, then one row per other coder's codes.

    sessions is the canonical table (one row per session, its session ids unique); primary
    (n,) each row's coder id; codes the double-coded table's rows, with columns session_level,
    CODER and each item (canonical values), ids as in sessions. A row of codes by the
    session's primary coder is not added again: the sessions table's codes stand, and
    codes that differ are counted (LongTable.differ).
    """
    ids = sessions[session_level]
    repeated = sorted(set(ids[ids.duplicated()].astype(str)))
    if repeated:
        raise AllCodesError(
            f"double_coded.all_codes: session ids repeat in the sessions table ({len(repeated)} "
            "ids), so the double-coded table's rows cannot be matched to one session each; "
            "give every session its own id."
        )
    unknown = sorted(set(codes[session_level].astype(str)) - set(ids.astype(str)))
    if unknown:
        raise AllCodesError(
            f"double_coded.all_codes: {len(unknown)} sessions of the double-coded table are "
            "not in the sessions table; correct their ids (the reliability job lists them)."
        )
    base = sessions.copy()
    base[CODER] = pd.array(np.asarray(primary, dtype=object), dtype="string")
    by_session = base.set_index(session_level)
    own_coder = by_session[CODER].reindex(codes[session_level]).fillna("").to_numpy(str)
    is_primary = (codes[CODER].astype("string").fillna("").to_numpy(str) == own_coder) & (
        own_coder != ""
    )
    own, extra = codes[is_primary], codes[~is_primary]
    differ = {}
    for item in items:
        given = by_session[item].reindex(own[session_level]).to_numpy(float)
        theirs = own[item].to_numpy(float)
        differ[item] = int((~np.isnan(given) & ~np.isnan(theirs) & (given != theirs)).sum())
    copied = by_session.drop(columns=[*items, CODER]).loc[extra[session_level]].reset_index()
    copied[CODER] = pd.array(extra[CODER].to_numpy(dtype=object), dtype="string")
    for item in items:
        copied[item] = extra[item].to_numpy(float)
    table = pd.concat([base, copied[base.columns]], ignore_index=True)
    table.attrs = dict(sessions.attrs)  # the outcomes' scales (model_data.outcome_scale)
    return LongTable(
        table=table,
        sessions=len(base),
        double_coded=int(extra[session_level].nunique()),
        extra_rows=len(extra),
        coders=int(table[CODER].nunique()),
        without_coder=int(base[CODER].isna().sum()),
        differ=differ,
    )


def coder_severities(coders: np.ndarray, sigma: np.ndarray, z: np.ndarray) -> pd.DataFrame:
    """Each coder's severity (log-odds added to every code), posterior median and 95% CI.

    coders (J,) the coders' ids; sigma (T,) the coder SD and z (T, J) the standardised coder
    effects, at the same T draws (Posterior.kept): severity = sigma * z. A positive severity
    codes the item present (higher) more often than the average coder.
    """
    effect = sigma[:, None] * z  # (T,) * (T, J) -> (T, J)
    low, mid, high = np.quantile(effect, [0.025, 0.5, 0.975], axis=0)
    return pd.DataFrame(
        {
            CODER: coders,
            "severity": mid,
            "ci_low": low,
            "ci_high": high,
            "prob_positive": (effect > 0).mean(axis=0),
        }
    )
