"""A self-contained HTML report of a comparison.

:func:`write_html_report` turns the result table and the per-class frame of
:func:`sklearn_lt.compare.compare` (plus a few lines about the run: the
command, the data, the machine) into one ``report.html`` that opens in any
browser without network access: the style sheet is inline and the plots
(``balanced_accuracy.png`` and ``per_class_recall.png``, written beside it
by :func:`sklearn_lt.compare.plots.write_plots`) are embedded as base64 data
URIs, so the file can be mailed or attached to a ticket on its own.

Every string from the inputs (contender names, error messages, the command)
is HTML-escaped. Only the standard library (:mod:`html`, :mod:`base64`) and
pandas are used.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> import pandas as pd
>>> from sklearn_lt.compare.html import write_html_report
>>> table = pd.DataFrame({
...     "contender": ["ours", "<b>base</b>"],
...     "family": ["sklearn_lt", "baseline"],
...     "balanced_accuracy_mean": [0.9, 0.8],
...     "balanced_accuracy_std": [0.01, 0.02],
... })
>>> with tempfile.TemporaryDirectory() as out:
...     path = write_html_report(Path(out) / "report.html", table, None,
...                              {"command": "sklearn-lt compare"})
...     text = path.read_text(encoding="utf-8")
>>> "&lt;b&gt;base&lt;/b&gt;" in text and "<b>base</b>" not in text
True
"""

import base64
import html
import math
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from .._atomic import atomic_write

__all__ = ["write_html_report"]

#: The plots embedded when present beside the report, in this order.
_PLOTS = (
    ("balanced_accuracy.png", "Balanced accuracy of every contender"),
    ("per_class_recall.png", "Per-class recall, one panel per contender"),
    (
        "reliability.png",
        "Reliability of the three best contenders' test-fold probabilities "
        "(at the training prior: closed form for the logit-adjusted models and "
        "their soft votes, predict_proba as given for the others; see the note "
        "under the results)",
    ),
)

#: The ``meta`` keys shown under "The run", in this order, with their labels.
_META_FIELDS = (
    ("command", "Command"),
    ("data", "Data"),
    ("class_counts", "Class counts"),
    ("settings", "Settings"),
    ("machine", "Machine"),
    ("wall_time", "Wall time"),
)

# Columns of the result table: (mean column, header, digits).
_METRICS = (
    ("f1_macro", "macro-F1", 3),
    ("geometric_mean", "G-mean", 3),
    ("many_shot_recall", "many-shot", 3),
    ("medium_shot_recall", "medium-shot", 3),
    ("few_shot_recall", "few-shot", 3),
    ("worst_class_recall", "worst class", 3),
    ("brier_score", "Brier", 3),
    ("calibration_error", "ECE", 3),
    ("fit_seconds", "fit s", 2),
    ("predict_seconds", "predict s", 3),
)

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_MAX_IMAGE_BYTES = 20 * 2**20  # a bigger file is not embedded (it is named)

_CSS = """
:root { --ours: #1f77b4; --base: #6b6b6b; --bad: #c0392b; --line: #dcdcdc; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto,
       "Helvetica Neue", Arial, sans-serif; color: #1d1d1d; margin: 0;
       background: #f6f7f9; }
main { max-width: 1320px; margin: 0 auto; padding: 24px 28px 48px;
       background: #fff; }
h1 { font-size: 1.6em; margin: 0 0 4px; }
h2 { font-size: 1.2em; margin: 32px 0 10px; padding-bottom: 4px;
     border-bottom: 1px solid var(--line); }
.lead { color: #555; margin: 0 0 16px; }
.box { border-left: 4px solid var(--ours); background: #eef5fb;
       padding: 10px 14px; margin: 12px 0; }
.box.failures { border-color: var(--bad); background: #fdecea; }
.box p { margin: 4px 0; }
dl.run { display: grid; grid-template-columns: max-content 1fr;
         gap: 6px 18px; margin: 0; }
dl.run dt { font-weight: 600; color: #444; }
dl.run dd { margin: 0; overflow-wrap: anywhere; }
code, pre { font: 13px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas,
            monospace; }
pre { margin: 0; white-space: pre-wrap; overflow-wrap: anywhere;
      background: #f3f3f3; padding: 6px 8px; border-radius: 4px; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-size: 13px; width: 100%; }
th, td { padding: 5px 6px; border-bottom: 1px solid var(--line);
         vertical-align: top; }
th { background: #f0f1f3; text-align: left; position: sticky; top: 0;
     font-weight: 600; line-height: 1.25; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.num { white-space: nowrap; }
tr.ours td.name { border-left: 4px solid var(--ours); }
tr.baseline td.name { border-left: 4px solid #bdbdbd; }
td.name b { color: var(--ours); }
tr.baseline td.name b { color: #333; }
.est { color: #777; font-size: 11.5px; max-width: 300px; white-space: nowrap;
       overflow: hidden; text-overflow: ellipsis; }
.tag { display: inline-block; font-size: 11.5px; padding: 0 6px;
       border-radius: 8px; background: #e6e6e6; color: #333; }
tr.ours .tag { background: var(--ours); color: #fff; }
tr.failed td { background: #fdecea; }
tr.partial td { background: #fff6e0; }
.bad { color: var(--bad); font-weight: 600; }
.err { color: var(--bad); font-size: 12.5px; overflow-wrap: anywhere;
       min-width: 16em; max-width: 360px; }
.muted { color: #888; }
figure { margin: 16px 0 28px; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line); }
figcaption { color: #555; font-size: 13px; margin-top: 4px; }
table.recall td.num { min-width: 52px; }
footer { color: #888; font-size: 12px; margin-top: 40px; }
"""


def _text(value):
    """``value`` as escaped HTML text ("" for None / NaN)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return html.escape(str(value), quote=True)


#: What an empty cell says: the contender failed, or the score does not apply
#: (a shot group without a class: "no class", as in results.md; a class
#: absent from the test splits: "n/a").
_FAILED = '<span class="bad" title="the contender failed on a split">failed</span>'
_NOT_APPLICABLE = '<span class="muted" title="{why}">n/a</span>'
_NO_CLASS = '<span class="muted" title="no class in this shot group">no class</span>'


def _number(value, digits=3, *, missing=None):
    """``value`` rounded; a missing one as ``missing`` (default: n/a)."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        value = math.nan
    if not math.isfinite(value):
        return missing or _NOT_APPLICABLE.format(why="no value")
    return f"{value:.{digits}f}"


def _signed(value, digits=3):
    try:
        value = float(value)
    except (TypeError, ValueError):
        return ""
    return f"{value:+.{digits}f}" if math.isfinite(value) else ""


def _p_value(value):
    try:
        value = float(value)
    except (TypeError, ValueError):
        return ""
    if not math.isfinite(value):
        return ""
    return "&lt;0.001" if value < 0.001 else f"{value:.2g}"


def _row_value(row, column, default=None):
    value = row.get(column, default)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return default
    return value


def _failure(row):
    """(css class, note) of a result row: failed, partial or ok."""
    mean = _row_value(row, "balanced_accuracy_mean")
    n_splits = _row_value(row, "n_splits")
    n_failed = _row_value(row, "n_failed")
    scored = mean is not None and math.isfinite(float(mean))
    if n_failed is None:
        n_failed = None if scored else n_splits
    fraction = (
        f"{int(n_failed)}/{int(n_splits)} splits"
        if n_failed is not None and n_splits is not None
        else ""
    )
    if not scored:
        return "failed", f"failed ({fraction})" if fraction else "failed"
    if n_failed:
        return "partial", f"{fraction} failed" if fraction else "some splits failed"
    return "", ""


def _results_table(table):
    """The result table as HTML: one ``<tr>`` per contender."""
    columns = set(table.columns)
    metrics = [m for m in _METRICS if f"{m[0]}_mean" in columns]
    has_diff = "diff_vs_best_baseline" in columns
    has_p = "p_value" in columns
    records = table.to_dict("records")
    # the failures column only when something failed
    has_error = any(_failure(row)[0] or _row_value(row, "error", "") for row in records)
    head = ['<th class="num">#</th>', "<th>contender</th>", "<th>family</th>"]
    head.append('<th class="num">balanced accuracy</th>')
    if has_diff:
        head.append(
            '<th class="num" title="mean paired difference over the splits">'
            "Δ vs best baseline</th>"
        )
    if has_p:
        head.append('<th class="num" title="paired test across splits">p</th>')
    head += [f'<th class="num">{_text(label)}</th>' for _, label, _ in metrics]
    if "n_splits" in columns:
        head.append('<th class="num">splits</th>')
    if has_error:
        head.append("<th>failures</th>")
    rows = []
    for rank, row in enumerate(records, start=1):
        family = _row_value(row, "family", "")
        status, note = _failure(row)
        classes = ["ours" if family == "sklearn_lt" else "baseline"]
        if status:
            classes.append(status)
        name = f"<b>{_text(row['contender'])}</b>"
        estimator = _row_value(row, "estimator", "")
        if estimator:
            name += (
                f'<div class="est" title="{_text(estimator)}">{_text(estimator)}</div>'
            )
        tag = "ours" if family == "sklearn_lt" else family or ""
        cells = [
            f'<td class="num">{rank}</td>',
            f'<td class="name">{name}</td>',
            f'<td><span class="tag">{_text(tag)}</span></td>',
        ]
        if status == "failed":
            cells.append(f'<td class="num bad">{_text(note)}</td>')
        else:
            score = _number(row.get("balanced_accuracy_mean"))
            std = row.get("balanced_accuracy_std")
            if std is not None and math.isfinite(float(std)):
                score += f" ± {float(std):.3f}"
            cells.append(f'<td class="num">{score}</td>')
        if has_diff:
            cells.append(
                f'<td class="num">{_signed(row.get("diff_vs_best_baseline"))}</td>'
            )
        if has_p:
            cells.append(f'<td class="num">{_p_value(row.get("p_value"))}</td>')
        for metric, _, digits in metrics:
            value = row.get(f"{metric}_mean")
            std = row.get(f"{metric}_std")
            title = (
                f' title="± {float(std):.{digits}f}"'
                if std is not None and math.isfinite(float(std))
                else ""
            )
            if status:
                missing = _FAILED
            elif metric.endswith("_shot_recall"):
                missing = _NO_CLASS
            elif metric in ("brier_score", "calibration_error"):
                missing = "n/a"
            else:
                missing = None
            number = _number(value, digits, missing=missing)
            cells.append(f'<td class="num"{title}>{number}</td>')
        if "n_splits" in columns:
            cells.append(f'<td class="num">{_text(_row_value(row, "n_splits"))}</td>')
        if has_error:
            error = _row_value(row, "error", "")
            text = ""
            if status == "partial":  # "failed (k/n splits)" is in the score cell
                text = f'<span class="bad">{_text(note)}</span>'
            if error:
                text += f'<div class="err">{_text(error)}</div>'
            cells.append(f"<td>{text}</td>")
        rows.append(f'<tr class="{" ".join(classes)}">' + "".join(cells) + "</tr>")
    return (
        '<div class="scroll"><table class="results">\n<thead><tr>'
        + "".join(head)
        + "</tr></thead>\n<tbody>\n"
        + "\n".join(rows)
        + "\n</tbody></table></div>"
    )


def _recall_cell(value, failed=False):
    if value is None or not math.isfinite(value):
        if failed:
            return f'<td class="num">{_FAILED}</td>'
        why = "no test example of this class"
        return f'<td class="num">{_NOT_APPLICABLE.format(why=why)}</td>'
    # white at recall 1, deepening to orange-red at 0.5 and below: the weak
    # classes stand out; the text stays dark
    level = min(max((1.0 - value) / 0.5, 0.0), 1.0)
    green, blue = round(255 - 120 * level), round(255 - 170 * level)
    return (
        f'<td class="num" style="background: rgb(255,{green},{blue})">{value:.2f}</td>'
    )


def _per_class_table(per_class, order, failed=()):
    """Mean recall over splits, contenders x classes (smallest class first).

    ``failed``: the contenders that failed on a split (their missing cells
    say "failed"; other missing cells "n/a").
    """
    needed = {"contender", "class", "train_count", "recall"}
    if per_class is None or not needed <= set(per_class.columns) or per_class.empty:
        return ""
    from .plots._recall import _mean_recall  # no matplotlib: numpy and pandas only

    recall, counts = _mean_recall(per_class)
    names = [name for name in order if name in recall.index]
    names += [name for name in recall.index if name not in names]
    head = "<th>contender</th>" + "".join(
        f'<th class="num">{_text(label)}<br><span class="muted">'
        f"{_number(count, 0)} train</span></th>"
        for label, count in counts.items()
    )
    rows = []
    for name in names:
        values = recall.loc[name].to_numpy(dtype=float)
        cells = "".join(_recall_cell(float(v), name in failed) for v in values)
        rows.append(f"<tr><td>{_text(name)}</td>{cells}</tr>")
    return (
        "<h2>Per-class recall</h2>\n"
        '<p class="lead">Recall on the test data, mean over the splits; the '
        "classes from the smallest training set to the largest (the tail on "
        "the left); the weaker the recall, the redder the cell. "
        "<i>failed</i>: the contender failed on a split; <i>n/a</i>: no test "
        "example of the class.</p>\n"
        '<div class="scroll"><table class="recall"><thead><tr>'
        + head
        + "</tr></thead><tbody>\n"
        + "\n".join(rows)
        + "\n</tbody></table></div>"
    )


def _image(path, caption):
    """A ``<figure>`` with the PNG at ``path`` inline, or "" if unusable."""
    try:
        if path.stat().st_size > _MAX_IMAGE_BYTES:
            return (
                f'<p class="muted">{_text(path.name)} is larger than '
                f"{_MAX_IMAGE_BYTES // 2**20} MiB and is not embedded; it lies "
                "beside this report.</p>"
            )
        data = path.read_bytes()
    except OSError:
        return ""
    return _image_data(data, path.name, caption)


def _image_data(data, name, caption):
    """A ``<figure>`` with the PNG bytes ``data`` inline, or "" if not a PNG."""
    if not data.startswith(_PNG_SIGNATURE):
        return ""
    encoded = base64.b64encode(data).decode("ascii")
    return (
        f'<figure><img src="data:image/png;base64,{encoded}" '
        f'alt="{_text(caption)}"><figcaption>{_text(caption)} '
        f"({_text(name)})</figcaption></figure>"
    )


def _headline(table):
    """One sentence: the best of ours against the best baseline."""
    if "family" not in table.columns or "balanced_accuracy_mean" not in table:
        return ""
    scores = table.assign(
        score=pd.to_numeric(table["balanced_accuracy_mean"], errors="coerce")
    )
    parts = []
    for family, label in (
        ("sklearn_lt", "sklearn_lt contender"),
        ("baseline", "baseline"),
    ):
        rows = scores[(scores["family"] == family) & scores["score"].notna()]
        if len(rows):
            best = rows.loc[rows["score"].idxmax()]
            parts.append(
                f"best {label}: <b>{_text(best['contender'])}</b> ({best['score']:.3f})"
            )
    if not parts:
        return ""
    sentence = "; ".join(parts)
    return f"<p>{sentence[0].upper()}{sentence[1:]}.</p>"


def write_html_report(path, table, per_class=None, meta=None, *, images=None):
    """Write one self-contained ``report.html`` of a comparison.

    The page has a title, a headline (``meta["statistics"]``, or without
    it the best of this package's contenders and the best baseline), the
    failures paragraph, the run (command, data, class counts, settings,
    machine, wall time), the result table (every contender, best first;
    failed rows red with their error, partly failed rows amber), the plots
    found beside ``path`` (``balanced_accuracy.png``,
    ``per_class_recall.png``) embedded as base64 data URIs, and the mean
    per-class recall as a shaded table. Nothing in it refers to the
    network. The file is written to a temporary name and renamed, so an
    interrupted run leaves no half report.

    Parameters
    ----------
    path : str or pathlib.Path
        The file to write (its directory must exist); an existing file is
        replaced.

    table : pandas.DataFrame
        The result table of :func:`sklearn_lt.compare.compare`: a
        ``contender`` column and the ``<metric>_mean`` / ``<metric>_std``
        columns; optionally ``family``, ``n_splits``, ``n_failed``,
        ``error``, ``estimator``, ``diff_vs_best_baseline`` and ``p_value``.
        Rows are shown in the given order.

    per_class : pandas.DataFrame, default=None
        Its per-class frame (columns ``contender``, ``class``,
        ``train_count``, ``recall``), for the per-class table. None: no
        such table.

    meta : mapping of str to str, default=None
        Lines about the run, each shown if present and not empty:
        ``"command"``, ``"data"``, ``"class_counts"``, ``"settings"``,
        ``"machine"``, ``"wall_time"``, ``"failures"`` (a paragraph) and
        ``"statistics"`` (a sentence).

    images : mapping of str to bytes, default=None
        PNG files to embed, by file name (``"balanced_accuracy.png"``,
        ``"per_class_recall.png"``), instead of the files beside ``path``.

    Returns
    -------
    path : pathlib.Path
        The file written.

    Raises
    ------
    TypeError
        If ``table`` is not a DataFrame or ``meta`` not a mapping.
    ValueError
        If ``table`` has no ``contender`` column.

    See Also
    --------
    sklearn_lt.compare.plots.write_plots : Writes the PNG files embedded here.
    sklearn_lt.compare.compare : Produces ``table`` and ``per_class``.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import pandas as pd
    >>> from sklearn_lt.compare.html import write_html_report
    >>> table = pd.DataFrame({
    ...     "contender": ["ours", "base"],
    ...     "family": ["sklearn_lt", "baseline"],
    ...     "balanced_accuracy_mean": [0.9, float("nan")],
    ...     "balanced_accuracy_std": [0.01, float("nan")],
    ...     "n_splits": [5, 5], "n_failed": [0, 5],
    ...     "error": ["", "ValueError: Input X contains NaN."],
    ... })
    >>> with tempfile.TemporaryDirectory() as out:
    ...     path = write_html_report(Path(out) / "report.html", table, None,
    ...                              {"machine": "2 CPU cores"})
    ...     text = path.read_text(encoding="utf-8")
    >>> text.count('<tr class="ours'), text.count('<tr class="baseline failed')
    (1, 1)
    >>> "failed (5/5 splits)" in text and "Input X contains NaN." in text
    True
    """
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"table must be a pandas DataFrame; got {type(table)}.")
    if "contender" not in table.columns:
        raise ValueError(
            "table lacks the column 'contender'; pass the result table of "
            "sklearn_lt.compare.compare."
        )
    if meta is None:
        meta = {}
    if not isinstance(meta, Mapping):
        raise TypeError(f"meta must be a mapping of str to str; got {type(meta)}.")
    path = Path(path)
    meta = {key: ("" if value is None else str(value)) for key, value in meta.items()}

    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>sklearn-lt compare: report</title>",
        f"<style>{_CSS}</style></head><body><main>",
        "<h1>sklearn-lt compare</h1>",
        f'<p class="lead">{len(table)} contender(s), sorted by balanced '
        "accuracy (mean ± std over the splits); the other scores are means "
        "over the splits (hover for the std).</p>",
    ]
    # the statistics sentence, or (without one) the best of each family
    headline = "" if meta.get("statistics") else _headline(table)
    if headline or meta.get("statistics"):
        parts.append('<div class="box">')
        parts.append(headline)
        if meta.get("statistics"):
            parts.append(f"<p>{_text(meta['statistics'])}</p>")
        parts.append("</div>")
    if meta.get("failures"):
        parts.append(
            '<div class="box failures"><p><b>Failures.</b> '
            f"{_text(meta['failures'])}</p></div>"
        )
    run = []
    for key, label in _META_FIELDS:
        value = meta.get(key, "")
        if not value.strip():
            continue
        body = f"<pre>{_text(value)}</pre>" if key == "command" else _text(value)
        run.append(f"<dt>{_text(label)}</dt><dd>{body}</dd>")
    if run:
        parts += ["<h2>The run</h2>", '<dl class="run">', *run, "</dl>"]
    parts += ["<h2>Results</h2>", _results_table(table)]
    from ._markdown import probability_note

    note = probability_note(table)
    if note:
        parts.append(f'<p class="lead">{_text(note)}</p>')
    if images is None:
        figures = [_image(path.parent / name, caption) for name, caption in _PLOTS]
    else:
        figures = [
            _image_data(images[name], name, caption)
            for name, caption in _PLOTS
            if name in images
        ]
    figures = [figure for figure in figures if figure]
    if figures:
        parts += ["<h2>Plots</h2>", *figures]
    failed = set()
    if "n_failed" in table.columns:
        failed = set(table.loc[table["n_failed"].fillna(0) > 0, "contender"])
    parts.append(_per_class_table(per_class, list(table["contender"]), failed))
    from .. import __version__

    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    parts.append(
        f"<footer>Written by sklearn_lt {_text(__version__)} on {stamp}. "
        "This file is self-contained: it needs no network access.</footer>"
    )
    parts.append("</main></body></html>\n")

    with atomic_write(path, "w", encoding="utf-8") as file:
        file.write("\n".join(parts))
    return path
