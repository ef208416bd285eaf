"""Parse lme4-style model formulas into a frozen model specification.

Supported: an outcome, fixed main effects, an intercept (implicit or `1`), interactions
(`a:b`, or `a*b` for `a + b + a:b`), nested random intercepts `(1 | program/therapist/client)`
or `(1 | therapist) + (1 | client)`, and correlated random slopes on one grouping factor,
`(1 + x | therapist)`. Anything else (transformations, code, slopes without an
intercept) is refused with a message: a formula is parsed, never evaluated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_TOKEN = re.compile(rf"\s*(?:(?P<name>{NAME})|(?P<num>\d+)|(?P<op>[~+()|/:*]))")


class FormulaError(ValueError):
    """A formula that cannot be parsed or uses something that is not supported."""


@dataclass(frozen=True)
class ModelSpec:
    """What a model says, independent of any engine.

    groups lists the random-intercept grouping factors outermost first, e.g.
    ("therapist", "client") for `(1 | therapist/client)`. interactions holds each `a:b` term as
    its predictors; slopes each grouping factor with random slopes and their predictors, e.g.
    (("therapist", ("x",)),). The cohort file adds the rest: within_between
    names predictors split into within- and between-unit parts, and unit_keys gives, per
    group, the level columns that together identify one of its units (() means each group
    within the one before it, as `therapist/client`). weight_by names a column whose units'
    rows together weigh one in the likelihood (each of a session's m codes 1/m: all_codes.py);
    "" weighs every row one.
    """

    name: str
    formula: str
    outcome: str
    predictors: tuple[str, ...]
    groups: tuple[str, ...]
    interactions: tuple[tuple[str, ...], ...] = ()
    slopes: tuple[tuple[str, tuple[str, ...]], ...] = ()
    within_between: tuple[str, ...] = ()
    unit_keys: tuple[tuple[str, ...], ...] = ()
    weight_by: str = ""

    @property
    def columns(self) -> tuple[str, ...]:
        """Every canonical column the model reads."""
        keys = [c for key in self.unit_keys for c in key if c not in self.groups]
        keys += [self.weight_by] if self.weight_by and self.weight_by not in self.groups else []
        return (self.outcome, *self.predictors, *self.groups, *dict.fromkeys(keys))

    @property
    def crossed(self) -> bool:
        """Whether some group's units are not nested in the group before it."""
        return any(self.groups[k - 1] not in key for k, key in enumerate(self.unit_keys) if k > 0)

    def keys(self) -> tuple[tuple[str, ...], ...]:
        """Per group, the columns identifying one of its units (chained when not given)."""
        if self.unit_keys:
            return self.unit_keys
        return tuple(self.groups[: k + 1] for k in range(len(self.groups)))


def _tokens(text: str, formula: str) -> list[tuple[str, str]]:
    tokens, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            bad = text[pos:].strip()[:20]
            raise FormulaError(
                f"formula {formula!r}: cannot read {bad!r}. Formulas may hold column names, "
                "'~', '+', ':', '*', '1' and random effects such as (1 | therapist/client) "
                "or (1 + x | therapist)."
            )
        kind = match.lastgroup
        tokens.append((kind, match.group(kind)))
        pos = match.end()
    return tokens


def parse_formula(formula: str, name: str = "model") -> ModelSpec:
    """Parse `outcome ~ terms + (1 | groups)` into a ModelSpec.

    Raises FormulaError naming the offending part and what is allowed.
    """
    if not isinstance(formula, str) or formula.count("~") != 1:
        raise FormulaError(
            f"model {name!r}: formula {formula!r} must have exactly one '~', "
            "e.g. 'outcome ~ predictor + (1 | outer/inner)'"
        )
    lhs, rhs = formula.split("~")
    lhs_tokens = _tokens(lhs, formula)
    if len(lhs_tokens) != 1 or lhs_tokens[0][0] != "name":
        raise FormulaError(
            f"model {name!r}: the left of '~' in {formula!r} must be one outcome column"
        )
    predictors: list[str] = []
    interactions: list[tuple[str, ...]] = []
    groups: list[str] = []
    slopes: list[tuple[str, tuple[str, ...]]] = []

    def add_predictor(term: str) -> None:
        if term in predictors:
            raise FormulaError(f"model {name!r}: term {term!r} appears twice")
        predictors.append(term)

    def add_interaction(parts: tuple[str, ...]) -> None:
        if len(set(parts)) != len(parts):
            raise FormulaError(f"model {name!r}: {':'.join(parts)!r} repeats a predictor")
        if any(set(parts) == set(other) for other in interactions):
            raise FormulaError(f"model {name!r}: interaction {':'.join(parts)!r} appears twice")
        interactions.append(parts)

    for term in _split_terms(_tokens(rhs, formula), formula, name):
        text = " ".join(value for _, value in term)
        if term == [("num", "1")]:
            continue
        if term == [("num", "0")]:
            raise FormulaError(
                f"model {name!r}: models without an intercept ('0') are not supported"
            )
        if term[0] == ("op", "("):
            found, slope = _random_term(term, formula, name)
            for group in found:
                if group in groups:
                    raise FormulaError(f"model {name!r}: grouping {group!r} appears twice")
                groups.append(group)
            if slope:
                slopes.append((found[0], slope))
            continue
        parts, ops = _product(term, text, formula, name)
        if len(parts) == 1:
            add_predictor(parts[0])
        elif set(ops) == {":"}:
            add_interaction(tuple(parts))
        elif set(ops) == {"*"} and len(parts) == 2:
            for part in parts:
                if part not in predictors:
                    add_predictor(part)
            add_interaction(tuple(parts))
        else:
            raise FormulaError(
                f"model {name!r}: {text!r}: write a two-way product as a*b, or the "
                "interaction alone as a:b (a:b:c for more); mixing ':' and '*' is not supported"
            )
    missing = sorted({p for parts in interactions for p in parts} - set(predictors))
    missing += sorted({p for _, ps in slopes for p in ps} - set(predictors) - set(missing))
    if missing:
        raise FormulaError(
            f"model {name!r}: {', '.join(map(repr, missing))} appear(s) in an interaction or a "
            "random slope but not as a main effect; add them to the formula (a*b adds both)"
        )
    overlap = set(predictors) & set(groups)
    if overlap:
        raise FormulaError(
            f"model {name!r}: {sorted(overlap)} is both a predictor and a grouping factor"
        )
    return ModelSpec(
        name=name,
        formula=formula.strip(),
        outcome=lhs_tokens[0][1],
        predictors=tuple(predictors),
        groups=tuple(groups),
        interactions=tuple(interactions),
        slopes=tuple(slopes),
    )


def _product(term, text, formula, name) -> tuple[list[str], list[str]]:
    """Read `a`, `a:b:c` or `a*b` into its names and operators."""
    names = [value for i, (kind, value) in enumerate(term) if i % 2 == 0 and kind == "name"]
    ops = [value for i, (_, value) in enumerate(term) if i % 2 == 1]
    if len(names) != (len(term) + 1) // 2 or len(term) % 2 == 0 or set(ops) - {":", "*"}:
        raise FormulaError(
            f"model {name!r}: term {text!r} in {formula!r} is not supported; use column "
            "names joined by '+', interactions such as a:b or a*b (transformations belong "
            "in the data)"
        )
    return names, ops


def _split_terms(tokens, formula, name):
    """Split tokens on top-level '+' signs."""
    terms, current, depth = [], [], 0
    for token in tokens:
        if token == ("op", "("):
            depth += 1
        elif token == ("op", ")"):
            depth -= 1
            if depth < 0:
                raise FormulaError(f"model {name!r}: unbalanced ')' in {formula!r}")
        if token == ("op", "+") and depth == 0:
            if not current:
                raise FormulaError(f"model {name!r}: empty term in {formula!r}")
            terms.append(current)
            current = []
        else:
            current.append(token)
    if depth != 0:
        raise FormulaError(f"model {name!r}: unbalanced '(' in {formula!r}")
    if not current:
        raise FormulaError(f"model {name!r}: {formula!r} ends without a term")
    terms.append(current)
    return terms


def _random_term(term, formula, name) -> tuple[list[str], tuple[str, ...]]:
    """Read `( 1 | a / b / c )` or `( 1 + x | a )`: the groups and the slope predictors."""
    values = [value for _, value in term]
    text = " ".join(values)
    if values[-1] != ")" or values.count("|") != 1:
        raise FormulaError(
            f"model {name!r}: cannot read {text!r} in {formula!r}; write random effects "
            "as (1 | therapist/client) or (1 + x | therapist)"
        )
    bar = values.index("|")
    effects, inner = term[1:bar], term[bar + 1 : -1]
    slope: list[str] = []
    if effects and effects[0] == ("num", "1"):
        effects = effects[1:]
    elif effects and effects[0][0] == "name":
        effects = [("op", "+"), *effects]  # (x | g) is (1 + x | g), as in lme4
    else:
        raise FormulaError(
            f"model {name!r}: {text!r} in {formula!r} is not supported; random effects "
            "start with the intercept, as (1 | therapist) or (1 + x | therapist)"
        )
    for i, (kind, value) in enumerate(effects):
        expected = "+" if i % 2 == 0 else "name"
        if (expected == "+" and value != "+") or (expected == "name" and kind != "name"):
            raise FormulaError(
                f"model {name!r}: cannot read the random slopes in {text!r}; write them as "
                "(1 + x | therapist): predictor names joined by '+'"
            )
        if kind == "name":
            slope.append(value)
    if len(effects) % 2 == 1:
        raise FormulaError(f"model {name!r}: random effects in {text!r} end with '+'")
    groups = []
    for i, (kind, value) in enumerate(inner):
        expected = "name" if i % 2 == 0 else "/"
        if (expected == "name" and kind != "name") or (expected == "/" and value != "/"):
            raise FormulaError(
                f"model {name!r}: cannot read the grouping in {text!r}; "
                "write (1 | therapist/client) or (1 | client)"
            )
        if kind == "name":
            groups.append(value)
    if not inner or len(inner) % 2 == 0:
        raise FormulaError(f"model {name!r}: grouping in {text!r} is empty or ends with '/'")
    if slope and len(groups) > 1:
        raise FormulaError(
            f"model {name!r}: {text!r}: random slopes go on one grouping factor; write "
            f"(1 + {' + '.join(slope)} | {groups[0]}) + (1 | {groups[-1]}) for example"
        )
    if len(set(slope)) != len(slope):
        raise FormulaError(f"model {name!r}: {text!r} repeats a random slope")
    return groups, tuple(slope)
