"""Parse lme4-style model formulas into a frozen model specification.

Supported: an outcome, fixed main effects, an intercept (implicit or `1`),
and random intercepts written `(1 | therapist/client)`, `(1 | therapist) + (1 | client)` or
`(1 | client)`. Anything else (slopes, interactions, transformations, code) is refused with a
message: a formula is parsed, never evaluated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_TOKEN = re.compile(rf"\s*(?:(?P<name>{NAME})|(?P<num>\d+)|(?P<op>[~+()|/]))")


class FormulaError(ValueError):
    """A formula that cannot be parsed or uses something that is not supported."""


@dataclass(frozen=True)
class ModelSpec:
    """What a model says, independent of any engine.

    groups lists the random-intercept grouping factors outermost first, e.g.
    ("therapist", "client") for `(1 | therapist/client)`.
    """

    name: str
    formula: str
    outcome: str
    predictors: tuple[str, ...]
    groups: tuple[str, ...]

    @property
    def columns(self) -> tuple[str, ...]:
        """Every canonical column the model reads."""
        return (self.outcome, *self.predictors, *self.groups)


def _tokens(text: str, formula: str) -> list[tuple[str, str]]:
    tokens, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            bad = text[pos:].strip()[:20]
            raise FormulaError(
                f"formula {formula!r}: cannot read {bad!r}. Formulas may hold column names, "
                "'~', '+', '1', '0' and random intercepts such as (1 | therapist/client)."
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
    tokens = _tokens(rhs, formula)
    predictors: list[str] = []
    groups: list[str] = []
    for term in _split_terms(tokens, formula, name):
        if term == [("num", "1")]:
            continue
        if term == [("num", "0")]:
            raise FormulaError(
                f"model {name!r}: models without an intercept ('0') are not supported"
            )
        if len(term) == 1 and term[0][0] == "name":
            if term[0][1] in predictors:
                raise FormulaError(f"model {name!r}: term {term[0][1]!r} appears twice")
            predictors.append(term[0][1])
        elif term[0] == ("op", "("):
            for group in _random_intercept(term, formula, name):
                if group in groups:
                    raise FormulaError(f"model {name!r}: grouping {group!r} appears twice")
                groups.append(group)
        else:
            text = " ".join(value for _, value in term)
            raise FormulaError(
                f"model {name!r}: term {text!r} in {formula!r} is not supported; use column "
                "names joined by '+' (interactions and transformations belong in the data)"
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
    )


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


def _random_intercept(term, formula, name):
    """Read `( 1 | a / b / c )` and return (a, b, c)."""
    values = [value for _, value in term]
    if len(values) < 5 or values[1] != "1" or values[2] != "|" or values[-1] != ")":
        text = " ".join(values)
        raise FormulaError(
            f"model {name!r}: {text!r} in {formula!r} is not supported; only random "
            "intercepts such as (1 | therapist/client) are (random slopes are not)"
        )
    inner = term[3:-1]
    groups = []
    for i, (kind, value) in enumerate(inner):
        expected = "name" if i % 2 == 0 else "/"
        if (expected == "name" and kind != "name") or (expected == "/" and value != "/"):
            raise FormulaError(
                f"model {name!r}: cannot read the grouping in {' '.join(values)!r}; "
                "write (1 | therapist/client) or (1 | client)"
            )
        if kind == "name":
            groups.append(value)
    if len(inner) % 2 == 0:
        raise FormulaError(f"model {name!r}: grouping in {' '.join(values)!r} ends with '/'")
    return groups
