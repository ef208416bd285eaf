"""Atomic outputs: a write that dies halfway leaves the old file (or none), never a part."""

from __future__ import annotations

import pytest

from sessionmlm import atomic


def test_a_failed_write_leaves_the_previous_file_and_no_partial(tmp_path):
    target = tmp_path / "estimates.csv"
    atomic.write_text(target, "complete\n")
    with pytest.raises(RuntimeError), atomic.atomic(target) as temporary:
        temporary.write_text("half of a new ver")
        raise RuntimeError("killed while writing")
    assert target.read_text() == "complete\n"
    assert [p.name for p in tmp_path.iterdir()] == ["estimates.csv"]


def test_a_new_file_appears_only_when_complete(tmp_path):
    target = tmp_path / "fit.json"
    with atomic.atomic(target) as temporary:
        temporary.write_text("{}")
        assert not target.exists() and temporary.name.startswith(".fit.json.")
    assert target.read_text() == "{}"
