"""Columns of X beyond the main effects: within/between parts and interactions.

Pure functions of the model's complete sessions, so every engine fits the same columns and
the names (terms) say what each column is.
"""

from __future__ import annotations

import itertools

import numpy as np

from sessionmlm.errors import UserError
from sessionmlm.formula import ModelSpec


class TermError(UserError):
    """A derived column the data cannot support."""


def terms_of(predictor: str, terms: list[str] | tuple[str, ...]) -> list[str]:
    """The X columns of one predictor: itself (numeric) or `name[level]` (categorical)."""
    return [t for t in terms if t == predictor or (t.startswith(predictor + "[") and ":" not in t)]


def part_names(predictor: str, groups: tuple[str, ...]) -> tuple[str, ...]:
    """Names of a predictor's within/between parts, innermost first.

    With groups (therapist, client): "x (within client)" = x minus its client's mean,
    "x (between client)" = client mean minus therapist mean, "x (between therapist)" =
    therapist mean.
    """
    inner = groups[-1]
    return (
        f"{predictor} (within {inner})",
        *(f"{predictor} (between {g})" for g in reversed(groups)),
    )


def decompose(
    spec: ModelSpec, X: np.ndarray, terms: list[str], units: list[np.ndarray]
) -> tuple[np.ndarray, list[str], tuple[tuple[str, tuple[str, ...]], ...]]:
    """Replace each spec.within_between predictor's column by its within/between parts.

    units are the nested unit codes of the groups (outermost first), over the same sessions.
    Means are of the model's own sessions, so each part is a column of this fit's data.
    """
    if not spec.within_between:
        return X, terms, ()
    if spec.crossed or not spec.groups:
        raise TermError(
            f"model {spec.name!r}: within_between needs nested levels; its grouping "
            f"({', '.join(spec.groups) or 'none'}) is crossed or missing."
        )
    columns = [X[:, j] for j in range(X.shape[1])]
    names, parts, problems = list(terms), [], []
    for predictor in spec.within_between:
        j = names.index(predictor)
        x = columns[j]
        means = [np.bincount(u, weights=x) / np.bincount(u) for u in units]
        at = [m[u] for m, u in zip(means, units, strict=True)]  # each level's mean, per session
        values = [x - at[-1]]
        values += [at[k] - at[k - 1] for k in range(len(at) - 1, 0, -1)]
        values.append(at[0])
        labels = part_names(predictor, spec.groups)
        flat = [label for label, v in zip(labels, values, strict=True) if np.ptp(v) < 1e-12]
        if flat:
            problems.append(
                f"model {spec.name!r}: {predictor!r} does not vary in its part(s) "
                f"{', '.join(map(repr, flat))} (for example it is constant within each "
                f"{spec.groups[-1]}); take it out of within_between for this model."
            )
        columns[j : j + 1] = values
        names[j : j + 1] = labels
        parts.append((predictor, labels))
    if problems:
        raise TermError("\n".join(problems))
    return np.column_stack(columns), names, tuple(parts)


def with_interactions(
    spec: ModelSpec, X: np.ndarray, terms: list[str]
) -> tuple[np.ndarray, list[str]]:
    """Append one product column per combination of the interacting predictors' columns.

    `g:z` gives `g[b]:z`, ... (one per non-reference level of g). A product that is
    constant in the model's sessions (no session of level b with z other than 0) cannot be
    estimated and is an error naming it.
    """
    if not spec.interactions:
        return X, terms
    columns, names, flat = [X[:, j] for j in range(X.shape[1])], list(terms), []
    for parts in spec.interactions:
        if any(p in spec.within_between for p in parts):
            raise TermError(
                f"model {spec.name!r}: {':'.join(parts)!r} uses a predictor split by "
                "within_between; interactions of its parts are not supported yet."
            )
        for combo in itertools.product(*(terms_of(p, terms) for p in parts)):
            value = np.prod([X[:, terms.index(t)] for t in combo], axis=0)
            name = ":".join(combo)
            if np.ptp(value) == 0:
                flat.append(name)
            columns.append(value)
            names.append(name)
    if flat:
        raise TermError(
            f"model {spec.name!r}: the interaction column(s) {', '.join(flat)} take a single "
            "value in its complete sessions (no session has that combination), so they "
            "cannot be estimated; drop the interaction or merge levels."
        )
    return np.column_stack(columns), names
