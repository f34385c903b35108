"""Is the win real? Paired tests of our contenders against the best baseline.

Every contender is scored on the same splits, so the scores pair up: for
each of ours, :func:`paired_comparison` takes the per-split differences of
balanced accuracy to the best baseline (the baseline with the highest mean
balanced accuracy that failed on no split) and tests whether they are
centred on zero, with scipy's:

* Wilcoxon signed-rank test (:func:`scipy.stats.wilcoxon`), which assumes
  nothing about the shape of the differences, when there are at least
  ``MIN_WILCOXON_SPLITS`` (6) pairs: with ``n`` pairs its smallest possible
  two-sided p-value is ``2 / 2**n``, so with 5 or fewer it can never reach
  0.05;
* the paired t-test (:func:`scipy.stats.ttest_rel`) for fewer pairs, which
  assumes roughly normal differences.

Cross-validation folds share training data, so their scores are not
independent and these p-values are optimistic (Nadeau and Bengio, 2003);
``sklearn-lt compare --repeats`` adds splits with new seeds.
"""

import warnings

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["MIN_WILCOXON_SPLITS", "paired_comparison", "paired_test"]

MIN_WILCOXON_SPLITS = 6


def paired_test(ours, baseline):
    """Mean paired difference and a two-sided paired test's p-value.

    Parameters
    ----------
    ours, baseline : array-like of shape (n_splits,)
        Scores on the same splits; pairs with a NaN are left out.

    Returns
    -------
    difference : float
        Mean of ``ours - baseline`` (NaN without pairs).

    p_value : float
        NaN with fewer than 2 pairs; 1.0 if every difference is 0.

    test : str
        ``"wilcoxon"``, ``"ttest_rel"`` or ``""`` (no test).

    n_pairs : int
        The number of pairs used.

    Examples
    --------
    >>> from sklearn_lt.compare._stats import paired_test
    >>> difference, p, test, n = paired_test([0.9, 0.8, 0.85], [0.8, 0.75, 0.8])
    >>> round(difference, 3), test, n
    (0.067, 'ttest_rel', 3)
    """
    ours = np.asarray(ours, dtype=float)
    baseline = np.asarray(baseline, dtype=float)
    paired = np.isfinite(ours) & np.isfinite(baseline)
    differences = ours[paired] - baseline[paired]
    n_pairs = int(paired.sum())
    if n_pairs == 0:
        return np.nan, np.nan, "", 0
    difference = float(differences.mean())
    if n_pairs < 2:
        return difference, np.nan, "", n_pairs
    if np.all(differences == 0):
        return difference, 1.0, "", n_pairs
    if n_pairs >= MIN_WILCOXON_SPLITS:
        return (
            difference,
            float(stats.wilcoxon(differences).pvalue),
            "wilcoxon",
            n_pairs,
        )
    with warnings.catch_warnings():
        # differences equal up to rounding: scipy warns of precision loss and
        # returns the (tiny) p-value of a nearly infinite t statistic
        warnings.simplefilter("ignore", RuntimeWarning)
        p_value = float(stats.ttest_rel(ours[paired], baseline[paired]).pvalue)
    return difference, p_value, "ttest_rel", n_pairs


def paired_comparison(table, per_split, metric="balanced_accuracy"):
    """Each of our contenders against the best baseline, split by split.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per contender with columns ``contender``, ``family``,
        ``n_failed`` and ``<metric>_mean``.

    per_split : pandas.DataFrame
        One row per contender and split with columns ``contender``,
        ``split`` and ``metric``.

    metric : str, default="balanced_accuracy"
        The score compared.

    Returns
    -------
    result : pandas.DataFrame
        Indexed by contender (every row of ``table``), with columns
        ``diff_vs_best_baseline`` and ``p_value`` (NaN for baselines, and
        for all when no baseline ran on every split), ``test`` and
        ``n_pairs``.

    best_baseline : str or None
        The name of the baseline the others are paired with.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn_lt.compare._stats import paired_comparison
    >>> table = pd.DataFrame({
    ...     "contender": ["ours", "base"], "family": ["sklearn_lt", "baseline"],
    ...     "n_failed": [0, 0], "balanced_accuracy_mean": [0.85, 0.8]})
    >>> per_split = pd.DataFrame({
    ...     "contender": ["ours"] * 3 + ["base"] * 3, "split": [0, 1, 2] * 2,
    ...     "balanced_accuracy": [0.9, 0.8, 0.85, 0.8, 0.75, 0.8]})
    >>> result, best = paired_comparison(table, per_split)
    >>> best, float(round(result.loc["ours", "diff_vs_best_baseline"], 3))
    ('base', 0.067)
    """
    result = pd.DataFrame(
        {
            "diff_vs_best_baseline": np.nan,
            "p_value": np.nan,
            "test": "",
            "n_pairs": 0,
        },
        index=pd.Index(table["contender"], name="contender"),
    )
    mean = f"{metric}_mean"
    baselines = table[
        (table["family"] == "baseline") & (table["n_failed"] == 0) & table[mean].notna()
    ]
    if baselines.empty:
        return result, None
    best = baselines.sort_values(mean, ascending=False, kind="stable").iloc[0]
    best = str(best["contender"])
    scores = per_split.pivot_table(
        index="split", columns="contender", values=metric, aggfunc="first",
        dropna=False,
    )  # fmt: skip
    for name in table.loc[table["family"] == "sklearn_lt", "contender"]:
        if name not in scores:
            continue
        difference, p_value, test, n_pairs = paired_test(scores[name], scores[best])
        result.loc[name] = [difference, p_value, test, n_pairs]
    return result, best
