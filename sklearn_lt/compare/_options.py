"""The options of ``sklearn-lt compare``: flags, value types, defaults, help.

:func:`add_compare_command` adds the ``compare`` command to an
:mod:`argparse` parser (what :func:`sklearn_lt.cli.build_parser` does); the
value types turn the text of one option into its value or refuse it with the
message argparse prints (``--max-bytes 2G``, ``--shot-thresholds 100,20``,
``--sep \\t``, ...). What the options do when the command runs is
:mod:`sklearn_lt.compare._command`'s business.

This module imports nothing but :mod:`argparse` and :mod:`re`, so that
``sklearn-lt --help`` stays instant.

Examples
--------
>>> import argparse
>>> from sklearn_lt.compare._options import add_compare_command
>>> parser = argparse.ArgumentParser(prog="sklearn-lt")
>>> compare = add_compare_command(parser.add_subparsers(dest="command"))
>>> args = parser.parse_args(["compare", "--max-bytes", "2G", "--cv", "3"])
>>> args.max_bytes, args.cv, args.seed
(2147483648, 3, 0)
"""

import argparse
import re

__all__ = ["add_compare_command"]

DEFAULT_OUT = "sklearn_lt_results"
DEFAULT_IMBALANCE_RATIO = 20
DEFAULT_CV = 5
DEFAULT_SHOT_THRESHOLDS = "auto"


# -- value types: text -> value, or argparse.ArgumentTypeError --------------------


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1, got {value}")
    return value


def _n_jobs(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value == 0:
        raise argparse.ArgumentTypeError("0 is not a number of jobs (use 1 or -1)")
    return value


def _ratio(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 1 <= value < float("inf"):  # also rejects NaN
        raise argparse.ArgumentTypeError(f"expected a finite number >= 1, got {text}")
    return value


MAX_SEED = 2**32 - 1  # numpy's RandomState takes seeds 0 .. 2**32 - 1


def _seed(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(
            f"expected an integer from 0 to {MAX_SEED}, got {value}"
        )
    return value


def _directory(text):
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a directory name, got an empty one")
    return text


def _decimal(text):
    if text not in (".", ","):
        raise argparse.ArgumentTypeError(f"expected '.' or ',', got {text!r}")
    return text


_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}


def _size(text):
    """A size in bytes: ``2G``, ``500M``, ``1.5GiB``, ``1000000``."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d*)?)\s*([kmgt]?)(?:i?b)?\s*", text, re.I)
    if match is None:
        raise argparse.ArgumentTypeError(
            f"expected a size such as 2G, 500M or 1000000 (bytes), got {text!r}"
        )
    value = int(float(match[1]) * _UNITS[match[2].lower()])
    if value < 1:
        raise argparse.ArgumentTypeError(
            f"expected a size of at least 1 byte, got {text!r}"
        )
    return value


#: The targets of the metric-optimal contenders (``--metric``); the names
#: :class:`~sklearn_lt.MetricOptimalClassifierCV` takes. Kept here, not in
#: ``contenders``, so that ``--help`` imports nothing heavy.
_DECISION_METRICS = ("balanced_accuracy", "macro_f1", "gmean", "worst_class_recall")


def _metric(text):
    if text not in _DECISION_METRICS:
        raise argparse.ArgumentTypeError(
            f"expected one of {', '.join(_DECISION_METRICS)}; got {text!r}"
        )
    return text


def _names(text):
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise argparse.ArgumentTypeError("expected comma-separated names")
    return names


def _shot_thresholds(text):
    if text.strip().lower() == "auto":
        return "auto"
    parts = [part.strip() for part in text.split(",")]
    try:
        many, few = (int(part) for part in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected two integers MANY,FEW such as 100,20, or auto; got {text!r}"
        ) from None
    if not many >= few >= 1:
        raise argparse.ArgumentTypeError(f"expected MANY >= FEW >= 1, got {many},{few}")
    return many, few


def _separator(text):
    text = {"\\t": "\t", "tab": "\t"}.get(text, text)
    if len(text) != 1:
        raise argparse.ArgumentTypeError(
            f"expected one character (or \\t for a tab), got {text!r}"
        )
    return text


# -- the command ------------------------------------------------------------------


def add_compare_command(subparsers):
    """Add the ``compare`` command and its options.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        What :meth:`argparse.ArgumentParser.add_subparsers` returns.

    Returns
    -------
    parser : argparse.ArgumentParser
        The parser of ``compare``.
    """
    compare = subparsers.add_parser(
        "compare",
        help="compare long-tail classifiers with baselines on the same splits",
        description=(
            "Cross-validate every contender on the same splits and report, for "
            "each, the mean and std over the splits of balanced accuracy, "
            "macro-F1, geometric mean, many/medium/few-shot recall, worst-class "
            "recall, the calibration of the probabilities (Brier score, ECE; at "
            "the training prior in closed form for our logit-adjusted models) "
            "and fit/predict seconds, failed splits with their error, "
            "and for ours a paired test against the best baseline. Without "
            "--data it runs on the bundled digits, made long-tailed for "
            f"training (--imbalance-ratio, default {DEFAULT_IMBALANCE_RATIO}) "
            "and balanced for testing; nothing downloads."
        ),
        epilog=(
            "Writes to --out: results.csv (all metrics), results.md (Markdown "
            "table), per_class_recall.csv, per_split_scores.csv, "
            "balanced_accuracy.png, per_class_recall.png, report.html and "
            "manifest.json; each contender as soon as it finishes. Exit status: "
            "0 done, 1 every contender failed, 2 bad arguments or data, 130 "
            "interrupted. Examples: `sklearn-lt compare`; `sklearn-lt compare "
            "--data my.csv --target label --cv 5 --contenders "
            "hgb,hgb_posthoc_la,mlp_margin_ldam_drw`."
        ),
    )
    data = compare.add_argument_group("data")
    data.add_argument(
        "--data",
        metavar="FILE",
        help=(
            "a table with a header row: a CSV file (delimiter and decimal mark "
            "detected, or --sep and --decimal; plain or gzip/bz2/xz/zip "
            "compressed) or a Parquet file (.parquet, needs pyarrow). One "
            "column of class labels (--target, read as text: `01` and `1` are "
            "two classes, `NA` is a class; rows with an empty label are left "
            "out with a warning); every other column is a feature: numeric, "
            "string or categorical, with missing values allowed (imputed, "
            "one-hot encoded, or handled natively by gradient boosting, within "
            "each training fold). A column whose cells are at least 95%% "
            "numbers is numeric: its other cells (`?`, `n/a`, ...) become "
            "missing, with a warning naming them. Dates become seconds since "
            "1970 (with a warning), durations seconds; columns that look like "
            "row identifiers get a warning (see --drop-columns). Default: the "
            "bundled long-tailed digits."
        ),
    )
    data.add_argument(
        "--target",
        metavar="COLUMN",
        help="name of the label column of --data (required with --data)",
    )
    data.add_argument(
        "--sep",
        type=_separator,
        metavar="CHAR",
        help="the CSV delimiter (\\t for a tab). Default: detected from the file.",
    )
    data.add_argument(
        "--decimal",
        type=_decimal,
        metavar="MARK",
        help=(
            "the decimal mark of the numbers in a CSV file, . or , (`0,1257` "
            "as spreadsheets in much of Europe write it; thousands separators "
            "such as 1.234,5 or 1,234.5 are understood). Default: detected, "
            "',' when more cells need a decimal comma than a point."
        ),
    )
    data.add_argument(
        "--drop-columns",
        type=_names,
        metavar="COLUMNS",
        help=(
            "comma-separated columns of --data to leave out (row identifiers, "
            "leaks, anything that is not a feature)"
        ),
    )
    data.add_argument(
        "--max-bytes",
        type=_size,
        metavar="SIZE",
        help=(
            "the largest --data read, uncompressed, for example 500M or 8G; "
            "compressed files are counted while they decompress. Default: 2G."
        ),
    )
    data.add_argument(
        "--categorical",
        type=_names,
        metavar="COLUMNS",
        help=(
            "comma-separated numeric columns of --data to treat as categorical "
            "(integer codes). Non-numeric columns always are."
        ),
    )
    data.add_argument(
        "--imbalance-ratio",
        type=_ratio,
        metavar="R",
        help=(
            "make the training part of every split long-tailed with this ratio "
            "of the largest to the smallest class (exponential profile; the "
            "most frequent class of the data is the head, ties broken by "
            "label); test parts are left as they are. Default: "
            f"{DEFAULT_IMBALANCE_RATIO} for the digits, and the data as given "
            "for --data."
        ),
    )
    data.add_argument(
        "--cv",
        type=_positive_int,
        default=None,
        metavar="K",
        help=(
            "number of splits: stratified K-fold cross-validation for --data "
            "(at least 2), independent long-tailed-train / balanced-test "
            f"splits for the digits. Default: {DEFAULT_CV}."
        ),
    )
    data.add_argument(
        "--repeats",
        type=_positive_int,
        default=1,
        metavar="R",
        help=(
            "repeat the K splits R times with new seeds (K x R splits), to "
            "give the paired test power. Default: 1."
        ),
    )
    field = compare.add_argument_group("contenders")
    field.add_argument(
        "--contenders",
        type=_names,
        metavar="NAMES",
        help=(
            "comma-separated names of the contenders to run, for example "
            "`logreg_balanced,hgb_posthoc_la`. Default: all of them "
            "(see --list-contenders)."
        ),
    )
    field.add_argument(
        "--drop",
        type=_names,
        metavar="NAMES",
        help="comma-separated names of contenders to leave out",
    )
    field.add_argument(
        "--metric",
        type=_metric,
        default="balanced_accuracy",
        metavar="METRIC",
        help=(
            "what the metric-optimal contenders (mlp_margin_la_metric_opt, "
            "hgb_metric_opt: per-class decision weights tuned on out-of-fold "
            "probabilities, six fits of the model each) maximise: "
            "balanced_accuracy, macro_f1, gmean or worst_class_recall. "
            "Default: balanced_accuracy."
        ),
    )
    field.add_argument(
        "--list-contenders",
        action="store_true",
        help="print each default contender's name and estimator, and exit",
    )
    run = compare.add_argument_group("run and output")
    run.add_argument(
        "--seed",
        type=_seed,
        default=0,
        help=(
            "random seed of the splits and of every randomised contender; the "
            "same seed gives the same table (up to the timings). Default: 0."
        ),
    )
    run.add_argument(
        "--n-jobs",
        type=_n_jobs,
        default=-1,
        metavar="N",
        help=(
            "parallel fits (joblib processes; -1 uses every core, 1 runs in "
            "this process). Each job gets its share of the cores for its own "
            "threads, which suits the small models here better than one job "
            "with many threads. Default: -1."
        ),
    )
    run.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help=(
            "send the fits to a Dask cluster through joblib's Dask backend, for "
            "example tcp://10.0.0.1:8786 (needs `pip install "
            '"sklearn-lt[dask]"`); same results as a local run.'
        ),
    )
    run.add_argument(
        "--shot-thresholds",
        type=_shot_thresholds,
        default=DEFAULT_SHOT_THRESHOLDS,
        metavar="MANY,FEW",
        help=(
            "training examples per class that make a class many-shot (more "
            "than MANY) and few-shot (fewer than FEW), or auto: scaled to the "
            "data, splitting the range of the training class sizes into "
            "thirds on a log scale, so that the largest class is many-shot "
            "and the smallest few-shot whenever they differ (fixed numbers "
            "count rows: with 100,20 both classes of a 10,000-row binary table "
            "are many-shot). The literature's split is 100,20. The thresholds "
            "used are in results.md and report.html. Default: auto."
        ),
    )
    run.add_argument(
        "--out",
        type=_directory,
        default=DEFAULT_OUT,
        metavar="DIR",
        help=(
            "directory for the results, created if needed; checked before the "
            f"first fit. Default: {DEFAULT_OUT}. A non-empty directory is "
            "refused unless --overwrite or --resume."
        ),
    )
    existing = run.add_mutually_exclusive_group()
    existing.add_argument(
        "--overwrite",
        action="store_true",
        help=(
            "replace the results in a non-empty --out (its result files, "
            "plots and report are removed first; other files are kept)"
        ),
    )
    existing.add_argument(
        "--resume",
        action="store_true",
        help=(
            "continue the comparison in --out: skip the contenders already "
            "finished there; refused if the data, splits or settings differ"
        ),
    )
    run.add_argument(
        "--no-plots",
        action="store_true",
        help="do not write the PNG plots (report.html is written without them)",
    )
    run.add_argument(
        "--no-progress", action="store_true", help="do not show the progress bar"
    )
    return compare
