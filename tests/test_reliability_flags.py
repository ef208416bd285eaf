"""Which items are flagged as unreliable, and by which statistic (stages/reliability.py)."""

import numpy as np
import pandas as pd

from sessionmlm.reliability import item_reliability
from sessionmlm.reliability.choice import chosen_icc
from sessionmlm.stages.reliability import flags

LIMITS = {"kappa": 0.40, "alpha": 0.667, "icc": 0.40}


def two_coders(agree: float, categories: int, n: int = 400, seed: int = 1) -> pd.DataFrame:
    """Coder B copies A with probability `agree`, else codes at random; ordinal misses are
    one category off, so distances matter."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, categories, n)
    off = np.clip(a + rng.choice([-1, 1], n), 0, categories - 1)
    b = np.where(rng.random(n) < agree, a, off if categories > 2 else rng.integers(0, 2, n))
    return pd.DataFrame({"A": a, "B": b}, dtype=float)


def test_binary_item_is_held_to_kappa_and_alpha():
    good = item_reliability(two_coders(0.9, 2), [0, 1], "binary")
    poor = item_reliability(two_coders(0.3, 2), [0, 1], "binary")
    assert flags(good, "binary", LIMITS) == []
    reasons = flags(poor, "binary", LIMITS)
    assert reasons[0].startswith("Cohen's kappa 0.") and "< 0.40" in reasons[0]
    assert reasons[1].startswith("Krippendorff's alpha (nominal)")


def test_ordinal_item_near_misses_are_not_flagged_by_unweighted_kappa():
    # Most ratings one category apart: unweighted kappa is low, but the ordinal alpha and
    # the ICC, which weigh distances, are high, and they are what an ordinal item is held to.
    table = item_reliability(two_coders(0.3, 5), [0, 1, 2, 3, 4], "ordinal")
    kappa = table.set_index("statistic").estimate["Cohen's kappa"]
    assert kappa < 0.40
    assert flags(table, "ordinal", LIMITS) == []
    assert chosen_icc(table) == "ICC(2,1)"  # both coders rated every unit: crossed


def test_ordinal_item_coded_at_random_is_flagged_by_alpha_and_icc():
    rng = np.random.default_rng(2)
    ratings = pd.DataFrame(rng.integers(0, 5, (300, 2)), columns=["A", "B"], dtype=float)
    reasons = flags(item_reliability(ratings, [0, 1, 2, 3, 4], "ordinal"), "ordinal", LIMITS)
    assert [r.split(" 0.")[0].split(" -0.")[0] for r in reasons] == [
        "Krippendorff's alpha (ordinal)", "ICC(2,1)"]  # fmt: skip
