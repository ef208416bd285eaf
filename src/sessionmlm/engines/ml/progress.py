"""Progress lines while the ml engine maximises and profiles: stage, evaluations, elapsed."""

from __future__ import annotations

import logging

from sessionmlm.progress import Ticker, seconds_text

log = logging.getLogger(__name__)


class FitProgress:
    """Counts the likelihood evaluations of one fit and logs a line when one is due.

    The likelihood models call evaluated() after each evaluation (a counter, a clock read and
    a comparison: nothing next to a quadrature pass). Lines give the elapsed time only: how
    many evaluations BFGS, the Newton polish and the profile searches will take is not known
    ahead, so there is no honest estimate of the time left.
    """

    def __init__(self) -> None:
        self.ticker = Ticker()
        self.stage = "starting"
        self.evaluations = 0

    def enter(self, stage: str) -> None:
        """Name the stage the next evaluations belong to, e.g. 'Newton polish'."""
        self.stage = stage

    def evaluated(self, loglik: float) -> None:
        """One more evaluation, at log-likelihood loglik."""
        self.evaluations += 1
        if self.ticker.due():
            log.info(
                "ml fit, %s: %s likelihood evaluations so far, log-likelihood %.3f, %s elapsed",
                self.stage, f"{self.evaluations:,}", loglik, seconds_text(self.ticker.elapsed()),
            )  # fmt: skip
