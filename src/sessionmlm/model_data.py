"""Turn the canonical table and a model specification into arrays an engine can fit.

Listwise deletion happens here, per model, and is counted by variable.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sessionmlm.errors import UserError
from sessionmlm.formula import ModelSpec
from sessionmlm.model_terms import TermError, decompose, terms_of, with_interactions
from sessionmlm.structure import joined_ids


class ModelDataError(UserError):
    """The data cannot support the model as written."""


@dataclass(frozen=True)
class ModelData:
    """Arrays for one model: n sessions, p fixed-effect columns, K grouping levels.

    unit_of_session[k] is (n,) with values in 0..n_units[k]-1 for the k-th grouping level
    (outermost first); X holds no intercept column.
    """

    spec: ModelSpec
    y: np.ndarray  # (n,) 0/1 for a binary outcome; category index 0..K-1 for an ordinal one
    X: np.ndarray  # (n, p)
    terms: tuple[str, ...]  # (p,) column names of X
    groups: tuple[str, ...]  # (K,)
    unit_of_session: tuple[np.ndarray, ...]  # K arrays of shape (n,)
    unit_ids: tuple[np.ndarray, ...]  # K arrays of pseudonyms, shape (n_units[k],)
    dropped: dict[str, int]  # variable -> rows with it missing (before deletion)
    n_dropped: int
    rows: np.ndarray  # (n,) positions in the canonical table of the sessions kept
    outcome_type: str = "binary"  # or "ordinal" (cumulative logit)
    categories: tuple[str, ...] = ("0", "1")  # the outcome's categories, lowest first
    # Per grouping factor with random slopes, the terms (columns of X) whose slopes vary.
    slopes: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # Per predictor split into within- and between-unit parts, its parts' terms, innermost first.
    parts: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # (n,) each row's weight in the likelihood (spec.weight_by); None: every row weighs one.
    weights: np.ndarray | None = None

    @property
    def nested(self) -> bool:
        """Whether every unit of each grouping level lies inside one unit of the level above."""
        for outer, inner in zip(self.unit_of_session, self.unit_of_session[1:], strict=False):
            parents = np.zeros(inner.max() + 1, dtype=np.int64) - 1
            parents[inner] = outer
            if np.any(parents[inner] != outer):
                return False
        return True

    def slope_columns(self, group: str) -> list[int]:
        """Positions in X of the terms whose slopes vary over group's units."""
        terms = dict(self.slopes).get(group, ())
        return [self.terms.index(t) for t in terms]

    @property
    def ordinal(self) -> bool:
        """Whether the outcome is ordinal (thresholds instead of an intercept)."""
        return self.outcome_type == "ordinal"

    def check_categories(self) -> None:
        """Raise ModelDataError unless an ordinal y holds category indices, each category used.

        A category no session has leaves the thresholds beside it unidentified (ml) or to the
        prior alone (bayes), reported as if estimated. check_model stops such a model before
        any fit; this guards every engine against data built some other way.
        """
        y, k = self.y, len(self.categories)
        if k < 2 or np.any((y < 0) | (y >= k) | (y != np.round(y))):
            raise ModelDataError(
                f"model {self.spec.name!r}: the ordinal outcome must hold category indices 0 to "
                f"{k - 1} (its categories {list(self.categories)}), lowest first"
            )
        counts = np.bincount(y.astype(np.int64), minlength=k)
        empty = [c for c, n in zip(self.categories, counts, strict=True) if n == 0]
        if empty:
            raise ModelDataError(
                f"model {self.spec.name!r}: no session has the outcome's categor"
                f"{'y' if len(empty) == 1 else 'ies'} {', '.join(map(repr, empty))}, so the "
                "thresholds next to it cannot be estimated; merge it with a neighbouring "
                "category in the outcome's codes, or take it out of the outcome's order."
            )

    @property
    def threshold_names(self) -> tuple[str, ...]:
        """The thresholds between adjacent categories, named "low|high" as ordinal::clmm does."""
        c = self.categories
        return tuple(f"{low}|{high}" for low, high in zip(c[:-1], c[1:], strict=True))

    def record(self) -> dict[str, Any]:
        """What every engine's fit.json says about the data of the fit."""
        return (
            {
                "model": self.spec.name,
                "formula": self.spec.formula,
                "n_obs": int(len(self.y)),
                "n_dropped": self.n_dropped,
                "dropped_by_variable": self.dropped,
                "units": dict(zip(self.groups, self.n_units, strict=True)),
            }
            | self.outcome_summary()
            | self.structure()
        )

    def structure(self) -> dict[str, Any]:
        """What the report needs to name derived terms: random slopes, within/between parts."""
        found: dict[str, Any] = {}
        if self.slopes:
            found["slopes"] = {group: list(terms) for group, terms in self.slopes}
        if self.parts:
            found["within_between"] = {name: list(parts) for name, parts in self.parts}
        if not self.nested:
            found["crossed"] = True
        if self.weights is not None:
            found["weights"] = {
                "by": self.spec.weight_by,
                "rows": int(len(self.weights)),
                "total": round(float(self.weights.sum()), 6),
            }
        return found

    def outcome_summary(self) -> dict[str, Any]:
        """The outcome's base rate (binary) or its categories and their shares (ordinal)."""
        if not self.ordinal:
            return {"outcome_type": "binary", "base_rate": float(self.y.mean())}
        shares = np.bincount(self.y.astype(np.int64), minlength=len(self.categories)) / len(self.y)
        return {
            "outcome_type": "ordinal",
            "categories": list(self.categories),
            "category_shares": dict(zip(self.categories, shares.tolist(), strict=True)),
        }

    @property
    def rows_hash(self) -> str:
        """Fingerprint of which sessions the model used: equal for fits on the same rows."""
        return hashlib.sha256(np.ascontiguousarray(self.rows, dtype=np.int64).tobytes()).hexdigest()

    @property
    def n_units(self) -> tuple[int, ...]:
        """Number of units at each grouping level."""
        return tuple(len(ids) for ids in self.unit_ids)


def _reference_first(values: pd.Series, reference: Any) -> list[str]:
    levels = sorted(values.dropna().astype(str).unique())
    if reference is not None and str(reference) in levels:
        levels.remove(str(reference))
        levels.insert(0, str(reference))
    return levels


def outcome_scale(table: pd.DataFrame, name: str) -> tuple[str, tuple[str, ...]]:
    """An outcome's type and categories, lowest first, as ingest recorded them.

    Ingest records every outcome in the table's metadata (attrs["variables"], kept in
    sessions.parquet); a table without a record of it (a simulation's) holds a binary one.
    """
    record = table.attrs.get("variables", {}).get(name, {})
    if record.get("type") == "ordinal":
        return "ordinal", tuple(str(c) for c in record["categories"])
    return "binary", ("0", "1")


def reference_levels(
    table: pd.DataFrame, spec: ModelSpec, reference: dict[str, Any]
) -> dict[str, str]:
    """Each categorical (text) predictor's reference level, as build_model_data chooses it.

    table holds the rows the model used (ModelData.rows).
    """
    return {
        name: _reference_first(table[name], reference.get(name))[0]
        for name in spec.predictors
        if not pd.api.types.is_numeric_dtype(table[name])
    }


def model_problems(table: pd.DataFrame, spec: ModelSpec, reference: dict[str, Any]) -> list[str]:
    """What stops a model on its own sessions (after its listwise deletion), each named.

    A predictor constant in the kept sessions, a category level (or the reference) left with
    no session, an outcome with no variation or an ordinal outcome's category with no session
    (the thresholds beside it) cannot be estimated: found here, before any fit, rather than as
    a failed fit.
    """
    used = list(spec.columns)
    keep = ~table[used].isna().any(axis=1)
    n, n_dropped = int(keep.sum()), int((~keep).sum())
    dropped = f" ({n_dropped} dropped for missing values)" if n_dropped else ""
    where = f"model {spec.name!r}: in its {n} complete sessions{dropped}"
    if n == 0:
        return [
            f"model {spec.name!r}: no session has every variable it uses; look at the "
            "missing counts in validation.json, or take variables out of the formula."
        ]
    problems = []
    for name in spec.predictors:
        col, kept = table[name], table.loc[keep, name]
        if pd.api.types.is_numeric_dtype(col):
            if kept.nunique() < 2:
                problems.append(
                    f"{where}, {name!r} takes the single value {kept.iloc[0]:g}; "
                    f"take it out of models.{spec.name} or check its codes."
                )
            continue
        empty = sorted(set(col.dropna().astype(str)) - set(kept.astype(str)))
        ref = reference.get(name)
        if ref is not None and str(ref) not in set(kept.astype(str)):
            problems.append(
                f"{where}, the reference level {str(ref)!r} of {name!r} has no "
                f"session; set reference.{name} to a level the model keeps."
            )
        elif empty:
            problems.append(
                f"{where}, level(s) {empty} of {name!r} have no session; merge them "
                f"with another level under codes.{name}, or fill in the missing "
                "values."
            )
        if kept.nunique() < 2:
            problems.append(
                f"{where}, {name!r} has a single level; take it out of models.{spec.name}."
            )
    for name in spec.within_between:
        if not pd.api.types.is_numeric_dtype(table[name]):
            problems.append(
                f"{where}, {name!r} is categorical; only a numeric or 0/1 predictor can be "
                "split into within- and between-unit parts (within_between)."
            )
    y = table.loc[keep, spec.outcome]
    kind, categories = outcome_scale(table, spec.outcome)
    if y.nunique() < 2:
        problems.append(
            f"{where}, the outcome {spec.outcome!r} has no variation; nothing can be estimated."
        )
    elif kind == "ordinal":
        counts = y.value_counts()
        empty = [c for i, c in enumerate(categories) if counts.get(float(i), 0) == 0]
        if empty:
            one = len(empty) == 1
            problems.append(
                f"{where}, categor{'y' if one else 'ies'} {empty} of the ordinal outcome "
                f"{spec.outcome!r} (categories {list(categories)}) "
                f"{'has' if one else 'have'} no session, so the thresholds beside "
                f"{'it' if one else 'them'} cannot be estimated; merge {'it' if one else 'each'} "
                "with a neighbouring category: map its code to the neighbour's under "
                f"codes.{spec.outcome} and take it out of the outcome's order."
            )
    return problems


def build_model_data(table: pd.DataFrame, spec: ModelSpec, reference: dict[str, Any]) -> ModelData:
    """Build spec's arrays from the canonical table (treatment coding, listwise deletion).

    Categorical predictors (text columns) get one 0/1 column per level other than the
    reference, named `column[level]`; the reference is set in config or else the first level
    in sorted order.
    """
    problems = model_problems(table, spec, reference)
    if problems:
        raise ModelDataError("\n".join(problems))
    used = list(spec.columns)
    missing = table[used].isna()
    dropped = {c: int(n) for c, n in missing.sum().items() if n}
    keep = ~missing.any(axis=1)
    data = table.loc[keep, used].reset_index(drop=True)

    columns, terms = [], []
    for name in spec.predictors:
        col = data[name]
        if pd.api.types.is_numeric_dtype(col):
            columns.append(col.to_numpy(float))
            terms.append(name)
            continue
        levels = _reference_first(col, reference.get(name))
        text = col.astype(str)
        for level in levels[1:]:
            columns.append((text == level).to_numpy(float))
            terms.append(f"{name}[{level}]")
    n = len(data)
    constant = [t for t, c in zip(terms, columns, strict=True) if np.ptp(c) == 0]
    if constant:
        raise ModelDataError(
            f"model {spec.name!r}: {', '.join(constant)} take(s) a single value in the "
            f"{n} complete rows; drop the term from the formula or check its codes."
        )
    if n == 0 or np.ptp(data[spec.outcome].to_numpy(float)) == 0:
        raise ModelDataError(
            f"model {spec.name!r}: the outcome {spec.outcome!r} has no variation in the "
            f"{n} complete rows; nothing can be estimated."
        )
    X = np.column_stack(columns) if columns else np.empty((n, 0))
    y = data[spec.outcome].to_numpy(float)
    kind, categories = outcome_scale(table, spec.outcome)
    if not np.isin(y, np.arange(len(categories))).all():
        raise ModelDataError(
            f"model {spec.name!r}: the {kind} outcome {spec.outcome!r} holds values other than "
            f"0 to {len(categories) - 1} (its categories {list(categories)}); ingest stores it so."
        )

    units, ids = [], []
    for columns_of_key in spec.keys():
        # Nested units: a client is identified within its therapist, as lme4's a/b; a crossed
        # one (the cohort's `crossed:`) by its own id.
        key = joined_ids(data, list(columns_of_key))
        codes, uniques = pd.factorize(key, sort=True)
        units.append(codes.astype(np.int64))
        ids.append(np.asarray([u.rsplit("/", 1)[-1] for u in uniques]))
    try:
        X, terms, parts = decompose(spec, X, terms, units)
        X, terms = with_interactions(spec, X, terms)
    except TermError as error:
        raise ModelDataError(str(error)) from None
    slopes = tuple(
        (group, tuple(t for p in names for t in terms_of(p, terms))) for group, names in spec.slopes
    )
    weights = None
    if spec.weight_by:  # the kept rows of one unit weigh one together
        weights = 1.0 / data.groupby(spec.weight_by)[spec.outcome].transform("size").to_numpy(float)
    return ModelData(
        spec=spec,
        y=y,
        X=X,
        terms=tuple(terms),
        groups=spec.groups,
        unit_of_session=tuple(units),
        unit_ids=tuple(ids),
        dropped=dropped,
        n_dropped=int((~keep).sum()),
        rows=np.flatnonzero(keep.to_numpy()),
        outcome_type=kind,
        categories=categories,
        slopes=slopes,
        parts=parts,
        weights=weights,
    )
