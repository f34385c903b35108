"""Tests of sklearn_lt.compare.plots: what is drawn, against hand-computed values."""

import builtins
import sys

import numpy as np
import pandas as pd
import pytest

matplotlib = pytest.importorskip("matplotlib")
from matplotlib.colors import to_hex  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from sklearn_lt.compare.plots import (  # noqa: E402
    _plot_figures,
    plot_balanced_accuracy,
    plot_per_class_recall,
    plot_per_class_recall_panels,
    write_plots,
)
from sklearn_lt.compare.plots._style import (  # noqa: E402
    _BASELINE_COLOR,
    _BASELINE_LINE_COLOR,
    _OURS_COLOR,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def new_axes():
    return Figure().add_subplot()


def hex_of(color):
    return to_hex(color, keep_alpha=False)


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
            "n_splits": [5, 5, 5],
            "balanced_accuracy_mean": [0.9, 0.8, np.nan],
            "balanced_accuracy_std": [0.01, 0.05, np.nan],
        }
    )


def many_contenders(n=17, n_classes=6, failed=(4, 9), partial=(6,)):
    """A table and per-class frame of ``n`` contenders, some failed.

    Means lie in 0.83-0.90; even rows are ours, odd rows baselines. Row 6
    failed on 2 of 5 splits but has a score.
    """
    rng = np.random.default_rng(0)
    names = [f"{'ours' if i % 2 == 0 else 'base'}_{i}" for i in range(n)]
    means = np.linspace(0.90, 0.83, n)
    table = pd.DataFrame(
        {
            "contender": names,
            "family": ["sklearn_lt" if i % 2 == 0 else "baseline" for i in range(n)],
            "n_splits": 5,
            "n_failed": [
                5 if i in failed else 2 if i in partial else 0 for i in range(n)
            ],
            "error": [
                "ValueError: Input X contains NaN."
                if i in failed
                else "MemoryError: out"
                if i in partial
                else ""
                for i in range(n)
            ],
            "balanced_accuracy_mean": [
                np.nan if i in failed else m for i, m in enumerate(means)
            ],
            "balanced_accuracy_std": [
                np.nan if i in failed else 0.01 for i in range(n)
            ],
        }
    )
    counts = [200 // (k + 1) for k in range(n_classes)]
    rows = [
        {
            "contender": name,
            "split": split,
            "class": f"c{k}",
            "train_count": count,
            "recall": np.nan if i in failed else rng.uniform(0.5, 1.0),
        }
        for i, name in enumerate(names)
        for split in range(3)
        for k, count in enumerate(counts)
    ]
    return table, pd.DataFrame(rows)


# -- plot_per_class_recall (one Axes) -------------------------------------------


def test_per_class_recall_draws_split_means_against_class_size(per_class):
    ax = plot_per_class_recall(per_class, ax=new_axes())
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
    ax = plot_per_class_recall(per_class, contenders=["base"], ax=new_axes())
    assert [line.get_label() for line in ax.get_lines()] == ["base"]


def test_per_class_recall_draws_on_a_given_axes(per_class):
    ax = new_axes()
    assert plot_per_class_recall(per_class, ax=ax) is ax


def test_per_class_recall_without_ax_makes_a_pyplot_figure(per_class):
    plt = pytest.importorskip("matplotlib.pyplot")
    ax = plot_per_class_recall(per_class)
    try:
        assert ax.figure.number in plt.get_fignums()  # plt.show() shows it
    finally:
        plt.close(ax.figure)


def test_per_class_recall_many_lines_never_share_a_colour():
    table, per_class = many_contenders(n=23)
    ax = plot_per_class_recall(per_class, table=table, ax=new_axes())
    colors = [hex_of(line.get_color()) for line in ax.get_lines()]
    assert len(colors) == 23
    assert len(set(colors)) == 23
    # baselines in greys (r == g == b), dashed; ours in colour, solid
    for line in ax.get_lines():
        red, green, blue = matplotlib.colors.to_rgb(line.get_color())
        grey = red == green == blue
        assert grey == line.get_label().startswith("base")
        assert (line.get_linestyle() == "--") == grey


def test_per_class_recall_rejects_unknown_contender(per_class):
    with pytest.raises(ValueError, match="Unknown contender.*'nope'"):
        plot_per_class_recall(per_class, contenders=["nope"], ax=new_axes())


def test_per_class_recall_rejects_a_frame_without_the_columns(per_class):
    with pytest.raises(ValueError, match="train_count"):
        plot_per_class_recall(per_class.drop(columns="train_count"))
    with pytest.raises(TypeError, match="DataFrame"):
        plot_per_class_recall(per_class.to_numpy())


# -- plot_per_class_recall_panels -------------------------------------------------


def test_panels_one_per_contender_in_table_order():
    table, per_class = many_contenders(n=17)
    fig = plot_per_class_recall_panels(
        per_class, table, figure=Figure(layout="constrained")
    )
    assert len(fig.axes) == 17
    titles = [ax.get_title(loc="left").splitlines()[0] for ax in fig.axes]
    assert titles == [f"{i}. {name}" for i, name in enumerate(table["contender"], 1)]


def test_panels_show_class_sizes_smallest_first(per_class):
    fig = plot_per_class_recall_panels(per_class, figure=Figure())
    ax = fig.axes[0]
    # mean training counts 6, 30, 105 (classes 2, 1, 0)
    labels = [label.get_text() for label in ax.get_xticklabels()]
    assert labels == ["2 (6)", "1 (30)", "0 (105)"]
    (line,) = ax.get_lines()
    np.testing.assert_allclose(line.get_ydata(), [0.5, 0.6, 0.85])


def test_panels_ours_coloured_baselines_grey_and_reference_line():
    table, per_class = many_contenders(n=6, failed=(), partial=())
    fig = plot_per_class_recall_panels(per_class, table, figure=Figure())
    best_baseline = "base_1"  # the first baseline row has the highest mean
    for ax, name in zip(fig.axes, table["contender"]):
        lines = {line.get_label(): line for line in ax.get_lines()}
        expected = _OURS_COLOR if name.startswith("ours") else _BASELINE_LINE_COLOR
        assert hex_of(lines[name].get_color()) == expected
        # every panel but the best baseline's own shows it as the reference
        assert ("best baseline" in lines) == (name != best_baseline)
        is_reference = ax.get_title(loc="left").endswith("(the reference)")
        assert is_reference == (name == best_baseline)
        if name != best_baseline:
            reference = per_class[per_class["contender"] == best_baseline]
            by_class = reference.groupby("class")[["train_count", "recall"]].mean()
            expected_ref = by_class.sort_values("train_count")["recall"]  # tail first
            np.testing.assert_allclose(
                lines["best baseline"].get_ydata(), expected_ref.to_numpy()
            )
        colors = [hex_of(line.get_color()) for line in ax.get_lines()]
        assert len(colors) == len(set(colors))  # no two lines share a colour


def test_panels_mark_failed_and_partly_failed_contenders():
    table, per_class = many_contenders(n=10, failed=(4, 9), partial=(6,))
    fig = plot_per_class_recall_panels(per_class, table, figure=Figure())
    for i, ax in enumerate(fig.axes):
        texts = " ".join(text.get_text() for text in ax.texts)
        if i in (4, 9):
            assert not ax.get_lines()
            assert "failed (5/5 splits)" in texts
            assert "ValueError: Input X contains NaN." in texts
        elif i == 6:
            assert "2/5 splits failed" in texts
        else:
            assert "failed" not in texts


def test_panels_zoom_the_recall_axis_to_the_data():
    table, per_class = many_contenders(n=4, failed=(), partial=())
    fig = plot_per_class_recall_panels(per_class, table, figure=Figure())
    low, high = fig.axes[0].get_ylim()
    lowest = per_class.groupby(["contender", "class"])["recall"].mean().min()
    assert 0.3 < low < lowest  # recalls are in 0.5-1: the axis does not start at 0
    assert high >= 1.0


def test_panels_reject_unknown_contender(per_class):
    with pytest.raises(ValueError, match="Unknown contender.*'nope'"):
        plot_per_class_recall_panels(per_class, contenders=["nope"], figure=Figure())


# -- plot_balanced_accuracy -------------------------------------------------------


def test_balanced_accuracy_bars_and_error_bars(table):
    ax = plot_balanced_accuracy(table, ax=new_axes())
    bars = ax.patches
    assert len(bars) == 3
    np.testing.assert_allclose([bar.get_width() for bar in bars[:2]], [0.9, 0.8])
    assert [label.get_text() for label in ax.get_yticklabels()] == [
        "ours",
        "base",
        "other",
    ]
    # the first row is on top: the y axis is inverted
    bottom, top = ax.get_ylim()
    assert bottom > top
    # error bars: one horizontal segment per scored bar, mean - std to mean + std
    segments = [
        segment
        for collection in ax.collections
        for segment in collection.get_segments()
    ]
    np.testing.assert_allclose(
        sorted((seg[0][0], seg[1][0]) for seg in segments),
        [(0.75, 0.85), (0.89, 0.91)],
    )
    texts = [text.get_text() for text in ax.texts]
    assert "0.900 ± 0.010" in texts and "0.800 ± 0.050" in texts


def test_balanced_accuracy_ours_coloured_baselines_grey(table):
    ax = plot_balanced_accuracy(table, ax=new_axes())
    ours, base, _ = ax.patches
    assert hex_of(ours.get_facecolor()) == _OURS_COLOR
    assert hex_of(base.get_facecolor()) == _BASELINE_COLOR
    labels = {label.get_text(): label for label in ax.get_yticklabels()}
    assert hex_of(labels["ours"].get_color()) == _OURS_COLOR
    # a dashed line at the best baseline's score
    (line,) = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
    np.testing.assert_allclose(line.get_xdata(), [0.8, 0.8])


def test_balanced_accuracy_marks_a_failed_contender(table):
    ax = plot_balanced_accuracy(table, ax=new_axes())
    failed = ax.patches[2]
    assert str(failed.get_hatch()) == "///"
    assert failed.get_facecolor()[3] == 0  # an empty, hatched bar
    # it spans the axis, so that it is not read as a score
    low, high = ax.get_xlim()
    assert failed.get_x() == pytest.approx(low)
    assert failed.get_width() == pytest.approx(high - low)
    assert "failed (5/5 splits)" in [text.get_text() for text in ax.texts]


def test_balanced_accuracy_failed_and_partial_with_reasons():
    table, _ = many_contenders(n=17, failed=(4, 9), partial=(6,))
    ax = plot_balanced_accuracy(table, ax=new_axes())
    assert len(ax.patches) == 17
    texts = [text.get_text() for text in ax.texts]
    assert texts.count("failed (5/5 splits)") == 2
    assert texts.count("ValueError: Input X contains NaN.") == 2
    assert texts.count("2/5 splits failed") == 1
    hatched = [i for i, bar in enumerate(ax.patches) if bar.get_hatch()]
    assert hatched == [4, 9]


def test_balanced_accuracy_axis_is_zoomed_to_the_data():
    table, _ = many_contenders(n=16, failed=(), partial=())
    ax = plot_balanced_accuracy(table, ax=new_axes())
    low, high = ax.get_xlim()
    # the data (mean ± std) lie in 0.82-0.91: bracketed, and not a 0-1 axis
    assert low <= 0.83 - 0.01 and high >= 0.90 + 0.01
    assert low > 0.7 and high < 0.95


def test_balanced_accuracy_all_failed_keeps_a_0_1_axis(table):
    table = table.assign(balanced_accuracy_mean=np.nan, balanced_accuracy_std=np.nan)
    ax = plot_balanced_accuracy(table, ax=new_axes())
    assert ax.get_xlim() == (0.0, 1.0)
    assert [text.get_text() for text in ax.texts].count("failed (5/5 splits)") == 3


def test_balanced_accuracy_without_family_column(table):
    ax = plot_balanced_accuracy(table.drop(columns="family"), ax=new_axes())
    assert len(ax.patches) == 3
    assert ax.get_legend() is None


def test_balanced_accuracy_rejects_a_frame_without_the_columns(table):
    with pytest.raises(ValueError, match="balanced_accuracy_std"):
        plot_balanced_accuracy(table.drop(columns="balanced_accuracy_std"))


# -- write_plots and missing matplotlib ------------------------------------------


def test_write_plots_writes_two_pngs(tmp_path):
    table, per_class = many_contenders(n=16)
    pyplot = sys.modules.get("matplotlib.pyplot")
    before = pyplot.get_fignums() if pyplot else []
    backend = matplotlib.get_backend()
    paths = write_plots(tmp_path, table, per_class, dpi=30)  # small: fast
    assert [path.name for path in paths] == [
        "balanced_accuracy.png",
        "per_class_recall.png",
    ]
    for path in paths:
        assert path.parent == tmp_path
        data = path.read_bytes()
        assert data.startswith(PNG_SIGNATURE) and len(data) > 1_000
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in paths)
    # no pyplot figure left open, the backend unchanged
    pyplot = sys.modules.get("matplotlib.pyplot")
    assert (pyplot.get_fignums() if pyplot else []) == before
    assert matplotlib.get_backend() == backend


def test_write_plots_without_matplotlib_notes_and_returns_nothing(
    tmp_path, monkeypatch, capsys, per_class, table
):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert write_plots(tmp_path, table, per_class) == []
    assert list(tmp_path.iterdir()) == []
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "matplotlib is not installed" in err


def test_missing_matplotlib_gives_an_install_hint(per_class, monkeypatch):
    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError("No module named 'matplotlib'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    with pytest.raises(ImportError, match=r"pip install \"sklearn-lt\[plots\]\""):
        plot_per_class_recall(per_class)


OLIVE_AREAS = {  # dslabs/olive: the nine areas and their rows
    "North-Apulia": 25, "Calabria": 56, "South-Apulia": 206, "Sicily": 36,
    "Inland-Sardinia": 65, "Coast-Sardinia": 33, "East-Liguria": 50,
    "West-Liguria": 50, "Umbria": 51,
}  # fmt: skip


def test_per_class_recall_png_names_every_class_in_full(tmp_path):
    """On olive's nine areas every class is labelled, untruncated, unclipped,
    without overlaps (the old plot labelled 3 of 9, cut to 10 characters)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    rng = np.random.RandomState(0)
    names = list(OLIVE_AREAS)
    contenders = [f"model_{i}" for i in range(6)]
    per_class = pd.DataFrame(
        [
            {"contender": c, "split": 0, "class": name,
             "train_count": int(0.8 * OLIVE_AREAS[name]),
             "recall": rng.uniform(0.3, 1)}
            for c in contenders for name in names
        ]
    )  # fmt: skip
    table = pd.DataFrame(
        {
            "contender": contenders,
            "family": ["baseline"] * 6,
            "balanced_accuracy_mean": np.linspace(0.9, 0.7, 6),
            "balanced_accuracy_std": 0.01,
        }
    )
    write_plots(tmp_path, table, per_class)
    figure = _plot_figures(table, per_class)["per_class_recall.png"]
    FigureCanvasAgg(figure).draw()
    renderer = figure.canvas.get_renderer()
    page = figure.bbox
    bottom = [ax for ax in figure.axes if ax.xaxis.get_tick_params()["labelbottom"]]
    for ax in bottom:
        labels = [t for t in ax.get_xticklabels() if t.get_text()]
        texts = [t.get_text() for t in labels]
        expected = sorted(names, key=lambda n: (OLIVE_AREAS[n], n))
        assert [t.rsplit(" (", 1)[0] for t in texts] == expected
        assert "Inland-Sardinia (52)" in texts and "South-Apulia (164)" in texts
        boxes = [t.get_window_extent(renderer) for t in labels]
        for box in boxes:  # inside the figure
            assert box.x0 >= page.x0 - 1 and box.x1 <= page.x1 + 1
            assert box.y0 >= page.y0 - 1
        for left, right in zip(boxes, boxes[1:]):
            assert left.x1 <= right.x0 + 0.5  # no overlap
    assert (tmp_path / "per_class_recall.png").read_bytes().startswith(b"\x89PNG")
