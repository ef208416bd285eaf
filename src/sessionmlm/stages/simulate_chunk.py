"""Stage `simulate_chunk`: simulate and fit one chunk of a design's replicates at a grid point."""

from __future__ import annotations

import logging

from sessionmlm import atomic
from sessionmlm.designs import Design
from sessionmlm.replicates import simulate_chunk

log = logging.getLogger(__name__)


def run_simulate_chunk(design: Design, point: int, chunk: int, out: str) -> None:
    """Simulate and fit one chunk of a design's replicates."""
    first, stop = design.chunks()[chunk]
    log.info(
        "design %s, grid point %d %s: replicates %d to %d",
        design.name, point + 1, design.points[point], first + 1, stop,
    )  # fmt: skip
    table = simulate_chunk(design, point, first, stop)
    atomic.write_text(out, table.to_csv(index=False, float_format="%.10g"))
