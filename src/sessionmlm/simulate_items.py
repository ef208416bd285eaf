"""Draw the coded practice-element items, each session's coders and the double-coded table.

The model is in simulate_item_truth.py. Everything here comes from its own random stream (a
child of the seed's, after the ordinal item's and the programs'), so the cohort's other
columns are the same, seed for seed, with or without items. Within it, the coders'
assignment, the items' session values, the primary coders' noise and the extra coders' have
separate streams: the codes of sessions.csv do not depend on how many sessions are
double-coded.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sessionmlm.simulate_item_truth import CODER_COLUMN, CodingParameters, ItemParameters

ITEM_STREAM = 2  # the seed's child streams: 0 the ordinal item, 1 programs and propensity


@dataclass(frozen=True)
class Coding:
    """Who coded what: one row per (session, coder), the primary coders' rows first.

    session (rows,) indexes the cohort's sessions, coder (rows,) the coders; the first
    n_sessions rows are the primary coders' (row s is session s).
    """

    session: np.ndarray
    coder: np.ndarray
    n_sessions: int

    @property
    def double_coded(self) -> np.ndarray:
        """The rows of the sessions with more than one coder, by session, the primary first."""
        extra = self.session[self.n_sessions :]
        rows = np.flatnonzero(np.isin(self.session, extra))
        return rows[np.lexsort((rows, self.session[rows]))]


def assign_coders(coding: CodingParameters, n_sessions: int, rng: np.random.Generator) -> Coding:
    """A primary coder per session, at random; extra coders for a share of the sessions."""
    n_coders = len(coding.severities)
    primary = rng.integers(0, n_coders, n_sessions)
    doubled = rng.permutation(n_sessions)[: round(coding.double_share * n_sessions)]
    tripled = doubled[: round(coding.triple_share * n_sessions)]
    # The others of a session are primary + 1 .. primary + C - 1 (mod C), in random order.
    order = np.argsort(rng.random((len(doubled), n_coders - 1)), axis=1) + 1
    second = (primary[doubled] + order[:, 0]) % n_coders
    third = (primary[tripled] + order[: len(tripled), 1]) % n_coders
    return Coding(
        session=np.concatenate([np.arange(n_sessions), doubled, tripled]),
        coder=np.concatenate([primary, second, third]),
        n_sessions=n_sessions,
    )


def item_codes(
    item: ItemParameters,
    predictors: dict[str, np.ndarray],
    units: tuple[tuple[np.ndarray, int], ...],
    coding: Coding,
    severity: np.ndarray,
    rngs: tuple[np.random.Generator, np.random.Generator, np.random.Generator],
) -> np.ndarray:
    """One item's code in every row of coding (simulate_item_truth.py's model).

    predictors maps every effect name (ebp[TF-CBT] as a 0/1 indicator) to its values per
    session; units are the program, therapist and client of every session with their counts.
    rngs: the sessions' stream (intercepts, the session's own noise), the primary coders'
    (the first coding.n_sessions rows) and the extra coders'.
    """
    unknown = sorted(set(item.coefficients) - set(predictors))
    if unknown:
        raise ValueError(
            f"item {item.name}: no predictor {', '.join(unknown)}; "
            f"the simulated ones are {', '.join(predictors)}"
        )
    session_rng, *coder_rngs = rngs
    eta = item.intercept + sum(b * predictors[name] for name, b in item.coefficients.items())
    sds = (item.sd_program, item.sd_therapist, item.sd_client)
    for sd, (unit, n_units) in zip(sds, units, strict=True):
        eta = eta + sd * session_rng.standard_normal(n_units)[unit]
    shared = session_rng.logistic(size=len(eta))  # what happened in the session
    counts = (coding.n_sessions, len(coding.session) - coding.n_sessions)
    attends = np.concatenate([r.random(n) for r, n in zip(coder_rngs, counts, strict=True)])
    own = np.concatenate([r.logistic(size=n) for r, n in zip(coder_rngs, counts, strict=True)])
    noise = np.where(attends < item.attention, shared[coding.session], own)
    latent = eta[coding.session] + severity[coding.coder] + noise
    return np.searchsorted(np.asarray(item.cuts), latent)  # cuts below the latent value


def simulate_items(
    coding: CodingParameters,
    predictors: dict[str, np.ndarray],
    units: tuple[tuple[np.ndarray, int], ...],
    seed: int,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Draw the primary codes and every code of the double-coded sessions.

    The first table has coder_id and one column per item, one row per session; the second the
    same columns for the double-coded sessions' rows, with each row's session index (session).
    """
    stream = np.random.SeedSequence(seed).spawn(ITEM_STREAM + 1)[ITEM_STREAM]
    assign_rng, *rngs = (np.random.default_rng(s) for s in stream.spawn(4))
    n_sessions = len(units[0][0])
    who = assign_coders(coding, n_sessions, assign_rng)
    severity = np.asarray(coding.severities)
    codes = {
        item.name: item_codes(item, predictors, units, who, severity, tuple(rngs))
        for item in coding.items
    }
    coders = np.asarray(coding.coders)
    table = pd.DataFrame({CODER_COLUMN: coders[who.coder], **codes})
    rows = who.double_coded
    double = table.iloc[rows].reset_index(drop=True)
    double.insert(0, "session", who.session[rows])
    return table.iloc[:n_sessions].reset_index(drop=True), double
