"""Keyed pseudonyms for raw ids: the canonical table and every output carry these only.

A pseudonym is an HMAC-SHA256 of the level and the raw id under a secret key that stays out of
the results (an environment variable, else a local key file created once).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from pathlib import Path

import numpy as np
import pandas as pd

from sessionmlm.privacy import Privacy

log = logging.getLogger(__name__)


def pseudonym_key(privacy: Privacy) -> bytes:
    """The secret key for pseudonyms: from the environment, else a local key file (created once)."""
    from_env = os.environ.get(privacy.key_env)
    if from_env:
        return from_env.encode()
    key_file = Path(privacy.key_file)
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32) + "\n")
        key_file.chmod(0o600)
        log.warning(
            "created a new pseudonym key in %s; keep it private and keep it to get the same "
            "pseudonyms on later runs (or set %s)",
            key_file,
            privacy.key_env,
        )
    return key_file.read_text().strip().encode()


def pseudonymise(values: pd.Series, level: str, key: bytes) -> pd.Series:
    """Replace raw ids by keyed hashes (HMAC-SHA256), stable for a given key and level."""
    prefix = level[:1].upper()
    codes, uniques = pd.factorize(values)  # hash each distinct id once
    # HMAC(key, "level:raw"): the keyed state after "level:" is computed once and copied.
    start = hmac.new(key, f"{level}:".encode(), hashlib.sha256)

    def digest(raw: str) -> str:
        state = start.copy()
        state.update(raw.encode())
        return f"{prefix}-{state.hexdigest()[:12]}"

    hashed = np.array([digest(str(raw)) for raw in uniques.tolist()], dtype=object)
    return pd.Series(hashed[codes], index=values.index, dtype="string").where(codes >= 0)
