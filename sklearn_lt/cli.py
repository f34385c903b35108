"""The ``sklearn-lt`` command line: ``sklearn-lt compare``.

``sklearn-lt compare`` runs :func:`sklearn_lt.compare.compare` on the bundled
long-tailed digits (:func:`sklearn_lt.compare.digits_lt_split`, nothing
downloads) or on a table of your own (CSV with any delimiter, or Parquet;
numeric, string and categorical columns, missing values), shows a progress
bar with one step per fit, prints the result table sorted by balanced
accuracy and writes to ``--out``:

* ``results.csv``: the full table (every metric's mean and std, failed
  splits and errors, the paired test against the best baseline),
* ``per_class_recall.csv`` and ``per_split_scores.csv``: per-class recall
  and every score of every contender and split,
* ``results.md``: a Markdown table of the main metrics, with the command
  line, the data, the class counts, the machine, the statistics and the
  failures,
* ``balanced_accuracy.png`` and ``per_class_recall.png`` (skipped, with a
  note, without matplotlib), and ``report.html``, one self-contained page
  with the table and the plots,
* ``manifest.json``: what identifies the comparison, for ``--resume``.

Each contender is written the moment it finishes, so an interrupt (Ctrl-C)
or a crash keeps finished work. Errors in the arguments or the data print
one line to stderr and exit with status 2, as argparse does; status 1 means
every contender failed.

This module imports nothing heavier than :mod:`argparse` until a command
runs, so ``sklearn-lt --help`` is instant.

Examples
--------
>>> from sklearn_lt.cli import main
>>> main(["compare", "--list-contenders"])  # doctest: +ELLIPSIS
logreg  ...LogisticRegression(max_iter=1000)
...
0
"""

import argparse
import shlex
import sys
import warnings
from pathlib import Path

__all__ = ["main"]

PROG = "sklearn-lt"
DEFAULT_OUT = "sklearn_lt_results"
DEFAULT_IMBALANCE_RATIO = 20
DEFAULT_CV = 5
DEFAULT_SHOT_THRESHOLDS = "auto"


class CommandLineError(Exception):
    """An error in the arguments or the data, reported in one line."""


# -- the parser -----------------------------------------------------------------


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
    import re

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


def build_parser():
    """The ``sklearn-lt`` argument parser.

    Returns
    -------
    parser : argparse.ArgumentParser
        With one subcommand, ``compare``.
    """
    from . import __version__

    parser = argparse.ArgumentParser(
        prog=PROG,
        description=(
            "Classifiers for imbalanced and long-tailed data (LDAM-DRW, logit "
            "adjustment, ELM) on scikit-learn. The main job is `sklearn-lt "
            "compare`: our classifiers side by side with SVM, logistic "
            "regression, MLP, gradient boosting and imbalanced-learn baselines."
        ),
        epilog=f"Run `{PROG} compare --help` for the options of the comparison.",
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {__version__}"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    compare = commands.add_parser(
        "compare",
        help="compare long-tail classifiers with baselines on the same splits",
        description=(
            "Cross-validate every contender on the same splits and report, for "
            "each, the mean and std over the splits of balanced accuracy, "
            "macro-F1, geometric mean, many/medium/few-shot recall, worst-class "
            "recall and fit/predict seconds, failed splits with their error, "
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
    return parser


# -- data -----------------------------------------------------------------------


def _one_line(message):
    lines = [line.strip() for line in str(message).splitlines() if line.strip()]
    return lines[0] if lines else ""


def _read_table(args):
    """Features, labels and class counts of ``--data``, with one-line errors.

    The reading rules live in :func:`sklearn_lt.compare.tables.read_table`;
    its warnings are printed here, one line each.
    """
    import numpy as np

    from .compare.tables import DEFAULT_MAX_BYTES, read_table

    if args.target is None:
        raise CommandLineError("--data needs --target, the name of the label column")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            X, y = read_table(
                args.data,
                args.target,
                sep=args.sep,
                decimal=args.decimal,
                drop_columns=args.drop_columns or (),
                max_bytes=args.max_bytes or DEFAULT_MAX_BYTES,
            )
        except ValueError as exc:
            raise CommandLineError(_one_line(exc)) from exc
    for message in dict.fromkeys(_one_line(w.message) for w in caught):
        print(f"{PROG} compare: warning: {message}", file=sys.stderr)
    labels, counts = np.unique(y, return_counts=True)
    return X, y, {label: int(count) for label, count in zip(labels, counts)}


def _read_with(X):
    """``", read with ';' separator and ',' decimal mark"`` (or nothing)."""
    read = getattr(X, "attrs", {})
    parts = [
        f"{read[key]!r} {what}"
        for key, what in [("separator", "separator"), ("decimal", "decimal mark")]
        if read.get(key) not in (None, "," if key == "separator" else ".")
    ]
    return f", read with {' and '.join(parts)}" if parts else ""


def _load(args):
    """``X, y, splits`` and facts about them, with one-line errors."""
    from .compare import LongTailedCV, digits_lt_split

    n_splits = DEFAULT_CV if args.cv is None else args.cv
    if args.data is None:
        for option, value in [
            ("--target", args.target),
            ("--sep", args.sep),
            ("--decimal", args.decimal),
            ("--categorical", args.categorical),
            ("--drop-columns", args.drop_columns),
            ("--max-bytes", args.max_bytes),
        ]:
            if value is not None:
                raise CommandLineError(f"{option} needs --data (a CSV or Parquet file)")
        ratio = (
            DEFAULT_IMBALANCE_RATIO
            if args.imbalance_ratio is None
            else args.imbalance_ratio
        )
        total = n_splits * args.repeats
        X, y, splits = digits_lt_split(
            imbalance_ratio=ratio, n_splits=total, random_state=args.seed
        )
        description = (
            f"bundled digits, long-tailed training sets (exponential profile, "
            f"imbalance ratio {ratio:g}) and balanced test sets, "
            f"{total} independent split(s), seed {args.seed}"
        )
        return X, y, splits, description, None

    X, y, counts = _read_table(args)
    if n_splits < 2:
        raise CommandLineError("--cv must be at least 2 for cross-validation of --data")
    smallest = min(counts, key=counts.get)
    if counts[smallest] < n_splits:
        raise CommandLineError(
            f"class {smallest!r} has {counts[smallest]} example(s), fewer than "
            f"--cv {n_splits} folds; lower --cv or drop that class"
        )
    from sklearn.model_selection import RepeatedStratifiedKFold, StratifiedKFold

    from .compare.preprocessing import check_finite_features, column_kinds

    try:
        numeric, categorical = column_kinds(X, args.categorical)
        check_finite_features(X, numeric)
    except ValueError as exc:
        raise CommandLineError(str(exc)) from exc
    description = (
        f"{Path(args.data).name} ({len(y)} rows, {X.shape[1]} features of which "
        f"{len(categorical)} categorical, {len(counts)} classes, target "
        f"{args.target!r}{_read_with(X)}), stratified {n_splits}-fold "
        "cross-validation"
        f"{f' repeated {args.repeats} times' if args.repeats > 1 else ''}, "
        f"seed {args.seed}"
    )
    if args.repeats == 1:
        cv = StratifiedKFold(n_splits, shuffle=True, random_state=args.seed)
    else:
        cv = RepeatedStratifiedKFold(
            n_splits=n_splits, n_repeats=args.repeats, random_state=args.seed
        )
    if args.imbalance_ratio is not None:
        cv = LongTailedCV(
            cv, imbalance_ratio=args.imbalance_ratio, random_state=args.seed
        )
        description += (
            f", training folds made long-tailed (imbalance ratio "
            f"{args.imbalance_ratio:g}, head: the most frequent class)"
        )
    splits = list(cv.split(X, y))
    return X, y, splits, description, categorical


# -- the command ------------------------------------------------------------------


def _list_contenders(seed):
    from .compare import default_contenders, describe_estimator

    contenders = default_contenders(random_state=seed)
    width = max(map(len, contenders))
    for name, estimator in contenders.items():
        print(f"{name:<{width}}  {describe_estimator(estimator)}")
    return 0


def _scheduler(address):
    """A joblib context sending the fits to a Dask cluster, and its client."""
    try:
        import joblib
        from dask.distributed import Client
    except ImportError as exc:
        raise CommandLineError(
            '--scheduler needs Dask: pip install "sklearn-lt[dask]"'
        ) from exc
    try:
        client = Client(address, timeout="10s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise CommandLineError(
            f"cannot connect to --scheduler {address!r}: {_one_line(exc)}"
        ) from exc
    return joblib.parallel_config(backend="dask"), client


class _StderrNotes:
    """Show the notes of :mod:`sklearn_lt.compare.study` on stderr."""

    def __enter__(self):
        import logging

        from .compare.study import logger

        class Handler(logging.Handler):
            def emit(self, record):
                print(f"{PROG} compare: {record.getMessage()}", file=sys.stderr)

        self.logger, self.handler = logger, Handler()
        self.level = logger.level
        logger.addHandler(self.handler)
        logger.setLevel(logging.INFO)
        return self

    def __exit__(self, *exc):
        self.logger.removeHandler(self.handler)
        self.logger.setLevel(self.level)


def _run_compare(args, command):
    """Parse the arguments into a :class:`~sklearn_lt.compare.Comparison`, run it."""
    if args.list_contenders:
        return _list_contenders(args.seed)
    from .compare.results import ResultsDirectory, ResultsDirectoryError

    try:
        ResultsDirectory(args.out, style="cli").check()
        from .compare import Comparison, resolve_contenders

        resolve_contenders(args.contenders, drop=args.drop, random_state=args.seed)
    except ValueError as exc:
        raise CommandLineError(_one_line(exc)) from exc
    X, y, splits, description, _ = _load(args)
    comparison = Comparison(
        X,
        y,
        contenders=args.contenders,
        drop=args.drop,
        cv=splits,
        shot_thresholds=args.shot_thresholds,
        categorical=args.categorical,
        preprocess=True,  # the command line runs built-in contenders only
        n_jobs=args.n_jobs,
        random_state=args.seed,
        progress=not args.no_progress,
        description=description,
    )
    # what identifies the run beyond the splits, for --resume
    comparison._style = "cli"
    comparison._settings_note = (
        f", Dask scheduler {args.scheduler}" if args.scheduler else ""
    )
    context = client = None
    if args.scheduler:
        context, client = _scheduler(args.scheduler)
    caught = []
    try:
        with warnings.catch_warnings(record=True) as caught, _StderrNotes():
            # The MLPs stop at a fixed number of epochs on purpose (one budget
            # for every MLP contender); "not converged" warnings are noise here,
            # and failures are summarised after the table.
            from sklearn.exceptions import ConvergenceWarning

            from .compare import ContenderFailedWarning

            warnings.simplefilter("default")
            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.simplefilter("ignore", ContenderFailedWarning)
            run = {
                "out": args.out,
                "resume": args.resume,
                "overwrite": args.overwrite,
                "plots": not args.no_plots,
                "command": command,
            }
            if context is not None:
                with context:
                    results = comparison.run(**run)
            else:
                results = comparison.run(**run)
    except ResultsDirectoryError as exc:
        raise CommandLineError(_one_line(exc)) from exc
    except ValueError as exc:
        # a failing fit is a row of the table, not an exception: what raises
        # here is the validation of the data, one line for the user
        raise CommandLineError(_one_line(exc)) from exc
    except KeyboardInterrupt:
        results = getattr(comparison, "results_", None)
        done = 0 if results is None else len(results.table)
        total = "?" if results is None else len(results.contenders)
        print(
            f"{PROG} compare: interrupted; {done} of {total} contender(s) "
            f"finished, their results are in {args.out} (continue with --resume)",
            file=sys.stderr,
        )
        return 130
    finally:
        if client is not None:
            client.close()
    # one line per distinct warning (a tiny class, ...)
    for message in dict.fromkeys(_one_line(w.message) for w in caught):
        print(f"{PROG} compare: warning: {message}", file=sys.stderr)
    return _print_results(results, description, args.out)


def _print_results(results, description, out):
    """Print the table and the summaries; the exit status."""
    table = results.table
    if table.empty:
        return 0
    print(f"\n{description}\n")
    print(results.display().to_string(index=False))
    if results.meta.get("statistics"):
        print(f"\n{results.meta['statistics']}")
    if results.meta.get("failures"):
        print(f"\nFailures: {results.meta['failures']}")
    names = ", ".join(path.name for path in results.files)
    print(f"\nWrote {names} to {out} ({results.meta['wall_time']})")
    if (table["n_failed"] == table["n_splits"]).all():
        print(
            f"{PROG} compare: error: every contender failed; see the failures "
            "above (also in results.md)",
            file=sys.stderr,
        )
        return 1
    return 0


def main(argv=None):
    """Run the ``sklearn-lt`` command line.

    Parameters
    ----------
    argv : list of str, default=None
        The arguments after the program name. None: ``sys.argv[1:]``.

    Returns
    -------
    status : int
        0 on success; 1 if every contender failed; 2 for an error in the
        arguments or the data (a one-line message on stderr, as argparse
        gives); 130 if interrupted.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error
        return exc.code if isinstance(exc.code, int) else 2
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    command = shlex.join([PROG, *argv])
    try:
        return _run_compare(args, command)
    except CommandLineError as exc:
        print(f"{PROG} {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
