"""Tests of sklearn_lt.compare._stats: paired tests against the best baseline.

The references are scipy's tests called directly on hand-made differences,
and hand-computed means.
"""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sklearn_lt.compare._stats import (
    MIN_WILCOXON_SPLITS,
    paired_comparison,
    paired_test,
)


def test_few_pairs_use_the_paired_t_test():
    ours = np.array([0.90, 0.82, 0.88, 0.85])
    base = np.array([0.86, 0.80, 0.85, 0.86])
    difference, p_value, test, n_pairs = paired_test(ours, base)
    assert test == "ttest_rel" and n_pairs == 4
    np.testing.assert_allclose(difference, (0.04 + 0.02 + 0.03 - 0.01) / 4)
    # the paired t-test is the one-sample t-test of the differences
    np.testing.assert_allclose(p_value, stats.ttest_1samp(ours - base, 0).pvalue)


def test_enough_pairs_use_wilcoxon_which_can_then_reach_5_percent():
    assert MIN_WILCOXON_SPLITS == 6
    # all six differences positive and distinct: the exact two-sided p-value
    # of the signed-rank test is 2 / 2**6
    ours = np.arange(6) * 0.01 + 0.9
    base = np.full(6, 0.85)
    difference, p_value, test, n_pairs = paired_test(ours, base)
    assert test == "wilcoxon" and n_pairs == 6
    np.testing.assert_allclose(p_value, 2 / 2**6)
    np.testing.assert_allclose(difference, np.mean(ours - base))
    # with five such pairs the smallest possible p-value is above 0.05
    assert 2 / 2**5 > 0.05


def test_pairs_with_a_nan_are_left_out_and_edge_cases():
    difference, p_value, test, n_pairs = paired_test(
        [0.9, np.nan, 0.8, 0.7], [0.8, 0.7, np.nan, 0.6]
    )
    assert n_pairs == 2
    np.testing.assert_allclose(difference, 0.1)
    assert test == "ttest_rel"
    assert np.isnan(paired_test([0.5], [0.4])[1])  # one pair: no test
    assert paired_test([0.5, 0.6], [0.5, 0.6])[1:3] == (1.0, "")  # no difference
    nothing = paired_test([np.nan], [0.5])
    assert np.isnan(nothing[0]) and nothing[3] == 0


def _frames():
    table = pd.DataFrame(
        {
            "contender": [
                "ours_a",
                "base_good",
                "base_best_failed",
                "ours_b",
                "base_low",
            ],
            "family": ["sklearn_lt", "baseline", "baseline", "sklearn_lt", "baseline"],
            "n_failed": [0, 0, 1, 0, 0],
            "balanced_accuracy_mean": [0.9, 0.8, np.nan, 0.7, 0.6],
        }
    )
    scores = {
        "ours_a": [0.91, 0.89, 0.90],
        "base_good": [0.82, 0.78, 0.80],
        "base_best_failed": [0.99, np.nan, 0.99],
        "ours_b": [0.71, 0.69, 0.70],
        "base_low": [0.6, 0.6, 0.6],
    }
    per_split = pd.DataFrame(
        [
            {"contender": name, "split": k, "balanced_accuracy": value}
            for name, values in scores.items()
            for k, value in enumerate(values)
        ]
    )
    return table, per_split


def test_paired_comparison_pairs_ours_with_the_best_baseline_that_ran():
    table, per_split = _frames()
    result, best = paired_comparison(table, per_split)
    assert best == "base_good"  # the failed one is not a reference
    assert list(result.index) == list(table["contender"])
    np.testing.assert_allclose(result.loc["ours_a", "diff_vs_best_baseline"], 0.1)
    np.testing.assert_allclose(result.loc["ours_b", "diff_vs_best_baseline"], -0.1)
    expected = stats.ttest_rel([0.91, 0.89, 0.90], [0.82, 0.78, 0.80]).pvalue
    np.testing.assert_allclose(result.loc["ours_a", "p_value"], expected)
    baselines = ["base_good", "base_best_failed", "base_low"]
    assert (
        result.loc[baselines, ["diff_vs_best_baseline", "p_value"]]
        .isna()
        .all(axis=None)
    )


def test_paired_comparison_without_a_baseline_gives_nan():
    table, per_split = _frames()
    ours = table[table["family"] == "sklearn_lt"]
    result, best = paired_comparison(ours, per_split)
    assert best is None
    assert result[["diff_vs_best_baseline", "p_value"]].isna().all(axis=None)


@pytest.mark.parametrize("metric", ["balanced_accuracy"])
def test_paired_comparison_uses_the_split_labels_to_pair(metric):
    table, per_split = _frames()
    shuffled = per_split.sample(frac=1, random_state=0)
    a, _ = paired_comparison(table, per_split, metric=metric)
    b, _ = paired_comparison(table, shuffled, metric=metric)
    pd.testing.assert_frame_equal(a, b)
