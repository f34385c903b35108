"""Tests of sklearn_lt.compare._markdown: the tables and summaries as text."""

import numpy as np
import pandas as pd

from sklearn_lt.compare._markdown import (
    display_table,
    failure_summary,
    markdown_table,
    results_markdown,
    statistics_summary,
)

NAN = float("nan")


def _table():
    return pd.DataFrame(
        {
            "contender": ["ours", "base", "broken", "half"],
            "family": ["sklearn_lt", "baseline", "baseline", "baseline"],
            "n_splits": [3, 3, 3, 3],
            "n_failed": [0, 0, 3, 1],
            "error": ["", "", "ValueError: bad", "MemoryError: big"],
            "balanced_accuracy_mean": [0.85, 0.8, NAN, NAN],
            "balanced_accuracy_std": [0.0125, 0.02, NAN, NAN],
            "many_shot_recall_mean": [NAN, NAN, NAN, NAN],
            "fit_seconds_mean": [1.234, 0.5, 0.1, NAN],
            "diff_vs_best_baseline": [0.05, NAN, NAN, NAN],
            "p_value": [0.0004, NAN, NAN, NAN],
        }
    )


def _per_split():
    return pd.DataFrame(
        {
            "contender": ["ours"] * 3 + ["base"] * 3,
            "split": [0, 1, 2] * 2,
            "balanced_accuracy": [0.86, 0.84, 0.85, 0.81, 0.79, 0.80],
        }
    )


def test_display_table_marks_failures_and_empty_shot_groups():
    display = display_table(_table()).set_index("contender")
    assert display.loc["ours", "balanced acc."] == "0.850 ± 0.013"
    assert display.loc["ours", "many-shot"] == "no class"
    assert display.loc["base", "many-shot"] == "no class"
    assert display.loc["broken", "balanced acc."] == "failed"
    assert display.loc["broken", "many-shot"] == "failed"
    assert display.loc["broken", "fit s"] == "0.10"  # it ran before failing
    assert display.loc["half", "fit s"] == "failed"
    assert display.loc["ours", "vs best baseline"] == "+0.050"
    assert display.loc["ours", "p"] == "< 0.001"
    assert display.loc["base", "p"] == ""
    assert not display.isin(["nan"]).any(axis=None)


def test_failure_summary_names_each_failure():
    summary = failure_summary(_table())
    assert summary == (
        "2 of 4 contenders failed. broken failed on all 3 splits "
        "(ValueError: bad); half failed on 1 of 3 splits (MemoryError: big)."
    )
    assert failure_summary(_table().iloc[:2]) == ""


def test_statistics_summary_says_which_test_and_why():
    text = statistics_summary(_table(), _per_split())
    assert text.startswith(
        "Best sklearn_lt contender: ours, 0.850 balanced accuracy; best "
        "baseline: base, 0.800. Difference over 3 paired splits: +0.050"
    )
    assert "paired t-test (scipy.stats.ttest_rel)" in text
    assert "fewer than 6 splits" in text and "Nadeau and Bengio" in text
    # six splits: Wilcoxon
    per_split = pd.DataFrame(
        {
            "contender": ["ours"] * 6 + ["base"] * 6,
            "split": list(range(6)) * 2,
            "balanced_accuracy": list(np.linspace(0.84, 0.86, 6)) + [0.8] * 6,
        }
    )
    text = statistics_summary(_table(), per_split)
    assert "6 paired splits" in text and "p = 0.031" in text  # 2 / 2**6
    assert "Wilcoxon signed-rank test (scipy.stats.wilcoxon)" in text
    # no baseline that ran: nothing to say
    assert statistics_summary(_table().iloc[[0, 2]], _per_split()) == ""


def test_markdown_table_escapes_pipes():
    text = markdown_table(pd.DataFrame({"contender": ["a|b"], "score": ["1"]}))
    assert text.splitlines()[2] == "| a\\|b | 1 |"


def test_results_markdown_has_the_meta_the_table_and_the_summaries():
    meta = {
        "command": "sklearn-lt compare",
        "data": "a table",
        "class_counts": "a: 3 (2)",
        "machine": "a machine",
        "wall_time": "1.0 s",
        "failures": failure_summary(_table()),
        "statistics": "Stats sentence.",
    }
    text = results_markdown(_table(), meta=meta, many_shot=50, few_shot=5)
    assert "Command: `sklearn-lt compare`" in text
    assert "Data: a table." in text and "Class counts: a: 3 (2)." in text
    assert "many > 50, medium 5-50, few < 5" in text
    assert text.index("Stats sentence.") < text.index("Failures: 2 of 4")
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    assert len(rows) == 2 + 4
