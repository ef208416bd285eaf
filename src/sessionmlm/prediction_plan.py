"""Which predictors the predicted-probability plots vary, and where the others are held.

A cohort's `predictions:` key (config/README.md) may name the model, the numeric predictor on
the x-axis (`x`), up to two 0/1 predictors drawn as separate lines (`lines`) and the value of
any other predictor (`at`). Whatever it leaves out is chosen from the model's data, and the
choice is recorded so the report can say so:

- model: the last model in the cohort file with a predictor;
- x: the numeric predictor with the most distinct values (the first in the formula on a tie);
- lines: the first two 0/1 predictors in the formula;
- every other predictor: its mean over the model's sessions (numeric and 0/1), or its sample
  mix (categorical: each level's column at its share of the model's sessions), so that the
  predictions are at the sample means of every column of the model, as is usual.

Names are checked against the models when the config is loaded (check_setting); whether a
column really is numeric, 0/1 or categorical is known only from the ingested data, so the fit
job checks that (plan_predictions) and records a problem instead of drawing wrong plots.
This module needs only numpy, so the config can import it.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sessionmlm.formula import ModelSpec

MAX_LINES = 2  # 2 ** 2 = 4 lines per plot: more would not be readable
MAX_INTEGER_STEPS = 40  # an integer x with a wider range is drawn at GRID_POINTS points
GRID_POINTS = 21


@dataclass(frozen=True)
class PredictionSetting:
    """A cohort's `predictions:` key as checked at config load; None where it says nothing.

    model is always resolved (the default filled in) unless no model has a predictor;
    model_by_default says whether the file named it. where is the cohort file, for messages.
    also names the models of the cohort's other outcomes with model's predictors and levels:
    the same setting gives their predictions (each category's, for an ordinal outcome), and
    same_as, in the setting one of them is handed, names the model it follows.
    """

    where: str = ""
    model: str | None = None
    model_by_default: bool = True
    x: str | None = None
    lines: tuple[str, ...] | None = None
    at: dict[str, Any] = field(default_factory=dict)
    also: tuple[str, ...] = ()
    same_as: str | None = None

    def for_model(self, model: str) -> dict[str, Any] | None:
        """The setting as plain values for the fit job of `model`; None for any other model.

        Plain values, because Snakemake records only built-in types as params: editing the
        key then reruns exactly the fits of the predictions model.
        """
        if model in self.also:
            return self._plain() | {"model": model, "also": [], "same_as": self.model}
        return self._plain() if model == self.model else None

    def _plain(self) -> dict[str, Any]:
        return {
            "where": self.where,
            "model": self.model,
            "model_by_default": self.model_by_default,
            "x": self.x,
            "lines": None if self.lines is None else list(self.lines),
            "at": dict(self.at),
            "also": list(self.also),
            "same_as": self.same_as,
        }

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> PredictionSetting:
        """Rebuild a setting from for_model's plain values."""
        lines = params.get("lines")
        return cls(**(params | {"lines": None if lines is None else tuple(lines),
                                "also": tuple(params.get("also", ()))}))  # fmt: skip


def check_setting(
    raw: dict[str, Any] | None,
    models: dict[str, ModelSpec],
    declared: dict[str, dict[str, Any]],
    where: str,
    ordinal: set[str] = frozenset(),
) -> tuple[PredictionSetting, list[str]]:
    """Check the names a `predictions:` key uses against the cohort's models.

    declared is the cohort's `variables:` (a column declared categorical cannot be an x-axis
    or a line); ordinal names the models of an ordinal outcome, never the default (a binary
    model's is, and an ordinal model with its predictors follows it: `also`). Returns the
    setting with its model resolved, and one message per problem.
    """
    raw = raw or {}
    with_predictors = [n for n, spec in models.items() if spec.predictors and n not in ordinal]
    with_predictors = with_predictors or [n for n, spec in models.items() if spec.predictors]
    model = raw.get("model", with_predictors[-1] if with_predictors else None)
    main = models.get(model)
    also = () if main is None else tuple(
        n for n, spec in models.items()
        if spec.outcome != main.outcome and spec.groups == main.groups
        and sorted(spec.predictors) == sorted(main.predictors)
    )  # fmt: skip
    setting = PredictionSetting(
        where=where,
        model=model,
        model_by_default="model" not in raw,
        x=raw.get("x"),
        lines=None if "lines" not in raw else tuple(raw["lines"]),
        at=dict(raw.get("at", {})),
        also=also,
    )
    if model is None or not raw:
        return setting, []
    if model not in models:
        return setting, [
            f"{where}: predictions.model: no model {model!r}; models: {', '.join(models)}."
        ]
    predictors = models[model].predictors
    valid = f"the predictors of model {model!r} are {', '.join(predictors) or 'none'}"
    problems = []
    named = [("predictions.x", setting.x)] if setting.x is not None else []
    named += [("predictions.lines", name) for name in setting.lines or ()]
    named += [(f"predictions.at.{name}", name) for name in setting.at]
    for key, name in named:
        if name not in predictors:
            problems.append(f"{where}: {key}: {name!r} is not in the model; {valid}.")
    varied = ([setting.x] if setting.x else []) + list(setting.lines or ())
    if len(set(varied)) < len(varied):
        problems.append(f"{where}: predictions: {setting.x!r} is both the x-axis and a line.")
    for name in setting.at:
        if name in varied:
            problems.append(
                f"{where}: predictions.at.{name}: {name!r} is varied (x or lines), so it "
                "cannot also be held at a value; remove one of them."
            )
    for key, name in named[: len(varied)]:
        if declared.get(name, {}).get("type") == "categorical":
            problems.append(
                f"{where}: {key}: {name!r} is declared categorical (variables.{name}); the "
                "x-axis needs a numeric predictor and a line a 0/1 one."
            )
    for name, value in setting.at.items():
        if declared.get(name, {}).get("type") == "numeric" and not isinstance(value, int | float):
            problems.append(
                f"{where}: predictions.at.{name}: {value!r} is not a number, and {name!r} is "
                "declared numeric."
            )
    return setting, problems


class PredictionProblem(ValueError):
    """The predictions asked for (or the defaults) do not fit the model's data."""


@dataclass(frozen=True)
class PredictionPlan:
    """What the predicted probabilities vary and hold, ready to build model rows.

    how says, for "model", "x", "lines" and each held predictor, whether the cohort file set
    it or how the default was chosen: the report shows it.
    """

    model: str
    x: str
    x_values: tuple[float, ...]
    lines: tuple[str, ...]
    held: dict[str, float | str | dict[str, float]]  # a number; a level; or each level's share
    how: dict[str, str]
    # A predictor split into within/between parts varies within its unit: its within part is
    # its value minus its mean (centres[predictor]); its between parts stay at their means.
    within: dict[str, str] = field(default_factory=dict)  # within part's term -> predictor
    centres: dict[str, float] = field(default_factory=dict)

    def line_settings(self) -> list[dict[str, int]]:
        """Every combination of 0 and 1 over the lines (one empty setting when there are none)."""
        return [dict(zip(self.lines, values, strict=True))
                for values in itertools.product((0, 1), repeat=len(self.lines))]  # fmt: skip

    def model_rows(self, terms: list[str], line_setting: dict[str, int]) -> np.ndarray:
        """Rows of X (A, P): one per x value, columns in the order of terms.

        terms are the fit's ("Intercept" first, categorical levels as `name[level]`).
        """
        rows = np.empty((len(self.x_values), len(terms)))
        for j, term in enumerate(terms):
            rows[:, j] = self._column(term, line_setting)
        return rows

    def _column(self, term: str, line_setting: dict[str, int]) -> np.ndarray | float:
        """One column of the model rows: a term's value at each x value."""
        name, level = term[:-1].split("[", 1) if term.endswith("]") else (term, None)
        if term == "Intercept":
            return 1.0
        if ":" in term:  # an interaction: the product of its parts' values
            parts = [self._column(t, line_setting) for t in term.split(":")]
            return np.prod(np.broadcast_arrays(*parts), axis=0)
        if term in self.within:
            return self._column(self.within[term], line_setting) - self.centres[self.within[term]]
        if term in self.centres and term not in self.within.values():  # a between part
            return self.centres[term]
        if term == self.x:
            return np.asarray(self.x_values)
        if term in line_setting:
            return float(line_setting[term])
        if level is not None and isinstance(self.held.get(name), dict):
            return self.held[name][level]  # the level's share of the sessions
        if level is not None and name in self.held:
            return float(str(self.held[name]) == level)
        if level is None and term in self.held:
            return float(self.held[term])
        raise ValueError(f"the plan for model {self.model!r} gives no value for {term!r}")

    def record(self) -> dict[str, Any]:
        """The plan as fit.json's `predicted_for`."""
        return {
            "model": self.model,
            "x": self.x,
            "x_values": list(self.x_values),
            "lines": list(self.lines),
            "held": dict(self.held),
            "how": dict(self.how),
            "within": dict(self.within),
            "centres": dict(self.centres),
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> PredictionPlan:
        """Read back record()."""
        return cls(
            model=record["model"],
            x=record["x"],
            x_values=tuple(record["x_values"]),
            lines=tuple(record["lines"]),
            held=dict(record["held"]),
            how=dict(record["how"]),
            within=dict(record.get("within", {})),
            centres=dict(record.get("centres", {})),
        )


def _kinds(data: Any, reference_levels: dict[str, str]) -> dict[str, tuple[str, Any]]:
    """Each predictor of the model: ("numeric" | "binary", its column) or ("categorical", levels).

    Categorical levels are the reference first, then the others as the model data named them.
    """
    kinds = {}
    parts = dict(data.parts)
    for name in data.spec.predictors:
        if name in parts:  # split into within/between parts, which add up to it
            column = data.X[:, [data.terms.index(t) for t in parts[name]]].sum(axis=1)
            binary = set(np.unique(column)) <= {0.0, 1.0}
            kinds[name] = ("binary" if binary else "numeric", column)
        elif name in data.terms:
            column = data.X[:, data.terms.index(name)]
            binary = set(np.unique(column)) <= {0.0, 1.0}
            kinds[name] = ("binary" if binary else "numeric", column)
        else:
            others = [t[len(name) + 1 : -1] for t in data.terms if t.startswith(name + "[")]
            kinds[name] = ("categorical", [reference_levels.get(name, "the reference"), *others])
    return kinds


def _shares(data: Any, name: str, levels: list[str]) -> dict[str, float]:
    """Each non-reference level's share of the model's sessions (its column's mean)."""
    return {
        level: float(data.X[:, data.terms.index(f"{name}[{level}]")].mean()) for level in levels
    }


def x_grid(column: np.ndarray) -> tuple[float, ...]:
    """The x values to predict at: every integer over an integer column's range, else a grid."""
    low, high = float(column.min()), float(column.max())
    if np.all(column == np.round(column)) and high - low <= MAX_INTEGER_STEPS:
        return tuple(float(v) for v in np.arange(low, high + 1))
    return tuple(float(v) for v in np.linspace(low, high, GRID_POINTS))


def plan_predictions(
    setting: PredictionSetting, data: Any, reference_levels: dict[str, str]
) -> PredictionPlan:
    """Choose what the predictions of a model vary and hold, from the setting and the data.

    data is the model_data.ModelData of the setting's model; reference_levels names each
    categorical predictor's reference level. Raises PredictionProblem saying what to change
    when the setting asks for something the data cannot give, or no x-axis can be found.
    """
    where = setting.where
    kinds = _kinds(data, reference_levels)
    numeric = [n for n, (k, _) in kinds.items() if k == "numeric"]
    binary = [n for n, (k, _) in kinds.items() if k == "binary"]
    how = {"model": "chosen by default: the last model with a predictor"}
    if not setting.model_by_default:
        how["model"] = f"set in {where}"
    if setting.same_as is not None:
        how["model"] = (f"the predictors of {setting.same_as}, for another outcome: its "
                        "choices apply here too")  # fmt: skip
    if setting.x is not None:
        if setting.x not in numeric:
            raise PredictionProblem(
                f"{where}: predictions.x: {setting.x!r} is {kinds[setting.x][0]} in the data; the "
                f"x-axis needs a numeric predictor with more than two values: "
                f"{', '.join(numeric) or 'the model has none'}."
            )
        x, how["x"] = setting.x, f"set in {where}"
    elif numeric:
        # Most distinct values makes the smoothest curve; max keeps formula order on a tie.
        x = max(numeric, key=lambda n: len(np.unique(kinds[n][1])))
        how["x"] = "chosen by default: the numeric predictor with the most distinct values"
    else:
        raise PredictionProblem(
            f"model {data.spec.name!r} has no numeric predictor with more than two values to "
            f"put on the x-axis (its predictors: {', '.join(kinds) or 'none'}); predicted "
            f"probabilities need one. Name another model under predictions.model in {where}."
        )
    if setting.lines is not None:
        wrong = [n for n in setting.lines if n not in binary]
        if wrong:
            raise PredictionProblem(
                f"{where}: predictions.lines: {', '.join(map(repr, wrong))} not 0/1 in the data; "
                f"lines need 0/1 predictors: {', '.join(binary) or 'the model has none'}."
            )
        lines, how["lines"] = tuple(setting.lines), f"set in {where}"
    else:
        lines = tuple(n for n in binary if n != x)[:MAX_LINES]
        how["lines"] = f"chosen by default: the first {MAX_LINES} 0/1 predictors in the formula"
    held: dict[str, float | str] = {}
    for name, (kind, values) in kinds.items():
        if name == x or name in lines:
            continue
        if name in setting.at:
            value = setting.at[name]
            if kind == "categorical" and str(value) not in values:
                raise PredictionProblem(
                    f"{where}: predictions.at.{name}: {value!r} is not a level of {name!r}; "
                    f"levels: {', '.join(values)}."
                )
            if kind != "categorical" and not isinstance(value, int | float):
                raise PredictionProblem(
                    f"{where}: predictions.at.{name}: {value!r} is not a number, and {name!r} "
                    f"is {kind}; give a number (its mean is {values.mean():.3g})."
                )
            held[name] = str(value) if kind == "categorical" else float(value)
            how[name] = f"set in {where}"
        elif kind == "categorical":
            held[name] = _shares(data, name, values[1:])
            how[name] = "by default: its sample mix (each level at its share)"
        else:
            held[name], how[name] = float(values.mean()), "by default: its mean"
    x_values = x_grid(kinds[x][1])
    within, centres = {}, {}
    for name, terms in data.parts:
        within[terms[0]] = name
        centres[name] = float(kinds[name][1].mean())
        centres |= {t: float(data.X[:, data.terms.index(t)].mean()) for t in terms[1:]}
        how[name] = (
            f"{how.get(name, 'varied')}; split into within and between parts, it varies "
            f"within the {data.groups[-1]}, its averages held at the sample's"
        )
    return PredictionPlan(data.spec.name, x, x_values, lines, held, how, within, centres)
