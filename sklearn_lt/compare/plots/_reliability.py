"""Reliability diagram of the best contenders: :func:`plot_reliability`.

The diagram is drawn from the test folds' probabilities, which the
comparison does not keep: each fold's scorer reduces them to per-bin sums
(:func:`reliability_bins`: how many test rows fall in each of
:data:`RELIABILITY_BINS` equal-width probability bins, the sum of their
predicted probabilities and the sum of their outcomes), which travel with
the per-split frame as columns ``reliability_n_<b>``,
``reliability_p_<b>`` and ``reliability_y_<b>``. Summed over the splits
they give, per bin, the mean predicted probability against the observed
frequency, pooled over every out-of-fold test row.

Binary problems: the predicted probability of the positive class (the
second label) against the fraction of positives. Multi-class problems:
the top-label confidence (the largest probability) against the fraction
of rows whose top label is right.
"""

import numpy as np
import pandas as pd

from ._style import _require_matplotlib, _shorten

#: Equal-width bins of the reliability diagram on [0, 1].
RELIABILITY_BINS = 10

#: Bins with fewer test rows than this are drawn with hollow markers.
_SPARSE_BIN = 10

_PREFIXES = ("reliability_n_", "reliability_p_", "reliability_y_")


def reliability_columns(n_bins=RELIABILITY_BINS):
    """The per-split column names that carry the reliability sums.

    Examples
    --------
    >>> from sklearn_lt.compare.plots._reliability import reliability_columns
    >>> reliability_columns(2)
    ['reliability_n_0', 'reliability_n_1', 'reliability_p_0', 'reliability_p_1', \
'reliability_y_0', 'reliability_y_1']
    """
    return [f"{prefix}{b}" for prefix in _PREFIXES for b in range(n_bins)]


def reliability_bins(y_true, proba, labels, n_bins=RELIABILITY_BINS):
    """Per-bin sums of one test fold, for the reliability diagram.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels of the test fold.

    proba : ndarray of shape (n_samples, n_labels) or None
        Probabilities, columns in the order of ``labels``; None (a
        contender without ``predict_proba``) gives NaN everywhere.

    labels : array-like of shape (n_labels,)
        The sorted labels.

    n_bins : int, default=RELIABILITY_BINS
        Equal-width bins on [0, 1]; bin ``b`` holds ``[b/n, (b+1)/n)``,
        the last bin also 1.

    Returns
    -------
    sums : dict
        ``reliability_n_<b>`` (rows in bin ``b``), ``reliability_p_<b>``
        (sum of their predicted probabilities: P(second label) when there
        are two labels, else the top-label confidence) and
        ``reliability_y_<b>`` (sum of their outcomes: positive, or top
        label right).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_lt.compare.plots._reliability import reliability_bins
    >>> proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.3, 0.7]])
    >>> sums = reliability_bins([0, 1, 0], proba, [0, 1], n_bins=2)
    >>> [sums[f"reliability_n_{b}"] for b in range(2)]
    [1, 2]
    >>> round(sums["reliability_p_1"], 2), sums["reliability_y_1"]
    (1.5, 1.0)
    """
    columns = reliability_columns(n_bins)
    if proba is None:
        return dict.fromkeys(columns, np.nan)
    y_true = np.asarray(y_true)
    labels = np.asarray(labels)
    proba = np.asarray(proba, dtype=float)
    if len(labels) == 2:
        predicted = proba[:, 1]
        outcome = y_true == labels[1]
    else:
        predicted = proba.max(axis=1)
        outcome = labels[proba.argmax(axis=1)] == y_true
    index = np.clip((predicted * n_bins).astype(int), 0, n_bins - 1)
    counts = np.bincount(index, minlength=n_bins)
    p_sums = np.bincount(index, weights=predicted, minlength=n_bins)
    y_sums = np.bincount(index, weights=outcome.astype(float), minlength=n_bins)
    sums = {}
    for prefix, values in zip(_PREFIXES, (counts, p_sums, y_sums)):
        for b in range(n_bins):
            cast = int if prefix == _PREFIXES[0] else float
            sums[f"{prefix}{b}"] = cast(values[b])
    return sums


def reliability_curves(per_split):
    """Pool the per-split sums: one row per contender and non-empty bin.

    Parameters
    ----------
    per_split : pandas.DataFrame
        The per-split frame of the comparison, with ``contender`` and the
        :func:`reliability_columns`.

    Returns
    -------
    curves : pandas.DataFrame
        Columns ``contender``, ``bin``, ``n`` (test rows), ``predicted``
        (their mean predicted probability) and ``observed`` (the fraction
        of positives, or of right top labels). Contenders without
        probabilities (all NaN) have no row.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn_lt.compare.plots._reliability import reliability_curves
    >>> per_split = pd.DataFrame({
    ...     "contender": ["a", "a"], "reliability_n_0": [1, 3],
    ...     "reliability_p_0": [0.2, 0.6], "reliability_y_0": [0.0, 2.0]})
    >>> reliability_curves(per_split)[["n", "predicted", "observed"]].values.tolist()
    [[4.0, 0.2, 0.5]]
    """
    n_bins = sum(str(c).startswith(_PREFIXES[0]) for c in per_split.columns)
    rows = []
    for name, frame in per_split.groupby("contender", sort=False):
        for b in range(n_bins):
            n = pd.to_numeric(frame[f"{_PREFIXES[0]}{b}"], errors="coerce").sum(
                min_count=1
            )
            if not n > 0:
                continue
            p = pd.to_numeric(frame[f"{_PREFIXES[1]}{b}"], errors="coerce").sum()
            y = pd.to_numeric(frame[f"{_PREFIXES[2]}{b}"], errors="coerce").sum()
            rows.append(
                {
                    "contender": name,
                    "bin": b,
                    "n": float(n),
                    "predicted": p / n,
                    "observed": y / n,
                }
            )
    return pd.DataFrame(
        rows, columns=["contender", "bin", "n", "predicted", "observed"]
    )


def best_with_probabilities(table, curves, n_best=3):
    """The ``n_best`` contenders by mean balanced accuracy that have curves."""
    have = set(curves["contender"])
    ranked = table.assign(
        _score=pd.to_numeric(table["balanced_accuracy_mean"], errors="coerce")
    ).sort_values("_score", ascending=False, kind="stable", na_position="last")
    names = [
        name
        for name, score in zip(ranked["contender"], ranked["_score"])
        if name in have and np.isfinite(score)
    ]
    return names[:n_best]


def plot_reliability(per_split, table, *, figure=None, n_best=3, binary=None):
    """Reliability diagram of the ``n_best`` contenders (best balanced accuracy).

    Top: mean predicted probability against observed frequency per bin,
    one line per contender, the diagonal for perfect calibration; a bin of
    fewer than 10 test rows (pooled over the splits) has a hollow marker.
    Bottom: the share of test rows in each bin.

    Parameters
    ----------
    per_split : pandas.DataFrame
        The per-split frame, with the :func:`reliability_columns`.

    table : pandas.DataFrame
        The result table (``contender``, ``balanced_accuracy_mean``).

    figure : matplotlib.figure.Figure, default=None
        Where to draw; a new off-screen figure (no pyplot) if None.

    n_best : int, default=3
        How many contenders, best first, among those with probabilities.

    binary : bool, default=None
        Whether the labels are binary (the axis then reads P(positive));
        None guesses from the table's ``probabilities`` note only as a
        label, the curves do not depend on it.

    Returns
    -------
    figure : matplotlib.figure.Figure
    """
    _require_matplotlib()
    if figure is None:
        from matplotlib.figure import Figure

        figure = Figure(figsize=(6.4, 6.4), layout="constrained")
    curves = reliability_curves(per_split)
    names = best_with_probabilities(table, curves, n_best)
    top, bottom = figure.subplots(
        2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    top.plot([0, 1], [0, 1], ls="--", color="#000000", lw=1, label="perfect")
    width = 1 / max(1, int(curves["bin"].max()) + 1) if len(curves) else 0.1
    from matplotlib import colormaps

    colors = [colormaps["tab10"](i) for i in range(10)]
    for i, name in enumerate(names):
        curve = curves[curves["contender"] == name]
        color = colors[i % len(colors)]
        top.plot(
            curve["predicted"],
            curve["observed"],
            marker="o",
            color=color,
            label=_shorten(name, 40, middle=True),
        )
        # a bin of a handful of rows is noise: a hollow marker says so
        sparse = curve[curve["n"] < _SPARSE_BIN]
        top.scatter(
            sparse["predicted"],
            sparse["observed"],
            marker="o",
            facecolors="white",
            edgecolors=[color],
            zorder=3,
        )
        offset = (i - (len(names) - 1) / 2) * width / (len(names) + 1)
        bottom.bar(
            (curve["bin"] + 0.5) * width + offset,
            curve["n"] / curve["n"].sum(),
            width=width / (len(names) + 1),
            color=color,
        )
    what = "P(positive class)" if binary else "top-label confidence"
    if binary is None:
        what = "predicted probability (binary: P(positive); else top label)"
    top.set_xlim(0, 1)
    top.set_ylim(0, 1)
    top.set_ylabel("observed frequency")
    top.set_title("Reliability of the test folds' probabilities")
    if names:
        top.legend(loc="best", fontsize="small", framealpha=0.85)
    else:
        top.text(0.5, 0.5, "no contender with predict_proba", ha="center")
    bottom.set_xlabel(what)
    bottom.set_ylabel("share of rows")
    return figure
