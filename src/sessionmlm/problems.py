"""Validation records: each problem says where it is, how often, and what to change.

Problems stop a cohort; warnings are listed and do not; quirks are export oddities that were
read unambiguously and are recorded so the user can see what was done to their file.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sessionmlm.errors import UserError

SHOW_ROWS = 5  # file lines quoted per problem; the count says how many more


@dataclass(frozen=True)
class Problem:
    """One validation problem (or warning): where it is, how often, and what to change."""

    file: str
    column: str
    rows: tuple[int, ...]  # file line numbers (header is line 1), first few
    count: int
    message: str
    fix: str

    def __str__(self) -> str:
        if not self.rows:  # about the whole cohort, not particular rows
            return f"{self.file}: column {self.column!r}: {self.message}. {self.fix}"
        rows = ", ".join(str(r) for r in self.rows)
        more = f" and {self.count - len(self.rows)} more" if self.count > len(self.rows) else ""
        return (
            f"{self.file}: column {self.column!r}, rows {rows}{more} ({self.count} in all): "
            f"{self.message}. {self.fix}"
        )

    def to_dict(self) -> dict:
        """JSON-ready form, with the sentence a person reads."""
        return {**self.__dict__, "rows": list(self.rows), "text": str(self)}


@dataclass(frozen=True)
class Quirk:
    """An export oddity read without ambiguity (a byte-order mark, codes written as 1.0)."""

    file: str
    column: str  # "" for the whole file
    count: int  # cells (or lines) affected
    what: str

    def __str__(self) -> str:
        where = f"column {self.column!r}" if self.column else "the file"
        return f"{self.file}: {where}: {self.what} ({self.count} cell(s))"


@dataclass
class Validation:
    """Everything validation found in one cohort."""

    cohort: str
    file: str
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    quirks: list[Quirk] = field(default_factory=list)
    variables: dict[str, dict] = field(default_factory=dict)  # name -> variables.Variable dict

    @property
    def ok(self) -> bool:
        """True when nothing stops the cohort."""
        return not self.problems

    def to_dict(self) -> dict:
        """JSON-ready form written to validation.json."""
        return {
            "cohort": self.cohort,
            "file": self.file,
            "ok": self.ok,
            "problems": [p.to_dict() for p in self.problems],
            "warnings": [w.to_dict() for w in self.warnings],
            "quirks": [{**q.__dict__, "text": str(q)} for q in self.quirks],
            "variables": self.variables,
        }


class ValidationError(UserError):
    """The cohort's data cannot be modelled; the message lists every problem."""

    def __init__(self, validation: Validation):
        self.validation = validation
        lines = "\n".join(f"- {p}" for p in validation.problems)
        super().__init__(
            f"cohort {validation.cohort!r}: {len(validation.problems)} problem(s) in "
            f"{validation.file}:\n{lines}"
        )
