"""Privacy: the pseudonym key's sources and the small-cell rule, in one place.

`Privacy` is the `privacy:` section of config/config.yaml, built once when the config loads
and passed whole to every job that needs it. Its field defaults are the only place the
defaults are written: config/config.yaml lists them commented out, config/README.md
documents them (a test checks both agree with this class).

The small-cell rule: a count of 1 to min_cell - 1 units is small and never shown (0 is shown:
it points at nobody). A rate shows both of its counts, and a rate of 0 or 1 says that every
unit in the group lacks or has the outcome, so a rate is shown only when both of its counts
are at least min_cell.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any


@dataclass(frozen=True)
class Privacy:
    """How ids are pseudonymised and which counts are suppressed."""

    key_env: str = "SESSIONMLM_KEY"  # environment variable holding the pseudonym key
    key_file: str = ".sessionmlm_key"  # key file used when that variable is unset
    min_cell: int = 11  # counts from 1 to min_cell - 1 are suppressed

    @classmethod
    def from_config(cls, section: dict[str, Any] | None) -> Privacy:
        """Build from the config's `privacy:` mapping (already checked by the schema).

        Raises ValueError naming an unknown key and listing the valid ones.
        """
        section = section or {}
        valid = sorted(f.name for f in fields(cls))
        unknown = sorted(set(section) - set(valid))
        if unknown:
            raise ValueError(
                f"privacy: unknown key(s) {', '.join(unknown)}; valid keys: {', '.join(valid)}"
            )
        return cls(**section)


def is_small(count: int, min_cell: int) -> bool:
    """Whether a count must not be shown: from 1 to min_cell - 1."""
    return 0 < count < min_cell


def suppress(count: int, min_cell: int) -> dict[str, Any]:
    """A count as a report cell: {"n": count, "suppressed": False}, or n None when small."""
    if is_small(count, min_cell):
        return {"n": None, "suppressed": True}
    return {"n": int(count), "suppressed": False}


def rate_shown(positives: int, total: int, min_cell: int) -> bool:
    """Whether an observed rate may be shown: at least min_cell units with and without."""
    return min(positives, total - positives) >= min_cell
