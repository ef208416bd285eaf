"""Sampling that stops at the first check where the draws so far pass every diagnostic.

nutpie runs the chains in the background. Whenever every chain has another `check_every`
draws (after warm-up), the chains pause and the first m draws of each are diagnosed exactly as
a finished run's would be (R-hat, bulk and tail ESS of every reported quantity, divergences).
If they pass, sampling stops there and those m draws per chain are the posterior; if not, the
chains resume, up to `draws`. A chain's draws do not depend on when it paused (nutpie seeds
each chain on its own), so a fit stopped at m draws has exactly the first m draws of the full
run: as reproducible as one that runs to the end. Checks start once the chains hold the draws
the posterior checks keep (sampling.kept_draws), so those are not thinned by stopping early,
and only for cohorts of at least `check_from_sessions` sessions (checks_at says why).

Checking only every few hundred draws, against the same thresholds a finished run must meet,
keeps the chance of stopping on a lucky stretch small; a fit that needs every draw gets them.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from typing import Any

from sessionmlm.engines.bayes.progress import CALLBACK_MS, SamplingProgress
from sessionmlm.engines.bayes.settings import BayesSettings

log = logging.getLogger(__name__)

POLL_SECONDS = 0.05  # how often to look whether the chains reached the next check


def checks_at(s: BayesSettings, least: int, n_sessions: int) -> list[int]:
    """Draws per chain at which to check: multiples of check_every from least on, below draws.

    least is the draws per chain the posterior checks need. None when check_every is 0 or
    the cohort has fewer than check_from_sessions sessions: there sampling takes seconds, and
    running every chain at once for the checks cost more than stopping saved (demo model,
    680 sessions: 8.8 s without checks, 11.4 s with them, none of which passed).
    """
    if s.check_every <= 0 or n_sessions < s.check_from_sessions:
        return []
    first = max(1, -(-least // s.check_every)) * s.check_every
    return list(range(first, s.draws, s.check_every))


def sample_until_passed(
    model: Any, s: BayesSettings, least: int, n_sessions: int, passes: Callable[[Any], bool]
) -> tuple[Any, int]:
    """(trace, draws per chain kept): stopped at the first check whose draws pass, or all.

    passes(trace) diagnoses a trace cut to its first m draws per chain (first_draws).
    """
    import nutpie

    progress = SamplingProgress()
    checks = checks_at(s, least, n_sessions)
    sampler = nutpie.sample(
        model,
        draws=s.draws,
        tune=s.tune,
        chains=s.chains,
        # Every chain at once, even on fewer cores: nutpie runs `cores` chains to the end before
        # it starts the next, so a check would wait for the first chains' last draw.
        cores=max(s.cores, s.chains) if checks else s.cores,
        seed=s.seed,
        target_accept=s.target_accept,
        # nutpie's own bar only on a terminal; the log lines go to the job's log file too.
        progress_bar=sys.stderr.isatty(),
        progress_callback=progress,
        progress_rate=CALLBACK_MS,
        save_warmup=False,
        blocking=False,
    )
    for k, m in enumerate(checks):
        while progress.least_finished < s.tune + m and not _finished(sampler):
            time.sleep(POLL_SECONDS)
        if _finished(sampler):
            # Done before this check could pause it (small data sample fast; the progress
            # counts arrive every CALLBACK_MS): the checks left are made on the whole trace,
            # so where a fit stops never depends on timing. wait() raises a sampling error.
            return _check_finished(sampler.wait(), checks[k:], s, passes)
        sampler.pause()
        start = time.perf_counter()
        trace = first_draws(sampler.inspect(), m)
        copied = time.perf_counter() - start
        passed = passes(trace)
        checked = time.perf_counter() - start - copied
        took = f"(trace copied in {copied:.1f} s, checked in {checked:.1f} s)"
        if passed:
            sampler.cancel()
            log.info("sampling stopped at %d draws per chain: every diagnostic passed %s", m, took)
            return trace, m
        log.info("check at %d draws per chain: not passed yet, sampling on %s", m, took)
        sampler.resume()
    return sampler.wait(), s.draws


def _check_finished(
    trace: Any, checks: list[int], s: BayesSettings, passes: Callable[[Any], bool]
) -> tuple[Any, int]:
    """The first of checks whose draws pass, on a finished trace; else every draw."""
    for m in checks:
        cut = first_draws(trace, m)
        if passes(cut):
            log.info("kept the first %d draws per chain: every diagnostic passed there", m)
            return cut, m
    return trace, s.draws


def _finished(sampler: Any) -> bool:
    """Whether the sampler is done; nutpie 0.16 raises TimeoutError where it is not."""
    try:
        return bool(sampler.is_finished)
    except TimeoutError:
        return False


class _Trace:
    """The posterior and sample stats of a trace, as _sample reads them."""

    def __init__(self, posterior: Any, sample_stats: Any) -> None:
        self.posterior = posterior
        self.sample_stats = sample_stats


def first_draws(trace: Any, m: int) -> _Trace:
    """The trace's first m draws of every chain (inspect() pads shorter chains with NaN)."""
    cut = {"draw": slice(0, m)}
    return _Trace(trace.posterior.isel(cut), trace.sample_stats.isel(cut))
