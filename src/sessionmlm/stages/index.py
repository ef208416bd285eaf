"""Stage `index`: the page across cohorts and each shared model's pooled odds ratios."""

from sessionmlm.pooling import write_index as run_index

__all__ = ["run_index"]
