"""Progress lines while nutpie samples: draws done, divergences so far, time left."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from sessionmlm.progress import Ticker, seconds_text

log = logging.getLogger(__name__)

# How often nutpie hands its chains' state to the callback (and redraws its bar on a tty), ms.
CALLBACK_MS = 250


@dataclass(frozen=True)
class ChainState:
    """What nutpie.ChainProgress tells of one chain (nutpie 0.16's progress_callback)."""

    finished_draws: int  # warm-up draws included
    total_draws: int  # tune + draws
    divergences: int  # after warm-up only: nutpie counts a divergence once tuning is over
    tuning: bool


def sampling_line(chains: Sequence[ChainState], elapsed: float) -> str:
    """One line on all chains, e.g. 'sampling (warm-up): 2,400 of 9,200 draws ...'.

    Time left is the draws still to do at the rate so far; warm-up draws are often slower
    (the step size is still being found), so early in warm-up it tends to run high.
    """
    done = sum(c.finished_draws for c in chains)
    total = sum(c.total_draws for c in chains)
    warming = any(c.tuning for c in chains)
    phase = "warm-up" if warming else "draws after warm-up"
    if warming:
        divergences = "divergences are counted after warm-up"
    else:
        divergences = f"{sum(c.divergences for c in chains):,} divergences so far"
    if done and elapsed > 0:
        left = seconds_text((total - done) / (done / elapsed))
        left = f"{left} left" if left.startswith("under") else f"about {left} left"
    else:
        left = "time left not known yet"
    return (
        f"sampling ({phase}): {done:,} of {total:,} draws ({len(chains)} chains, warm-up "
        f"counted), {divergences}, {left}"
    )


class SamplingProgress:
    """nutpie's progress_callback: logs sampling_line when a line is due.

    nutpie calls it from its own thread every CALLBACK_MS; logging is thread-safe.
    """

    def __init__(self) -> None:
        self.ticker = Ticker()
        self.least_finished = 0  # the fewest draws any chain has done, warm-up counted

    def __call__(self, chains) -> None:
        """chains: nutpie.ChainProgress, one per chain."""
        self.least_finished = min((c.finished_draws for c in chains), default=0)
        if not self.ticker.due():
            return
        states = [
            ChainState(c.finished_draws, c.total_draws, c.divergences, c.tuning) for c in chains
        ]
        log.info("%s", sampling_line(states, self.ticker.elapsed()))
