"""Tests of sklearn_lt.plotting: what is drawn, against hand-computed values."""

import builtins

import numpy as np
import pandas as pd
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from sklearn_lt.plotting import (  # noqa: E402
    plot_balanced_accuracy,
    plot_per_class_recall,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture
def per_class():
    # two contenders, two splits, three classes; the class sizes differ
    # slightly between the splits
    rows = []
    recalls = {
        "ours": [[0.9, 0.7, 0.6], [0.8, 0.5, 0.4]],
        "base": [[1.0, 0.6, 0.0], [0.9, 0.4, 0.2]],
    }
    counts = [[100, 30, 5], [110, 30, 7]]
    for name, by_split in recalls.items():
        for split, values in enumerate(by_split):
            for label, value in enumerate(values):
                rows.append(
                    {
                        "contender": name,
                        "split": split,
                        "class": label,
                        "train_count": counts[split][label],
                        "recall": value,
                    }
                )
    return pd.DataFrame(rows)


@pytest.fixture
def table():
    return pd.DataFrame(
        {
            "contender": ["ours", "base", "other"],
            "family": ["sklearn_lt", "baseline", "baseline"],
            "balanced_accuracy_mean": [0.9, 0.8, np.nan],
            "balanced_accuracy_std": [0.01, 0.05, np.nan],
        }
    )


def test_per_class_recall_draws_split_means_against_class_size(per_class):
    ax = plot_per_class_recall(per_class)
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert list(lines) == ["ours", "base"]
    # sorted by class size: class 2 (mean 6 examples), 1 (30), 0 (105)
    np.testing.assert_allclose(lines["ours"].get_xdata(), [6, 30, 105])
    np.testing.assert_allclose(lines["ours"].get_ydata(), [0.5, 0.6, 0.85])
    np.testing.assert_allclose(lines["base"].get_ydata(), [0.1, 0.5, 0.95])
    assert ax.get_xscale() == "log"
    assert ax.get_legend() is not None
    assert ax.get_xlabel() and ax.get_ylabel()


def test_per_class_recall_picks_and_orders_contenders(per_class):
    ax = plot_per_class_recall(per_class, contenders=["base"])
    assert [line.get_label() for line in ax.get_lines()] == ["base"]


def test_per_class_recall_draws_on_a_given_axes(per_class):
    fig, ax = plt.subplots()
    assert plot_per_class_recall(per_class, ax=ax) is ax
    assert ax.figure is fig


def test_per_class_recall_rejects_unknown_contender(per_class):
    with pytest.raises(ValueError, match="Unknown contender.*'nope'"):
        plot_per_class_recall(per_class, contenders=["nope"])


def test_per_class_recall_rejects_a_frame_without_the_columns(per_class):
    with pytest.raises(ValueError, match="train_count"):
        plot_per_class_recall(per_class.drop(columns="train_count"))
    with pytest.raises(TypeError, match="DataFrame"):
        plot_per_class_recall(per_class.to_numpy())


def test_balanced_accuracy_bars_and_error_bars(table):
    ax = plot_balanced_accuracy(table)
    bars = ax.patches
    np.testing.assert_allclose([bar.get_width() for bar in bars], [0.9, 0.8, 0.0])
    assert [label.get_text() for label in ax.get_yticklabels()] == [
        "ours",
        "base",
        "other",
    ]
    # the first row is on top: the y axis is inverted
    bottom, top = ax.get_ylim()
    assert bottom > top
    # error bars: one horizontal segment per bar, from mean - std to mean + std
    segments = ax.collections[0].get_segments()
    np.testing.assert_allclose(
        [(seg[0][0], seg[1][0]) for seg in segments],
        [(0.89, 0.91), (0.75, 0.85), (0.0, 0.0)],
    )
    # families in different colours
    assert bars[0].get_facecolor() != bars[1].get_facecolor()
    assert bars[1].get_facecolor() == bars[2].get_facecolor()


def test_balanced_accuracy_without_family_column(table):
    ax = plot_balanced_accuracy(table.drop(columns="family"))
    assert len(ax.patches) == 3
    assert ax.get_legend() is None


def test_balanced_accuracy_rejects_a_frame_without_the_columns(table):
    with pytest.raises(ValueError, match="balanced_accuracy_std"):
        plot_balanced_accuracy(table.drop(columns="balanced_accuracy_std"))


def test_figures_save_to_png(per_class, table, tmp_path):
    for ax, name in [
        (plot_per_class_recall(per_class), "recall.png"),
        (plot_balanced_accuracy(table), "bars.png"),
    ]:
        ax.figure.savefig(tmp_path / name)
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_missing_matplotlib_gives_an_install_hint(per_class, monkeypatch):
    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError("No module named 'matplotlib'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    with pytest.raises(ImportError, match=r"pip install \"sklearn-lt\[plots\]\""):
        plot_per_class_recall(per_class)
