"""How often a long fit says where it is: one progress line at most every INTERVAL_SECONDS.

The lines are log records of the engine's logger, so a workflow job writes them to its log
file and to the terminal (stages/job.py, setup_logging). A fit shorter than the interval
prints none; its closing line (the bayes attempt line, the ml profile lines) says the totals.
"""

from __future__ import annotations

import time

INTERVAL_SECONDS = 5.0


class Ticker:
    """Says when the next progress line is due, from the time it was made.

    Reads INTERVAL_SECONDS when made, so a test can lower it for the fits it starts.
    """

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.interval = INTERVAL_SECONDS
        self._next = self.start + self.interval

    def due(self) -> bool:
        """True at most once per interval: a perf_counter call and a comparison otherwise."""
        now = time.perf_counter()
        if now < self._next:
            return False
        self._next = now + self.interval
        return True

    def elapsed(self) -> float:
        """Seconds since the ticker was made."""
        return time.perf_counter() - self.start


def seconds_text(seconds: float) -> str:
    """A duration as a person reads it in a log: '42 s', '3 min 5 s', '1 h 12 min'."""
    if seconds < 0.5:
        return "under 1 s"
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"
