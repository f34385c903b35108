"""The reliability diagram's per-fold sums and figure (compare.plots._reliability)."""

import numpy as np
import pandas as pd

from sklearn_lt.compare.plots._reliability import (
    plot_reliability,
    reliability_bins,
    reliability_curves,
)


def test_binary_sums_bin_the_positive_probability():
    proba1 = np.array([0.05, 0.15, 0.12, 0.95, 1.0])
    proba = np.column_stack([1 - proba1, proba1])
    y = np.array(["a", "b", "a", "b", "a"])
    sums = reliability_bins(y, proba, ["a", "b"], n_bins=10)
    # by hand: bin 0 {0.05}, bin 1 {0.15, 0.12}, bin 9 {0.95, 1.0}
    assert [sums[f"reliability_n_{b}"] for b in (0, 1, 9)] == [1, 2, 2]
    np.testing.assert_allclose(sums["reliability_p_1"], 0.27)
    assert sums["reliability_y_1"] == 1 and sums["reliability_y_9"] == 1
    assert sum(sums[f"reliability_n_{b}"] for b in range(10)) == 5


def test_multiclass_sums_use_the_top_label_confidence():
    proba = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.34, 0.33, 0.33]])
    sums = reliability_bins([0, 1, 2], proba, [0, 1, 2], n_bins=5)
    # confidences 0.7 (right), 0.6 (wrong), 0.34 (wrong): bins 3, 3, 1
    assert sums["reliability_n_3"] == 2 and sums["reliability_n_1"] == 1
    np.testing.assert_allclose(sums["reliability_p_3"], 1.3)
    assert sums["reliability_y_3"] == 1 and sums["reliability_y_1"] == 0
    assert all(np.isnan(v) for v in reliability_bins([0], None, [0, 1]).values())


def test_the_figure_draws_the_best_three_with_probabilities(tmp_path):
    rng = np.random.RandomState(0)
    rows = []
    for name in ["a", "b", "c", "d", "no_proba"]:
        for split in range(2):
            y = rng.randint(2, size=50)
            p = np.clip(0.5 * y + 0.5 * rng.rand(50), 0, 1)
            proba = None if name == "no_proba" else np.column_stack([1 - p, p])
            rows.append({"contender": name, "split": split,
                         **reliability_bins(y, proba, [0, 1])})  # fmt: skip
    per_split = pd.DataFrame(rows)
    table = pd.DataFrame({
        "contender": ["no_proba", "d", "c", "b", "a"],
        "balanced_accuracy_mean": [0.99, 0.9, 0.8, 0.7, 0.6],
    })  # fmt: skip
    assert set(reliability_curves(per_split)["contender"]) == set("abcd")
    figure = plot_reliability(per_split, table, binary=True)
    top = figure.axes[0]
    labels = [line.get_label() for line in top.get_lines()]
    assert labels == ["perfect", "d", "c", "b"]
    path = tmp_path / "reliability.png"
    figure.savefig(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
