"""Tests of sklearn_lt.compare.study: the comparison as a Python API.

The results are checked against :func:`sklearn_lt.compare.compare` on the
same splits, against scikit-learn's metrics, and against the command line
run on the same data (the command only parses arguments and calls
:class:`~sklearn_lt.compare.Comparison`).
"""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import StratifiedKFold
from threadpoolctl import threadpool_limits

from sklearn_lt.cli import main
from sklearn_lt.compare import Comparison, ComparisonResults, compare
from sklearn_lt.compare._results import CHECKSUM, ResultsDirectoryError

QUIET = ["--n-jobs", "1", "--no-plots", "--no-progress"]


@pytest.fixture
def frame():
    """Three classes of 60, 30 and 12 rows, a label column, a string column."""
    rng = np.random.RandomState(0)
    y = np.repeat(["cat", "dog", "eel"], [60, 30, 12])
    shift = pd.Series(y).map({"cat": 0.0, "dog": 1.5, "eel": 3.0}).to_numpy()
    table = pd.DataFrame(
        rng.normal(size=(len(y), 3)) + shift[:, None], columns=list("abc")
    )
    table["colour"] = rng.choice(["red", "blue"], len(y))
    table["label"] = y
    return table


def _without_timings(table):
    return table.drop(columns=[c for c in table if "seconds" in c or c == CHECKSUM])


def test_table_is_that_of_compare_on_the_same_splits(frame):
    with threadpool_limits(1):
        results = Comparison(
            frame, "label", contenders=["logreg", "logreg_balanced"], cv=3
        ).run()
    X, y = frame.drop(columns="label"), frame["label"].to_numpy()
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    with threadpool_limits(1):
        expected, per_class = compare(
            ["logreg", "logreg_balanced"], X, y, cv=cv, return_per_class=True
        )
    pd.testing.assert_frame_equal(
        _without_timings(results.table), _without_timings(expected)
    )
    pd.testing.assert_frame_equal(results.per_class, per_class)
    assert len(results.per_split) == 2 * 3
    assert results.out is None and results.files == []


def test_given_estimators_are_scored_like_sklearn(frame):
    X = frame[["a", "b", "c"]].to_numpy()
    y = frame["label"].to_numpy()
    cv = list(StratifiedKFold(4, shuffle=True, random_state=3).split(X, y))
    model = LogisticRegression(max_iter=500)
    results = Comparison(X, y, contenders={"mine": model}, cv=cv).run()
    expected = [
        balanced_accuracy_score(y[te], clone(model).fit(X[tr], y[tr]).predict(X[te]))
        for tr, te in cv
    ]
    row = results.table.iloc[0]
    np.testing.assert_allclose(row["balanced_accuracy_mean"], np.mean(expected))
    np.testing.assert_allclose(row["balanced_accuracy_std"], np.std(expected))


def test_the_command_line_gives_the_python_results(frame, tmp_path, capsys):
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    with threadpool_limits(1):
        status = main(
            ["compare", "--data", str(path), "--target", "label", "--cv", "3",
             "--contenders", "logreg,hgb", *QUIET, "--out", str(tmp_path / "cli")]
        )  # fmt: skip
        results = Comparison(
            path, "label", contenders=["logreg", "hgb"], cv=3, preprocess=True
        ).run(tmp_path / "api", plots=False)
    assert status == 0, capsys.readouterr().err
    cli = pd.read_csv(tmp_path / "cli" / "results.csv")
    api = pd.read_csv(tmp_path / "api" / "results.csv")
    pd.testing.assert_frame_equal(_without_timings(cli), _without_timings(api))
    assert sorted(p.name for p in results.files) == [
        "per_class_recall.csv", "per_split_scores.csv", "report.html",
        "results.csv", "results.md",
    ]  # fmt: skip


def test_resume_and_overwrite_live_in_the_api(frame, tmp_path):
    out = tmp_path / "out"
    first = Comparison(frame, "label", contenders=["logreg"], cv=3).run(out)
    with pytest.raises(ResultsDirectoryError, match=r"out '.*' is not empty .*"
                       r"pass overwrite=True .*resume=True"):  # fmt: skip
        Comparison(frame, "label", contenders=["logreg"], cv=3).run(out)
    both = Comparison(frame, "label", contenders=["logreg", "logreg_balanced"], cv=3)
    resumed = both.run(out, resume=True)
    assert sorted(resumed.table["contender"]) == ["logreg", "logreg_balanced"]
    kept = resumed.table.set_index("contender").loc["logreg"]
    assert kept["balanced_accuracy_mean"] == first.table["balanced_accuracy_mean"][0]
    with pytest.raises(ResultsDirectoryError, match=r"setting seed \(0 then, 1 now\)"):
        Comparison(frame, "label", contenders=["logreg"], cv=3, random_state=1).run(
            out, resume=True
        )
    again = Comparison(frame, "label", contenders=["logreg_balanced"], cv=3)
    assert again.run(out, overwrite=True).table["contender"].tolist() == [
        "logreg_balanced"
    ]
    with pytest.raises(ValueError, match="resume and overwrite exclude each other"):
        again.run(out, resume=True, overwrite=True)


class Interrupting(ClassifierMixin, BaseEstimator):
    """Raises KeyboardInterrupt in fit, as Ctrl-C would."""

    def fit(self, X, y):
        raise KeyboardInterrupt

    def predict(self, X):  # pragma: no cover
        return X[:, 0]


def test_an_interrupt_keeps_the_finished_contenders(frame, tmp_path):
    X = frame[["a", "b", "c"]].to_numpy()
    y = frame["label"].to_numpy()
    comparison = Comparison(
        X, y, contenders=[("first", LogisticRegression()), ("stop", Interrupting())],
        cv=2, n_jobs=1,
    )  # fmt: skip
    with pytest.raises(KeyboardInterrupt):
        comparison.run(tmp_path / "out", plots=False)
    assert comparison.results_.interrupted
    assert comparison.results_.table["contender"].tolist() == ["first"]
    assert comparison.results_.contenders == ["first", "stop"]
    on_disk = pd.read_csv(tmp_path / "out" / "results.csv")
    assert on_disk["contender"].tolist() == ["first"]
    assert (
        "interrupted, finished contenders only"
        in (tmp_path / "out" / "results.md").read_text()
    )


def test_report_and_plots_from_the_results(frame, tmp_path):
    pytest.importorskip("matplotlib")
    results = Comparison(
        frame, "label", contenders=["logreg", "logreg_balanced"], cv=2
    ).run()
    path = results.to_html(tmp_path / "report.html")
    text = path.read_text(encoding="utf-8")
    # balanced accuracy, per-class recall and (both have predict_proba) the
    # reliability diagram, as the CLI's report.html has them
    assert text.count('<img src="data:image/png;base64,') == 3
    assert "reliability" in text.lower()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]
    figure = results.plot()
    assert len(figure.axes) == 2
    labels = [t.get_text() for t in figure.axes[0].get_xticklabels()]
    assert labels == ["eel (6)", "dog (15)", "cat (30)"]  # half of 12, 30, 60
    assert len(results.plot("balanced_accuracy").axes) == 1
    # observed frequency against predicted probability, and the rows per bin
    assert len(results.plot("reliability").axes) == 2
    with pytest.raises(ValueError, match="kind must be 'per_class_recall', "):
        results.plot("roc")
    assert "balanced acc." in results._repr_html_()
    assert "many >" in results.to_markdown()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"data": None, "target": "label"}, "target needs data"),
        ({"data": np.zeros((4, 2))}, "target is missing"),
        ({"data": None, "cv": [([0], [1])]}, "cv is the number of splits"),
        ({"data": None, "shot_thresholds": 5}, "shot_thresholds must be"),
        ({"data": None, "repeats": 0}, "repeats must be an integer >= 1"),
        ({"data": None, "preprocess": ["logreg", "lgoreg"]}, r"unknown .*'lgoreg'"),
    ],
)
def test_bad_settings_are_one_line_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Comparison(contenders=["logreg"], **kwargs).run()


def test_results_object_displays_failed_and_not_applicable_apart():
    table = pd.DataFrame(
        {
            "contender": ["ok", "broken"],
            "family": ["baseline", "baseline"],
            "n_splits": [2, 2],
            "n_failed": [0, 2],
            "error": ["", "ValueError: boom"],
            "balanced_accuracy_mean": [0.8, np.nan],
            "balanced_accuracy_std": [0.0, np.nan],
            "few_shot_recall_mean": [np.nan, np.nan],
        }
    )
    shown = ComparisonResults(table, None, None).display()
    assert shown["few-shot"].tolist() == ["no class", "failed"]


def test_read_options_reach_read_table(tmp_path):
    # a semicolon CSV with decimal commas and a row identifier, read as the
    # CLI's --decimal and --drop-columns would
    rng = np.random.RandomState(0)
    n = 90
    table = pd.DataFrame(
        {
            "row_id": np.arange(n),
            "x": rng.normal(size=n),
            "label": np.where(rng.rand(n) < 0.3, "yes", "no"),
        }
    )
    table["x"] += (table["label"] == "yes") * 2.0
    path = tmp_path / "comma.csv"
    table.to_csv(path, sep=";", decimal=",", index=False)
    common = {"target": "label", "contenders": ["logreg_balanced"], "cv": 3}
    with pytest.raises(ValueError, match=r"cannot drop column\(s\) 'nope'"):
        Comparison(path, **common, read_options={"drop_columns": ["nope"]}).run()
    read = Comparison(
        path, **common, read_options={"decimal": ",", "drop_columns": ["row_id"]}
    ).run()
    # the same as the features given directly, without the identifier
    given = compare(["logreg_balanced"], table[["x"]], table["label"].to_numpy(), cv=3)
    np.testing.assert_allclose(
        read.table["balanced_accuracy_mean"], given["balanced_accuracy_mean"]
    )
