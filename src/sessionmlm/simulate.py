"""Simulate coded-session cohorts from a cohort shape and true parameters.

The default shape and parameters mirror the reference study (Corona et al.): 103 therapists in
25 programs, 274 clients, 680 sessions, homework more likely with a caregiver present and an
older child and less likely with a licensed therapist. The command line writes the demo
cohort, whose truth (DEMO_TRUTH) adds program variance and a caregiver effect that differs
within and between clients (simulate_parameters.py). Each session also has an ordinal
item, how extensively homework was covered (codes 0 to 4), drawn from a cumulative logit with
its own effects and random intercepts, and from its own random stream: the other columns are
the same, seed for seed, as before the item existed. A truth with coding (the demo's) adds
coded practice-element items, each session's primary coder and a table of every code of the
double-coded sessions (simulate_items.py), also from their own stream.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from sessionmlm.simulate_item_truth import DOUBLE_CODED_FILE, CodingParameters
from sessionmlm.simulate_items import simulate_items
from sessionmlm.simulate_parameters import (
    DEMO_TRUTH,
    EBPS,
    ORDINAL_COLUMN,
    ORDINAL_NAME,
    CohortShape,
    OrdinalParameters,
    TrueParameters,
    truth_record,
)

__all__ = [  # the parameter types are imported from here too
    "EBPS", "ORDINAL_COLUMN", "ORDINAL_NAME", "CohortShape", "OrdinalParameters",
    "TrueParameters", "DEMO_TRUTH", "truth_record", "allocate", "simulate_cohort",
    "simulate_coded_cohort",
    "canonical", "write_cohort", "main",
]  # fmt: skip


def allocate(n_units: int, n_parents: int, bounds: tuple[int, int], rng: np.random.Generator):
    """Spread n_units over n_parents so that each parent gets between bounds[0] and bounds[1].

    Returns the parent index of every unit, shape (n_units,), sorted by parent.
    """
    low, high = bounds
    if not n_parents * low <= n_units <= n_parents * high:
        raise ValueError(
            f"cannot place {n_units} units in {n_parents} parents with {low} to {high} each"
        )
    counts = np.full(n_parents, low)
    for _ in range(n_units - counts.sum()):
        open_parents = np.flatnonzero(counts < high)
        counts[rng.choice(open_parents)] += 1
    return np.repeat(np.arange(n_parents), counts)


DEFAULT_SHAPE, DEFAULT_TRUTH, DEFAULT_ORDINAL = CohortShape(), TrueParameters(), OrdinalParameters()


def simulate_cohort(
    shape: CohortShape = DEFAULT_SHAPE, truth: TrueParameters = DEFAULT_TRUTH, seed: int = 1
) -> pd.DataFrame:
    """Draw one cohort: one row per coded session with raw ids and source-style codes.

    The programs, their random intercepts and the clients' caregiver propensities come from a
    child stream of the seed (as the ordinal item from another), so that with sd_program 0 and
    no propensity the other columns are the same, seed for seed, as before programs existed.
    A truth with coding adds the primary coder and the items' codes as the last columns.
    """
    return simulate_coded_cohort(shape, truth, seed)[0]


def simulate_coded_cohort(
    shape: CohortShape = DEFAULT_SHAPE, truth: TrueParameters = DEFAULT_TRUTH, seed: int = 1
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Draw the cohort (simulate_cohort's table) and every code of its double-coded sessions.

    The second table, None when truth has no coding, has session_id, coder_id and the items,
    one row per (session, coder), by session, the primary coder's row (the same codes as the
    first table's) first.
    """
    rng = np.random.default_rng(seed)
    extra = np.random.default_rng(np.random.SeedSequence(seed).spawn(2)[1])
    program_of_therapist = allocate(shape.n_therapists, shape.programs, shape.program_bounds, extra)
    program_intercepts = extra.standard_normal((2, shape.programs))  # homework, ordinal item
    propensity = truth.caregiver_propensity_sd * extra.standard_normal(shape.n_clients)
    slope_noise = extra.standard_normal(shape.n_therapists)
    therapist_of_client = allocate(
        shape.n_clients, shape.n_therapists, shape.clients_per_therapist, rng
    )
    client_of_session = allocate(shape.n_sessions, shape.n_clients, shape.sessions_per_client, rng)
    therapist_of_session = therapist_of_client[client_of_session]
    program_of_session = program_of_therapist[therapist_of_session]
    nt, nc, ns = shape.n_therapists, shape.n_clients, shape.n_sessions

    therapists = pd.DataFrame(
        {
            "licensed": rng.binomial(1, 0.45, nt),
            "hispanic_latinx": rng.binomial(1, 0.55, nt),
            "ebp_attitudes": np.round(np.clip(rng.normal(3.0, 0.45, nt), 0, 4), 2),
            "emotional_exhaustion": np.round(np.clip(rng.normal(2.5, 1.1, nt), 0, 6), 2),
            "direct_hours": np.round(np.clip(rng.normal(22, 7, nt), 2, 40)).astype(int),
            "n_ebps_trained": rng.integers(1, 7, nt),
        }
    )
    child_age = rng.integers(4, 19, nc)
    # Younger children come with a caregiver more often; CPP and Triple P serve the youngest.
    # Clients differ in how often a caregiver comes beyond that (propensity, 0 by default).
    caregiver_logit = 2.0 - 0.2 * child_age[client_of_session] + propensity[client_of_session]
    caregiver_prob = 1 / (1 + np.exp(-caregiver_logit))
    caregiver_present = rng.binomial(1, caregiver_prob)
    ebp_of_client = np.array(
        [
            rng.choice(
                EBPS,
                p=[0.3, 0.25, 0.15, 0.1, 0.1, 0.1] if age >= 6 else [0.3, 0.1, 0, 0, 0.35, 0.25],
            )
            for age in child_age
        ]
    )
    stressful_event = rng.binomial(1, 0.2, ns)

    ts = therapists.iloc[therapist_of_session].reset_index(drop=True)
    ebp = ebp_of_client[client_of_session]
    u_therapist = rng.standard_normal(nt)  # drawn here, as before, to keep the stream's order
    rho = truth.caregiver_slope_correlation
    slope = truth.sd_caregiver_slope * (rho * u_therapist + np.sqrt(1 - rho**2) * slope_noise)
    eta = (
        truth.intercept
        + slope[therapist_of_session] * caregiver_present
        + caregiver_effect(truth, caregiver_present, (therapist_of_session, client_of_session))
        + truth.child_age * child_age[client_of_session]
        + truth.stressful_event * stressful_event
        + sum(getattr(truth, name) * ts[name].to_numpy() for name in therapists.columns)
        + np.array([truth.ebp.get(e, 0.0) for e in ebp])
        + truth.sd_therapist * u_therapist[therapist_of_session]
        + truth.sd_client * rng.standard_normal(nc)[client_of_session]
        + truth.sd_program * program_intercepts[0][program_of_session]
    )
    homework = rng.binomial(1, 1 / (1 + np.exp(-eta)))
    # The observed codes: homework was assigned, reviewed or both; the outcome is their union.
    kind = rng.choice(3, size=ns, p=[0.45, 0.25, 0.30])  # assigned only, reviewed only, both
    hw_assigned = homework * (kind != 1)
    hw_reviewed = homework * (kind != 0)
    predictors = {
        "caregiver_present": caregiver_present,
        "child_age": child_age[client_of_session],
        "stressful_event": stressful_event,
        **{name: ts[name].to_numpy() for name in therapists.columns},
    }
    units = ((therapist_of_session, nt), (client_of_session, nc))
    program_offset = truth.extensiveness.sd_program * program_intercepts[1][program_of_session]
    extensiveness = ordinal_item(
        truth.extensiveness, predictors, ebp, units, seed, offset=program_offset
    )

    session_number = pd.Series(client_of_session).groupby(client_of_session).cumcount() + 1
    table = pd.DataFrame(
        {
            "program_id": [f"P{p + 1:03d}" for p in program_of_session],
            "therapist_id": [f"T{t + 1:04d}" for t in therapist_of_session],
            "client_id": [f"C{c + 1:05d}" for c in client_of_session],
            "session_id": [f"S{s + 1:06d}" for s in range(ns)],
            "session_number": session_number.to_numpy(),
            "hw_assigned": hw_assigned,
            "hw_reviewed": hw_reviewed,
            ORDINAL_COLUMN: extensiveness,
            "caregiver_present": np.where(caregiver_present == 1, "Y", "N"),
            "stressful_event": stressful_event,
            "ebp": ebp,
            "child_age": child_age[client_of_session],
        }
    )
    table = pd.concat([table, ts], axis=1)
    if truth.coding is None:
        return table, None
    # Each EBP as a 0/1 indicator, named as the engines name its term (reference MAP).
    indicators = {f"ebp[{e}]": (ebp == e).astype(float) for e in EBPS[1:]}
    units = ((program_of_session, shape.programs), *units)
    codes, double = simulate_items(truth.coding, predictors | indicators, units, seed)
    double.insert(0, "session_id", table.session_id.to_numpy()[double.pop("session")])
    return pd.concat([table, codes], axis=1), double


def caregiver_effect(
    truth: TrueParameters, present: np.ndarray, units: tuple[np.ndarray, np.ndarray]
) -> np.ndarray:
    """Each session's log-odds from caregiver presence: one effect, or its three parts.

    units are the therapist and the client of every session; the means are over the cohort's
    sessions, as model_terms.decompose computes them (TrueParameters' docstring).
    """
    if not truth.caregiver_split:
        return truth.caregiver_present * present
    within, between_client, between_therapist = truth.caregiver_parts()
    x = present.astype(float)
    therapist_mean, client_mean = ((np.bincount(u, weights=x) / np.bincount(u))[u] for u in units)
    return (
        within * (x - client_mean)
        + between_client * (client_mean - therapist_mean)
        + between_therapist * therapist_mean
    )


def ordinal_item(
    params: OrdinalParameters,
    predictors: dict[str, np.ndarray],
    ebp: np.ndarray,
    units: tuple[tuple[np.ndarray, int], tuple[np.ndarray, int]],
    seed: int,
    offset: np.ndarray | float = 0.0,
) -> np.ndarray:
    """Draw the ordinal item's codes 0..K-1 for every session from the cumulative logit.

    predictors holds each numeric predictor per session; units the therapist and the client
    of every session, each with the number of such units; offset is added to every session's
    eta (the program intercepts, drawn elsewhere). The draws come from a child of the
    seed's stream, so the cohort's other columns do not depend on them: a latent eta +
    logistic noise, cut at the thresholds.
    """
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(1)[0])
    (therapist, n_therapists), (client, n_clients) = units
    eta = sum(getattr(params, name) * values for name, values in predictors.items())
    eta = eta + np.array([params.ebp.get(e, 0.0) for e in ebp])
    eta = eta + params.sd_therapist * rng.standard_normal(n_therapists)[therapist]
    eta = eta + params.sd_client * rng.standard_normal(n_clients)[client] + offset
    latent = eta + rng.logistic(size=len(eta))
    return np.searchsorted(np.asarray(params.thresholds), latent)  # thresholds below latent


NUMERIC = (
    "stressful_event", "child_age", "licensed", "hispanic_latinx", "ebp_attitudes",
    "emotional_exhaustion", "direct_hours", "n_ebps_trained",
)  # fmt: skip
# Every predictor drawn here, as formula terms, and the terms a design can give effects to:
# the 0/1 caregiver presence, the numeric ones, and the EBP (categorical, reference MAP).
SCALAR_TERMS = ("caregiver_present", *NUMERIC)
SIMULATED = (*SCALAR_TERMS, "ebp")
EFFECT_NAMES = (*SCALAR_TERMS, *(f"ebp[{e}]" for e in EBPS[1:]))
REFERENCE = {"ebp": EBPS[0]}


def canonical(
    table: pd.DataFrame,
    ordinal: OrdinalParameters = DEFAULT_ORDINAL,
    coding: CodingParameters | None = None,
) -> pd.DataFrame:
    """A simulated table in canonical form, as ingest would give it but with the raw ids.

    For simulation studies, which need no pseudonyms and no file round trip. The ordinal item
    is the outcome `extensiveness`, its categories (ordinal's) recorded as ingest records them;
    so are coding's ordinal items, each under its column's name (binary ones are 0/1 floats).
    """
    out = table.rename(
        columns={
            "program_id": "program",
            "therapist_id": "therapist",
            "client_id": "client",
            "session_id": "session",
        }
    )
    out["homework"] = (table.hw_assigned | table.hw_reviewed).astype(float)
    # The codes 0..K-1 are the category indices; ingest records the categories the same way.
    out[ORDINAL_NAME] = table[ORDINAL_COLUMN].astype(float)
    variables = {ORDINAL_NAME: {"type": "ordinal", "categories": list(ordinal.categories)}}
    for item in coding.items if coding else ():
        out[item.name] = table[item.name].astype(float)
        if item.kind == "ordinal":
            variables[item.name] = {"type": "ordinal", "categories": list(item.categories)}
    out.attrs["variables"] = variables
    out["caregiver_present"] = (table.caregiver_present == "Y").astype(float)
    out["ebp"] = out["ebp"].astype("string")
    out[list(NUMERIC)] = out[list(NUMERIC)].astype(float)
    return out


def write_cohort(out_dir: Path, shape: CohortShape, truth: TrueParameters, seed: int) -> None:
    """Write sessions.csv and truth.json to out_dir (and double_coded.csv, with coding).

    The same seed gives the same bytes.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    table, double = simulate_coded_cohort(shape, truth, seed)
    table.to_csv(out_dir / "sessions.csv", index=False, lineterminator="\n")
    if double is not None:
        double.to_csv(out_dir / DOUBLE_CODED_FILE, index=False, lineterminator="\n")
    record = truth_record(shape, truth, seed)
    (out_dir / "truth.json").write_text(json.dumps(record, indent=2) + "\n")


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point: sessionmlm-simulate OUT_DIR [--seed N] [--therapists N] ..."""
    parser = argparse.ArgumentParser(
        prog="sessionmlm-simulate",
        description="Simulate a coded-session cohort (sessions.csv), its double-coded sessions "
        "(double_coded.csv) and its true parameters (truth.json) shaped like the reference "
        "study, with the demo cohort's truth.",
    )
    parser.add_argument("out_dir", type=Path, help="folder to write the files to")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    d = CohortShape()
    parser.add_argument("--therapists", type=int, default=d.n_therapists)
    parser.add_argument("--clients", type=int, default=d.n_clients)
    parser.add_argument("--sessions", type=int, default=d.n_sessions)
    parser.add_argument(
        "--programs",
        type=int,
        default=None,
        help="programs (default 25, at most one per therapist)",
    )
    args = parser.parse_args(argv)
    shape = CohortShape(args.therapists, args.clients, args.sessions, n_programs=args.programs)
    try:
        write_cohort(args.out_dir, shape, DEMO_TRUTH, args.seed)
    except ValueError as error:
        parser.error(str(error))
    written = ["sessions.csv", "truth.json"] + [DOUBLE_CODED_FILE] * (DEMO_TRUTH.coding is not None)
    print("wrote " + ", ".join(str(args.out_dir / name) for name in written))


if __name__ == "__main__":
    main()
