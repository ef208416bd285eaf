"""Separation, found before any fitting by linear programming and named by predictor."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import optimize

from sessionmlm.model_data import ModelData


def find_separation(X: np.ndarray, y: np.ndarray, names: list[str]) -> dict[str, Any] | None:
    """Detect complete or quasi-complete separation by linear programming (Konis 2007).

    Looks for a direction b != 0 with (2y - 1) x'b >= 0 for every session: one exists exactly
    when the maximum-likelihood estimate of some combination of coefficients is infinite.
    X includes the intercept column. Returns None, or which terms separate and how.
    """
    sign = 2.0 * y - 1.0
    scale = np.abs(X).max(axis=0)
    scale[scale == 0] = 1.0
    A = np.unique(np.column_stack([X / scale, sign]), axis=0)
    signed = A[:, :-1] * A[:, -1:]
    result = optimize.linprog(
        -signed.sum(axis=0),
        A_ub=-signed,
        b_ub=np.zeros(len(signed)),
        bounds=[(-1.0, 1.0)] * X.shape[1],
        method="highs",
    )
    tol = 1e-7 * len(signed)
    if result.status != 0 or -result.fun <= tol:
        return None
    direction = result.x / scale
    margin = signed @ result.x
    involved = [n for n, b, s in zip(names, result.x, scale, strict=True) if abs(b) > 1e-6]
    predictors = [n for n in involved if n != "Intercept"] or involved
    perfect = np.abs(margin) > 1e-9
    return {
        "kind": "complete" if perfect.all() else "quasi-complete",
        "terms": predictors,
        "direction": dict(zip(names, direction.tolist(), strict=True)),
        "sessions_perfectly_predicted": int(perfect.sum()),
        "sessions": int(len(y)),
    }


def separation_message(found: dict[str, Any], rows_by_term: dict[str, str]) -> str:
    """Plain words for a separation finding: which predictor, what it means, what to do."""
    detail = "; ".join(rows_by_term.get(t, t) for t in found["terms"])
    return (
        f"{found['kind']} separation by {', '.join(found['terms'])}: {detail}. The maximum-"
        "likelihood odds ratio is infinite, so no finite estimate is reported. Merge rare "
        "categories, drop the term, or use the bayes engine, whose prior keeps it finite."
    )


def _describe_separating_rows(data: ModelData, found: dict[str, Any]) -> dict[str, str]:
    out = {}
    for term in found["terms"]:
        if term not in data.terms:
            continue
        column = data.X[:, data.terms.index(term)]
        if set(np.unique(column)) <= {0.0, 1.0}:
            rows = column == 1
            positives = int(data.y[rows].sum())
            out[term] = f"{positives} of the {int(rows.sum())} sessions with {term} had the outcome"
    return out
