"""Inter-rater reliability per item, checked against published values, brute force and simulation."""

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.inter_rater import aggregate_raters, fleiss_kappa

from sessionmlm.errors import UserError
from sessionmlm.intervals import Z95
from sessionmlm.reliability import (
    COLUMNS,
    STATISTICS,
    agreement,
    compare_sources,
    icc,
    item_reliability,
)
from sessionmlm.reliability.alpha import krippendorff_alpha
from sessionmlm.reliability.bootstrap import unit_weights
from sessionmlm.reliability.ratings import read_ratings

nan = np.nan


def row(table: pd.DataFrame, statistic: str) -> pd.Series:
    """The table's line for one statistic."""
    (index,) = np.flatnonzero(table["statistic"] == statistic)
    return table.iloc[index]


# Fleiss (1971), Psychological Bulletin 76:378-382, Table 1: 30 patients, 6 psychiatrists,
# 5 diagnoses, as raw ratings in statsmodels/stats/tests/test_inter_rater.py (`diagnoses`);
# kappa 0.430 (Fleiss 1971), 0.4302445 from R irr::kappam.fleiss quoted in that test file.
FLEISS_1971 = np.array([
    [4, 4, 4, 4, 4, 4], [2, 2, 2, 5, 5, 5], [2, 3, 3, 3, 3, 5], [5, 5, 5, 5, 5, 5],
    [2, 2, 2, 4, 4, 4], [1, 1, 3, 3, 3, 3], [3, 3, 3, 3, 5, 5], [1, 1, 3, 3, 3, 4],
    [1, 1, 4, 4, 4, 4], [5, 5, 5, 5, 5, 5], [1, 4, 4, 4, 4, 4], [1, 2, 4, 4, 4, 4],
    [2, 2, 2, 3, 3, 3], [1, 4, 4, 4, 4, 4], [2, 2, 4, 4, 4, 5], [3, 3, 3, 3, 3, 5],
    [1, 1, 1, 4, 5, 5], [1, 1, 1, 1, 1, 2], [2, 2, 4, 4, 4, 4], [1, 3, 3, 5, 5, 5],
    [5, 5, 5, 5, 5, 5], [2, 4, 4, 4, 4, 4], [2, 2, 4, 5, 5, 5], [1, 1, 4, 4, 4, 4],
    [1, 4, 4, 4, 4, 5], [2, 2, 2, 2, 2, 4], [1, 1, 1, 1, 5, 5], [2, 2, 4, 4, 4, 4],
    [1, 3, 3, 3, 3, 3], [5, 5, 5, 5, 5, 5],
])  # fmt: skip

# Krippendorff (2011), "Computing Krippendorff's alpha-reliability", section C: 4 observers
# (A-D) x 12 units, values 1-5, NaN = not coded. Published: nominal .743, ordinal .815,
# interval .849, ratio .797. Units 1-11 as in pln-fing-udelar/fast-krippendorff's sample.py (Krippendorff
# 2019, Content Analysis, 4th ed., p. 290). The same ratings, but for unit 12's lone code 3
# being under the third rater, are irrCAC's cac.raw4raters (kgwet/irrCAC,
# inst/extdata/cac.raw4raters.csv; Gwet 2014, Handbook of Inter-Rater Reliability, 4th ed.),
# whose README prints percent agreement 0.8181818, Gwet's AC1 0.77544, Fleiss' kappa 0.76117
# (standard error 0.15302) and Krippendorff's alpha 0.74342.
KRIPPENDORFF_2011 = pd.DataFrame({
    "A": [1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
    "B": [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
    "C": [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
    "D": [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan],
})  # fmt: skip
GWET_4_RATERS = pd.DataFrame({
    "Rater1": [1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
    "Rater2": [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, nan],
    "Rater3": [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, 3],
    "Rater4": [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan],
})  # fmt: skip

# Shrout & Fleiss (1979), Psychological Bulletin 86:420-428, Table 2: 6 targets x 4 judges.
# Their Table 4: ICC(1,1) .17, ICC(2,1) .29, ICC(3,1) .71. 95% intervals as printed by R
# psych::ICC on these data (dwoll/RExRepos, interRaterICC): ICC1 -0.133 to 0.72, ICC2 0.019
# to 0.76, ICC3 0.342 to 0.95; estimates 0.166, 0.290, 0.715 by DescTools::ICC (same page).
SHROUT_FLEISS = np.array([
    [9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7],
], dtype=float)  # fmt: skip


def test_the_table_has_the_agreed_columns_and_statistics_in_order():
    table = item_reliability(KRIPPENDORFF_2011, [1, 2, 3, 4, 5], "ordinal")
    assert list(table.columns) == list(COLUMNS)
    assert list(COLUMNS) == ["statistic", "estimate", "ci_low", "ci_high", "units", "raters",
                             "method", "note"]  # fmt: skip
    assert tuple(table["statistic"]) == STATISTICS
    assert STATISTICS == (
        "percent agreement", "Cohen's kappa", "Fleiss' kappa", "Gwet's AC1",
        "Krippendorff's alpha (nominal)", "Krippendorff's alpha (ordinal)",
        "Krippendorff's alpha (interval)", "ICC(1,1)", "ICC(2,1)",
    )  # fmt: skip


def test_fleiss_1971_kappa():
    ratings = pd.DataFrame(FLEISS_1971, columns=[f"psychiatrist {j}" for j in range(1, 7)])
    table = item_reliability(ratings, [1, 2, 3, 4, 5], "nominal")
    fleiss = row(table, "Fleiss' kappa")
    assert fleiss["estimate"] == pytest.approx(0.4302445, abs=5e-7)
    assert (fleiss["units"], fleiss["raters"], fleiss["method"]) == (30, 6, "asymptotic")
    assert fleiss["ci_low"] < 0.43 < fleiss["ci_high"]
    # Gwet's generalisation reduces to Fleiss (1971) with six raters on every unit.
    counts, _ = aggregate_raters(FLEISS_1971)
    generalised = agreement.fleiss_kappa(counts.astype(float), np.ones((1, 30)))[0]
    assert generalised == pytest.approx(fleiss_kappa(counts), abs=1e-12)
    assert row(table, "Cohen's kappa")["note"] == "needs exactly two coders; see Fleiss' kappa"
    assert math.isnan(row(table, "Cohen's kappa")["estimate"])


def test_krippendorff_2011_alphas():
    table = item_reliability(KRIPPENDORFF_2011, [1, 2, 3, 4, 5], "ordinal")
    expected = {"nominal": 0.743, "ordinal": 0.815, "interval": 0.849}
    for level, value in expected.items():
        line = row(table, f"Krippendorff's alpha ({level})")
        assert line["estimate"] == pytest.approx(value, abs=5e-4)
        assert (line["units"], line["raters"]) == (11, 4)
        assert line["ci_low"] < line["estimate"] <= line["ci_high"]
        assert line["method"] == "bootstrap over units, 1000 resamples"
        assert "1 units rated once left out" in line["note"]


def test_krippendorff_2011_ratio_alpha():
    # Ratio alpha is not in the item table (extensiveness ratings have no true zero), so it is
    # checked on the coincidences directly: Krippendorff (2011), section C, ratio .797.
    ratings = read_ratings(KRIPPENDORFF_2011, [1, 2, 3, 4, 5], "ordinal")
    counts = ratings.paired.counts
    alpha = krippendorff_alpha(counts, np.ones((1, len(counts))), "ratio", ratings.values)
    assert alpha[0] == pytest.approx(0.797, abs=5e-4)
    with pytest.raises(ValueError, match="not one of nominal, ordinal, interval, ratio"):
        krippendorff_alpha(counts, np.ones((1, len(counts))), "rank", ratings.values)


def test_gwet_four_raters_with_missing_ratings():
    table = item_reliability(GWET_4_RATERS, [1, 2, 3, 4, 5], "nominal")
    assert row(table, "percent agreement")["estimate"] == pytest.approx(0.8181818, abs=5e-8)
    assert row(table, "Gwet's AC1")["estimate"] == pytest.approx(0.77544, abs=5e-6)
    assert row(table, "Krippendorff's alpha (nominal)")["estimate"] == pytest.approx(
        0.74342, abs=5e-6
    )
    fleiss = row(table, "Fleiss' kappa")
    assert fleiss["estimate"] == pytest.approx(0.76117, abs=5e-6)
    # irrCAC's standard error 0.15302; the upper limit passes 1 and is capped there.
    assert (fleiss["estimate"] - fleiss["ci_low"]) / Z95 == pytest.approx(0.15302, abs=5e-6)
    assert fleiss["ci_high"] == 1.0
    assert "upper limit capped at 1" in fleiss["note"]
    assert "Gwet's (2014) generalisation" in fleiss["note"]
    assert "1 units rated once used only in the category shares" in fleiss["note"]


def test_shrout_fleiss_1979_iccs():
    one, two, three = (icc.one_way(SHROUT_FLEISS), icc.agreement(SHROUT_FLEISS),
                       icc.consistency(SHROUT_FLEISS))  # fmt: skip
    for result, value, low, high in [(one, 0.166, -0.133, 0.72), (two, 0.290, 0.019, 0.76),
                                     (three, 0.715, 0.342, 0.95)]:  # fmt: skip
        assert result.estimate == pytest.approx(value, abs=5e-4)
        decimals = 5e-4 if abs(low) < 0.5 else 5e-3
        assert result.ci_low == pytest.approx(low, abs=decimals)
        assert result.ci_high == pytest.approx(high, abs=5e-3)
    table = item_reliability(pd.DataFrame(SHROUT_FLEISS), list(range(1, 11)), "ordinal")
    for name, result in [("ICC(1,1)", one), ("ICC(2,1)", two)]:
        line = row(table, name)
        assert (line["estimate"], line["ci_low"], line["ci_high"]) == (
            result.estimate,
            result.ci_low,
            result.ci_high,
        )
        assert (line["units"], line["raters"], line["method"], line["note"]) == (
            6,
            4,
            "F distribution",
            "",
        )


def test_cohen_kappa_textbook_two_by_two():
    # Wikipedia, "Cohen's kappa", worked example: 50 grant proposals read by A and B,
    # yes/yes 20, A yes & B no 5, A no & B yes 10, no/no 15: p_o 0.7, p_e 0.5, kappa 0.4.
    pairs = [("Yes", "Yes")] * 20 + [("Yes", "No")] * 5 + [("No", "Yes")] * 10 + [("No", "No")] * 15
    ratings = pd.DataFrame(pairs, columns=["A", "B"])
    table = item_reliability(ratings, ["No", "Yes"], "binary")
    cohen = row(table, "Cohen's kappa")
    assert cohen["estimate"] == pytest.approx(0.4, abs=1e-12)
    assert (cohen["units"], cohen["raters"], cohen["method"]) == (50, 2, "asymptotic")
    assert cohen["ci_low"] < 0.4 < cohen["ci_high"]
    assert row(table, "percent agreement")["estimate"] == pytest.approx(0.7, abs=1e-12)
    for level in ("ordinal", "interval"):
        line = row(table, f"Krippendorff's alpha ({level})")
        assert line["estimate"] == pytest.approx(
            row(table, "Krippendorff's alpha (nominal)")["estimate"], abs=1e-12
        )
        assert "binary item: equals the nominal alpha" in line["note"]
    assert all(
        row(table, name)["note"] == "ordinal items only" for name in ("ICC(1,1)", "ICC(2,1)")
    )


def brute_force_alpha(data: np.ndarray, level: str) -> float:
    """Krippendorff's alpha from its definition: every ordered pair of pairable values."""
    units = [u[~np.isnan(u)] for u in data if (~np.isnan(u)).sum() >= 2]
    values = np.concatenate(units)
    categories = np.unique(values)
    frequency = {c: (values == c).sum() for c in categories}

    def delta(c, k):
        if level == "nominal":
            return float(c != k)
        if level == "interval":
            return (c - k) ** 2
        lo, hi = min(c, k), max(c, k)
        between = sum(frequency[g] for g in categories if lo <= g <= hi)
        return (between - (frequency[c] + frequency[k]) / 2) ** 2

    observed = sum(
        sum(delta(u[i], u[j]) for i in range(len(u)) for j in range(len(u)) if i != j)
        / (len(u) - 1)
        for u in units
    )
    n = len(values)
    expected = sum(delta(values[i], values[j]) for i in range(n) for j in range(n) if i != j)
    return 1 - (n - 1) * observed / expected


def test_alpha_and_percent_agreement_match_brute_force_with_missing_ratings():
    rng = np.random.default_rng(7)
    data = rng.integers(0, 4, size=(25, 4)).astype(float)
    data[rng.random(data.shape) < 0.35] = nan
    data[:5, 0] = data[:5, 1]  # some agreement
    table = item_reliability(pd.DataFrame(data), [0, 1, 2, 3], "ordinal")
    for level in ("nominal", "ordinal", "interval"):
        assert row(table, f"Krippendorff's alpha ({level})")["estimate"] == pytest.approx(
            brute_force_alpha(data, level), abs=1e-12
        )
    pairs = []
    for unit in data:
        rated = unit[~np.isnan(unit)]
        if len(rated) >= 2:
            pairs.append(np.mean([a == b for a, b in itertools.permutations(rated, 2)]))
    assert row(table, "percent agreement")["estimate"] == pytest.approx(np.mean(pairs), abs=1e-12)


def test_interval_alpha_uses_the_codes_themselves():
    # Codes 0, 1, 5: interval distances differ from those of the positions 0, 1, 2.
    data = np.array([[0, 1], [1, 1], [5, 5], [0, 0], [5, 1], [1, 0]], dtype=float)
    counts = np.stack([(data == c).sum(axis=1) for c in (0, 1, 5)], axis=1).astype(float)
    alpha = krippendorff_alpha(counts, np.ones((1, 6)), "interval", np.array([0.0, 1.0, 5.0]))[0]
    assert alpha == pytest.approx(brute_force_alpha(data, "interval"), abs=1e-12)


def copy_model(rng, n_units: int, p: float, marginals: np.ndarray) -> pd.DataFrame:
    """Rater B copies rater A with probability p, else draws from the same marginals."""
    q = len(marginals)
    a = rng.choice(q, size=n_units, p=marginals)
    b = np.where(rng.random(n_units) < p, a, rng.choice(q, size=n_units, p=marginals))
    return pd.DataFrame({"A": a, "B": b})


def test_simulated_kappa_recovers_the_copy_probability():
    # Under the copy model kappa, Fleiss' kappa and every alpha equal p in the population.
    rng = np.random.default_rng(11)
    p, marginals = 0.6, np.array([0.5, 0.3, 0.15, 0.05])
    table = item_reliability(copy_model(rng, 20_000, p, marginals), [0, 1, 2, 3], "ordinal",
                             n_boot=50)  # fmt: skip
    chance = (marginals**2).sum()
    truth = {
        "percent agreement": p + (1 - p) * chance,
        "Cohen's kappa": p,
        "Fleiss' kappa": p,
        "Krippendorff's alpha (nominal)": p,
        "Krippendorff's alpha (ordinal)": p,
        "Krippendorff's alpha (interval)": p,
        "ICC(1,1)": p,
        "ICC(2,1)": p,
    }
    for name, value in truth.items():
        assert row(table, name)["estimate"] == pytest.approx(value, abs=0.02), name


def test_intervals_cover_the_truth_about_95_percent_of_the_time():
    rng = np.random.default_rng(2026)
    p, marginals = 0.6, np.array([0.5, 0.3, 0.2])
    chance = (marginals**2).sum()
    agree = p + (1 - p) * chance
    ac1_chance = (marginals * (1 - marginals)).sum() / 2
    truth = {
        "percent agreement": agree,
        "Cohen's kappa": p,
        "Fleiss' kappa": p,
        "Gwet's AC1": (agree - ac1_chance) / (1 - ac1_chance),
        "Krippendorff's alpha (nominal)": p,
    }
    reps = 200
    covered = dict.fromkeys(truth, 0)
    for _ in range(reps):
        table = item_reliability(copy_model(rng, 100, p, marginals), [0, 1, 2], "nominal",
                                 seed=int(rng.integers(1 << 31)))  # fmt: skip
        for name, value in truth.items():
            line = row(table, name)
            covered[name] += line["ci_low"] <= value <= line["ci_high"]
    # 95% coverage +- 3 binomial standard errors of 200 replicates.
    margin = 3 * math.sqrt(0.95 * 0.05 / reps)
    for name, count in covered.items():
        assert 0.95 - margin <= count / reps <= 0.95 + margin, (name, count)


def test_an_item_without_variation_reports_agreement_and_no_chance_corrected_value():
    ratings = pd.DataFrame({"A": [0] * 12, "B": [0] * 12, "C": [0] * 11 + [nan]})
    table = item_reliability(ratings, [0, 1, 2], "ordinal")
    pa = row(table, "percent agreement")
    assert (pa["estimate"], pa["ci_low"], pa["ci_high"]) == (1.0, 1.0, 1.0)
    # Gwet's AC1 is defined here: its chance agreement is 0 when every rating is one code.
    assert row(table, "Gwet's AC1")["estimate"] == 1.0
    for name in STATISTICS[2:3] + STATISTICS[4:]:
        line = row(table, name)
        assert math.isnan(line["estimate"]) and math.isnan(line["ci_low"]), name
        assert "no variation: chance-corrected agreement undefined" in line["note"], name
    assert row(table, "Cohen's kappa")["note"] == "needs exactly two coders; see Fleiss' kappa"
    two = item_reliability(ratings[["A", "B"]], [0, 1, 2], "ordinal")
    assert math.isnan(row(two, "Cohen's kappa")["estimate"])
    assert row(two, "Cohen's kappa")["note"].startswith("no variation")


def test_a_nominal_item_has_no_ordinal_statistics():
    table = item_reliability(KRIPPENDORFF_2011, [1, 2, 3, 4, 5], "nominal")
    for name in ("Krippendorff's alpha (ordinal)", "Krippendorff's alpha (interval)"):
        assert (
            math.isnan(row(table, name)["estimate"]) and row(table, name)["note"] == "nominal item"
        )
    for name in ("ICC(1,1)", "ICC(2,1)"):
        assert math.isnan(row(table, name)["estimate"])
        assert row(table, name)["note"] == "ordinal items only"


def test_text_codes_on_an_ordinal_scale_use_scale_positions():
    codes = ["never", "some", "often"]
    numeric = KRIPPENDORFF_2011.iloc[:, :3].replace({4: 3, 5: 3}).dropna(how="all")
    text = numeric.replace({1: "never", 2: "some", 3: "often"})
    by_text = item_reliability(text, codes, "ordinal")
    by_number = item_reliability(numeric, [1, 2, 3], "ordinal")
    pd.testing.assert_series_equal(by_text["estimate"], by_number["estimate"])
    assert "codes are not numbers" in row(by_text, "Krippendorff's alpha (interval)")["note"]
    assert "codes are not numbers" in row(by_text, "ICC(1,1)")["note"]
    assert "unweighted: ordinal distances ignored" in row(by_text, "Gwet's AC1")["note"]


def test_icc_21_on_raters_who_are_not_fully_crossed_uses_the_largest_crossed_block():
    rng = np.random.default_rng(3)
    truth = rng.normal(size=16)
    data = np.full((16, 3), nan)
    data[:4, [0, 1]] = truth[:4, None] + rng.normal(scale=0.5, size=(4, 2))  # A, B: 4 units
    data[4:, [1, 2]] = truth[4:, None] + rng.normal(scale=0.5, size=(12, 2))  # B, C: 12 units
    scale = list(range(-3, 4))
    ratings = pd.DataFrame(np.clip(np.round(data), -3, 3), columns=["A", "B", "C"])
    table = item_reliability(ratings, scale, "ordinal")
    line = row(table, "ICC(2,1)")
    block = ratings.iloc[4:, [1, 2]].to_numpy()
    assert line["estimate"] == icc.agreement(block).estimate
    assert (line["units"], line["raters"]) == (12, 2)
    assert "raters not fully crossed: computed on the 12 units rated by all of B, C" in line["note"]
    assert row(table, "ICC(1,1)")["units"] == 16
    # Pairs that never share two units leave ICC(2,1) undefined.
    chain = pd.DataFrame({"A": [1, 2, nan], "B": [1, nan, 3], "C": [nan, 2, 3]})
    assert row(item_reliability(chain, [1, 2, 3], "ordinal"), "ICC(2,1)")["note"].startswith(
        "raters not crossed"
    )


def test_compare_sources_is_the_two_column_table_aligned_by_unit():
    rng = np.random.default_rng(5)
    sessions = [f"s{i}" for i in range(40)]
    frame = copy_model(rng, 40, 0.7, np.array([0.6, 0.4])).set_axis(sessions)
    self_report = frame["A"].rename("self-report")
    observer = frame["B"].rename("observer").iloc[::-1]  # other order, same units
    table = compare_sources(self_report, observer, [0, 1], "binary")
    expected = item_reliability(
        frame.set_axis(["self-report", "observer"], axis=1), [0, 1], "binary"
    )
    pd.testing.assert_frame_equal(table, expected)
    assert row(table, "Cohen's kappa")["raters"] == 2


def test_bootstrap_is_reproducible_and_follows_its_settings():
    first = item_reliability(KRIPPENDORFF_2011, [1, 2, 3, 4, 5], "ordinal")
    again = item_reliability(KRIPPENDORFF_2011, [1, 2, 3, 4, 5], "ordinal", seed=20261201)
    pd.testing.assert_frame_equal(first, again)
    other = item_reliability(KRIPPENDORFF_2011, [1, 2, 3, 4, 5], "ordinal", seed=1, n_boot=200)
    assert row(other, "Gwet's AC1")["method"] == "bootstrap over units, 200 resamples"
    assert row(other, "Gwet's AC1")["ci_low"] != row(first, "Gwet's AC1")["ci_low"]
    weights = unit_weights(7, 4000, seed=3)
    assert (weights.sum(axis=1) == 7).all()  # every resample draws as many units as there are
    assert weights.mean() == pytest.approx(1, abs=0.02)  # each unit drawn once on average


def test_ratings_outside_the_scale_are_all_named():
    ratings = pd.DataFrame(
        {"A": [0, 1, 2, "x"], "B": [1, 1, 7, nan]}, index=["u1", "u2", "u3", "u4"]
    )
    with pytest.raises(ValueError) as error:
        item_reliability(ratings, [0, 1], "binary")
    message = str(error.value)
    assert isinstance(error.value, UserError)
    assert "ratings outside the scale [0, 1]" in message
    assert "2 at u3 (A)" in message and "7 at u3 (B)" in message and "'x' at u4 (A)" in message


@pytest.mark.parametrize(
    ("scale", "kind", "message"),
    [
        ([0, 1], "interval", "kind 'interval' is not one of binary, nominal, ordinal"),
        ([0, 1, 2], "binary", "a binary item has two codes"),
        ([0, 0, 1], "nominal", "repeats 0"),
        ([1], "ordinal", "needs at least two codes"),
    ],
)
def test_a_bad_scale_or_kind_is_refused(scale, kind, message):
    with pytest.raises(UserError, match=message):
        item_reliability(pd.DataFrame({"A": [0, 1], "B": [0, 1]}), scale, kind)


def test_units_rated_fewer_than_twice_are_left_out_and_counted():
    ratings = pd.DataFrame({"A": [0, 1, 1, 0, nan, 1], "B": [0, 1, 0, nan, nan, 1]})
    table = item_reliability(ratings, [0, 1], "binary")
    line = row(table, "percent agreement")
    assert line["units"] == 4 and line["estimate"] == 0.75
    assert line["note"] == "1 units rated once left out; 1 units with no rating left out"
    nobody = item_reliability(pd.DataFrame({"A": [0, nan], "B": [nan, 1]}), [0, 1], "binary")
    assert nobody["estimate"].isna().all()
    assert (nobody["note"] == "no unit rated by two or more raters").all()


def test_icc_intervals_cover_the_truth_about_95_percent_of_the_time():
    # Two-way random model y = unit + rater + error, all normal: ICC(A,1) is
    # var(unit) / (var(unit) + var(rater) + var(error)); one-way data have no rater effect.
    rng = np.random.default_rng(1979)
    n, k, reps = 20, 4, 300
    sd_unit, sd_rater, sd_error = 1.0, 0.5, 0.7
    truth_two = sd_unit**2 / (sd_unit**2 + sd_rater**2 + sd_error**2)
    truth_one = sd_unit**2 / (sd_unit**2 + sd_error**2)
    covered = {"ICC(1,1)": 0, "ICC(2,1)": 0}
    for _ in range(reps):
        unit = rng.normal(scale=sd_unit, size=(n, 1))
        two = (
            unit + rng.normal(scale=sd_rater, size=(1, k)) + rng.normal(scale=sd_error, size=(n, k))
        )
        one = unit + rng.normal(scale=sd_error, size=(n, k))
        one[rng.random((n, k)) < 0.2] = nan  # unequal numbers of ratings per unit
        result_one, result_two = icc.one_way(one), icc.agreement(two)
        covered["ICC(1,1)"] += result_one.ci_low <= truth_one <= result_one.ci_high
        covered["ICC(2,1)"] += result_two.ci_low <= truth_two <= result_two.ci_high
    margin = 3 * math.sqrt(0.95 * 0.05 / reps)
    for name, count in covered.items():
        assert 0.95 - margin <= count / reps <= 0.95 + margin, (name, count)
