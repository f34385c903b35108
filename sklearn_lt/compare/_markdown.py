"""The result table as text: printed, in Markdown, and the summary lines.

:func:`display_table` rounds the main columns of a result table (a failed
contender shows ``failed``, a shot group without a class ``no class``);
:func:`markdown_table` writes any frame of strings as a GitHub Markdown
table; :func:`failure_summary` and :func:`statistics_summary` are the
paragraphs printed after the table and written to ``results.md``;
:func:`results_markdown` assembles ``results.md``.
"""

import os
import platform

import numpy as np
import pandas as pd

from .html import _META_FIELDS
from .scoring import _CALIBRATION_METRICS, _SHOT_METRICS

__all__ = [
    "display_table",
    "failure_summary",
    "machine_description",
    "markdown_table",
    "results_markdown",
    "statistics_summary",
]

# Columns of the printed and Markdown tables: (header, metric); each metric
# shows its mean, and balanced accuracy also its std.
_DISPLAY = (
    ("balanced acc.", "balanced_accuracy"),
    ("macro-F1", "f1_macro"),
    ("G-mean", "geometric_mean"),
    ("many-shot", "many_shot_recall"),
    ("medium-shot", "medium_shot_recall"),
    ("few-shot", "few_shot_recall"),
    ("worst class", "worst_class_recall"),
    ("Brier", "brier_score"),
    ("ECE", "calibration_error"),
    ("fit s", "fit_seconds"),
    ("predict s", "predict_seconds"),
)

_TESTS = {
    "wilcoxon": "Wilcoxon signed-rank test (scipy.stats.wilcoxon)",
    "ttest_rel": "paired t-test (scipy.stats.ttest_rel)",
}


def _format(value, digits=3):
    return "n/a" if value is None or np.isnan(value) else f"{value:.{digits}f}"


def display_table(table):
    """The main columns of a result table, formatted as strings.

    Parameters
    ----------
    table : pandas.DataFrame
        Output of :func:`sklearn_lt.compare.compare`.

    Returns
    -------
    display : pandas.DataFrame
        One row per contender, in the order of ``table``: the contender, its
        family, balanced accuracy as ``mean ± std`` and the means of the other
        metrics, rounded; ``failed`` for the scores of a contender that failed
        on a split, ``no class`` for a shot group that had no class; and,
        when the table has them, the difference to the best baseline and
        its p-value.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn_lt.compare._markdown import display_table
    >>> table = pd.DataFrame({
    ...     "contender": ["a"], "family": ["baseline"], "n_failed": [0],
    ...     "balanced_accuracy_mean": [0.9], "balanced_accuracy_std": [0.01],
    ...     "many_shot_recall_mean": [float("nan")]})
    >>> display_table(table).iloc[0].tolist()
    ['a', 'baseline', '0.900 ± 0.010', 'no class']
    """
    display = pd.DataFrame({"contender": table["contender"], "family": table["family"]})
    failed = (
        table["n_failed"].to_numpy() > 0
        if "n_failed" in table
        else np.zeros(len(table), dtype=bool)
    )
    for header, metric in _DISPLAY:
        if f"{metric}_mean" not in table:
            continue
        means = table[f"{metric}_mean"].to_numpy(dtype=float)
        digits = 2 if metric == "fit_seconds" else 3
        cells = []
        for i, mean in enumerate(means):
            if np.isnan(mean) and failed[i]:
                cells.append("failed")
            elif np.isnan(mean) and metric in _SHOT_METRICS:
                cells.append("no class")
            elif np.isnan(mean) and metric in _CALIBRATION_METRICS:
                cells.append("n/a")
            elif metric == "balanced_accuracy":
                std = table[f"{metric}_std"].iloc[i]
                cells.append(f"{_format(mean)} ± {_format(std)}")
            else:
                cells.append(_format(mean, digits))
        display[header] = cells
    if "diff_vs_best_baseline" in table and table["p_value"].notna().any():
        display["vs best baseline"] = [
            "" if np.isnan(d) else f"{d:+.3f}" for d in table["diff_vs_best_baseline"]
        ]
        display["p"] = [_format_p(p) for p in table["p_value"]]
    return display.reset_index(drop=True)


def probability_note(table):
    """The sentence under the table: where each contender's probabilities come from.

    Parameters
    ----------
    table : pandas.DataFrame
        The result table, with its ``probabilities`` column.

    Returns
    -------
    note : str
        ``""`` if the table has no calibration columns.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn_lt.compare._markdown import probability_note
    >>> table = pd.DataFrame({
    ...     "contender": ["ours", "svc"], "brier_score_mean": [0.1, None],
    ...     "probabilities": ["training prior (closed form)", "none"]})
    >>> print(probability_note(table))  # doctest: +NORMALIZE_WHITESPACE
    Calibration (Brier score, ECE: top-label expected calibration error, 15
    bins; lower is better) of the test folds' probabilities. At the training
    prior in closed form, softmax(f(x) + tau log pi) (f: the logit-adjusted
    scores; undoing a post-hoc adjustment gives back the inner model's
    probabilities; a soft vote averages its members'), for: ours. Without
    predict_proba (n/a): svc. Training-prior probabilities are calibrated
    for test rows drawn like the training rows; where the test classes'
    frequencies differ (the bundled demo's balanced test sets), they are not
    expected to be.
    """
    if "brier_score_mean" not in table or "probabilities" not in table:
        return ""
    groups = {}
    for name, source in zip(table["contender"], table["probabilities"]):
        groups.setdefault(source, []).append(str(name))
    text = (
        "Calibration (Brier score, ECE: top-label expected calibration error, "
        "15 bins; lower is better) of the test folds' probabilities."
    )
    labels = (
        (
            "training prior (closed form)",
            "At the training prior in closed form, softmax(f(x) + tau log pi)"
            " (f: the logit-adjusted scores; undoing a post-hoc adjustment gives"
            " back the inner model's probabilities; a soft vote averages its"
            " members'), for",
        ),
        (
            "predict_proba as given",
            "As the contender's predict_proba gives them (balanced-weighted or "
            "resampled contenders give balanced, not training-prior, "
            "probabilities), for",
        ),
        ("none", "Without predict_proba (n/a)"),
    )
    for source, label in labels:
        if groups.get(source):
            text += f" {label}: {', '.join(groups[source])}."
    return text + (
        " Training-prior probabilities are calibrated for test rows drawn"
        " like the training rows; where the test classes' frequencies differ"
        " (the bundled demo's balanced test sets), they are not expected to be."
    )


def _format_p(p):
    if np.isnan(p):
        return ""
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def markdown_table(frame):
    """A GitHub-flavoured Markdown table of a frame of strings.

    Parameters
    ----------
    frame : pandas.DataFrame
        The cells (converted with ``str``); text columns are left-aligned,
        the others right-aligned.

    Returns
    -------
    markdown : str
        Header row, alignment row and one row per line of ``frame``.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn_lt.compare._markdown import markdown_table
    >>> print(markdown_table(pd.DataFrame({"name": ["a"], "score": ["0.5"]})))
    | name | score |
    | :--- | ----: |
    | a | 0.5 |
    """
    left = {"contender", "family", "name", "estimator"}

    def cell(value):
        return str(value).replace("|", "\\|")

    header = "| " + " | ".join(cell(c) for c in frame.columns) + " |"
    align = "| " + " | ".join(":---" if c in left else "----:" for c in frame.columns)
    rows = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.to_numpy()]
    return "\n".join([header, align + " |", *rows])


def failure_summary(table):
    """One paragraph naming every contender that failed, and why.

    Parameters
    ----------
    table : pandas.DataFrame
        A result table with ``contender``, ``n_splits``, ``n_failed`` and
        ``error`` columns.

    Returns
    -------
    summary : str
        ``""`` if nothing failed. Printed and written after a
        ``Failures:`` label.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn_lt.compare._markdown import failure_summary
    >>> table = pd.DataFrame({"contender": ["a", "b"], "n_splits": [5, 5],
    ...                       "n_failed": [0, 5], "error": ["", "ValueError: no"]})
    >>> failure_summary(table)
    '1 of 2 contenders failed. b failed on all 5 splits (ValueError: no).'
    """
    failed = table[table["n_failed"] > 0]
    if failed.empty:
        return ""
    parts = []
    for _, row in failed.iterrows():
        where = (
            f"all {row['n_splits']} splits"
            if row["n_failed"] == row["n_splits"]
            else f"{row['n_failed']} of {row['n_splits']} splits"
        )
        parts.append(f"{row['contender']} failed on {where} ({row['error']})")
    return f"{len(failed)} of {len(table)} contenders failed. " + "; ".join(parts) + "."


def statistics_summary(table, per_split):
    """The best of ours against the best baseline, with the paired test.

    Parameters
    ----------
    table : pandas.DataFrame
        A result table with the ``family``, ``n_failed`` and
        ``balanced_accuracy_mean`` columns.

    per_split : pandas.DataFrame
        The per-split scores.

    Returns
    -------
    summary : str
        One or two sentences; ``""`` if there is no contender of each
        family that ran on every split.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn_lt.compare._markdown import statistics_summary
    >>> table = pd.DataFrame({
    ...     "contender": ["ours", "base"], "family": ["sklearn_lt", "baseline"],
    ...     "n_failed": [0, 0], "balanced_accuracy_mean": [0.85, 0.8]})
    >>> per_split = pd.DataFrame({
    ...     "contender": ["ours"] * 3 + ["base"] * 3, "split": [0, 1, 2] * 2,
    ...     "balanced_accuracy": [0.9, 0.8, 0.85, 0.8, 0.75, 0.8]})
    >>> print(statistics_summary(table, per_split))  # doctest: +ELLIPSIS
    Best sklearn_lt contender: ours, 0.850 balanced accuracy; best baseline: base, 0.800. Difference over 3 paired splits: +0.067 (p = 0.057, paired t-test (scipy.stats.ttest_rel), used because ...
    """  # noqa: E501
    from ._stats import MIN_WILCOXON_SPLITS, paired_comparison

    ran = table[(table["n_failed"] == 0) & table["balanced_accuracy_mean"].notna()]
    ours = ran[ran["family"] == "sklearn_lt"]
    base = ran[ran["family"] == "baseline"]
    if ours.empty or base.empty:
        return ""
    paired, best = paired_comparison(table, per_split)
    top = ours.sort_values("balanced_accuracy_mean", ascending=False, kind="stable")
    top = top.iloc[0]
    best_row = base[base["contender"] == best].iloc[0]
    text = (
        f"Best sklearn_lt contender: {top['contender']}, "
        f"{_format(top['balanced_accuracy_mean'])} balanced accuracy; best "
        f"baseline: {best}, {_format(best_row['balanced_accuracy_mean'])}."
    )
    result = paired.loc[top["contender"]]
    if result["test"]:
        n = int(result["n_pairs"])
        if result["test"] == "wilcoxon":
            why = (
                f"used with {MIN_WILCOXON_SPLITS} or more splits as it assumes "
                "nothing about the shape of the differences"
            )
        else:
            why = (
                f"used because with fewer than {MIN_WILCOXON_SPLITS} splits the "
                "Wilcoxon signed-rank test cannot reach p < 0.05 (its smallest "
                f"two-sided p-value is 2/2^n); more splits with --repeats"
            )
        text += (
            f" Difference over {n} paired splits: "
            f"{result['diff_vs_best_baseline']:+.3f} (p = "
            f"{_format_p(result['p_value'])}, {_TESTS[result['test']]}, {why}). "
            "Splits that share training data make p-values optimistic "
            "(Nadeau and Bengio, 2003)."
        )
    return text


def machine_description():
    """One line: operating system, cores, Python and torch versions.

    Returns
    -------
    description : str
    """
    import torch

    cpu = platform.processor() or platform.machine()
    return (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPU core(s)"
        f"{f' ({cpu})' if cpu and cpu != platform.machine() else ''}, "
        f"Python {platform.python_version()}, torch {torch.__version__} "
        f"({'CUDA' if torch.cuda.is_available() else 'CPU'})"
    )


def results_markdown(table, *, meta, many_shot=None, few_shot=None):
    """The text of ``results.md``.

    Parameters
    ----------
    table : pandas.DataFrame
        The result table.

    meta : dict of str
        ``command``, ``data``, ``machine``, ``settings``, ``class_counts``,
        ``failures``, ``statistics``, ``wall_time`` (missing or empty keys
        are left out).

    many_shot, few_shot : float, default=None
        The shot-group thresholds, for the explanation. None: those of
        ``table.attrs["shot_thresholds"]`` (set by
        :func:`~sklearn_lt.compare.compare`), else 100 and 20.

    Returns
    -------
    markdown : str
    """
    default = table.attrs.get("shot_thresholds", (100, 20))
    many_shot = default[0] if many_shot is None else many_shot
    few_shot = default[1] if few_shot is None else few_shot
    lines = ["# sklearn-lt compare", ""]
    for key, label in _META_FIELDS:
        value = meta.get(key, "")
        if value:
            if key == "command":
                value = f"`{value}`"
            elif not value.endswith("."):
                value += "."
            lines += [f"{label}: {value}", ""]
    lines += [
        "Sorted by balanced accuracy (mean ± std over the splits); the other "
        "columns are means over the splits. Shot groups by training examples "
        f"per class: many > {many_shot:g}, medium {few_shot:g}-{many_shot:g}, "
        f"few < {few_shot:g}; `no class` marks a group without a class, "
        "`failed` a contender that failed on a split, `n/a` a value that "
        "does not apply.",
        "",
        markdown_table(display_table(table)),
        "",
    ]
    note = probability_note(table)
    if note:
        lines += [note, ""]
    if meta.get("statistics"):
        lines += [meta["statistics"], ""]
    if meta.get("failures"):
        lines += [f"Failures: {meta['failures']}", ""]
    return "\n".join(lines)
