"""Running ``sklearn-lt compare``: from the parsed options to the exit status.

:func:`run_command` turns the options of :mod:`sklearn_lt.compare._options`
into the data and splits (:func:`load_data`: the bundled digits or a table of
the user's, read by :func:`~sklearn_lt.compare.tables.read_table`), checks
the results directory and the contender names before the first fit, runs
:class:`~sklearn_lt.compare.Comparison` (on a Dask cluster with
``--scheduler``), shows its notes and warnings on stderr one line each, and
prints the table. Errors in the arguments or the data raise
:class:`CommandLineError`, which the command line prints in one line with
exit status 2; status 1 means every contender failed, 130 an interrupt.

Examples
--------
>>> from sklearn_lt.cli import build_parser
>>> from sklearn_lt.compare._command import run_command
>>> args = build_parser().parse_args(["compare", "--list-contenders"])
>>> run_command(args, "sklearn-lt compare --list-contenders")  # doctest: +ELLIPSIS
logreg  ...LogisticRegression(max_iter=1000)
...
0
"""

import sys
import warnings
from pathlib import Path

from ._options import DEFAULT_CV, DEFAULT_IMBALANCE_RATIO

__all__ = ["CommandLineError", "load_data", "run_command"]

PREFIX = "sklearn-lt compare"


class CommandLineError(Exception):
    """An error in the arguments or the data, reported in one line."""


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

    from .tables import _DEFAULT_MAX_BYTES, read_table

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
                max_bytes=args.max_bytes or _DEFAULT_MAX_BYTES,
            )
        except ValueError as exc:
            raise CommandLineError(_one_line(exc)) from exc
    for message in dict.fromkeys(_one_line(w.message) for w in caught):
        print(f"{PREFIX}: warning: {message}", file=sys.stderr)
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


def load_data(args):
    """The data and splits the options name, and a sentence about them.

    Parameters
    ----------
    args : argparse.Namespace
        The options of ``sklearn-lt compare``
        (:func:`~sklearn_lt.compare._options.add_compare_command`).

    Returns
    -------
    X : ndarray or pandas.DataFrame
        The features: the bundled digits without ``--data``.
    y : ndarray
        The labels.
    splits : list of (ndarray, ndarray)
        The train and test indices of every split.
    description : str
        The data and the splits in words, for the printed table and the report.
    categorical : list of str or None
        The categorical columns of ``--data`` (None for the digits).

    Raises
    ------
    CommandLineError
        For an option that needs ``--data``, a table that cannot be read, too
        few examples of a class for ``--cv`` folds, or non-finite features.
    """
    from . import LongTailedCV, digits_lt_split

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

    from .preprocessing import _check_finite_features, column_kinds

    try:
        numeric, categorical = column_kinds(X, args.categorical)
        _check_finite_features(X, numeric)
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


def _list_contenders(seed, metric="balanced_accuracy"):
    from .contenders import _describe_estimator, default_contenders

    contenders = default_contenders(random_state=seed, metric=metric)
    width = max(map(len, contenders))
    for name, estimator in contenders.items():
        print(f"{name:<{width}}  {_describe_estimator(estimator)}")
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

        from .study import logger

        class Handler(logging.Handler):
            def emit(self, record):
                print(f"{PREFIX}: {record.getMessage()}", file=sys.stderr)

        self.logger, self.handler = logger, Handler()
        self.level = logger.level
        logger.addHandler(self.handler)
        logger.setLevel(logging.INFO)
        return self

    def __exit__(self, *exc):
        self.logger.removeHandler(self.handler)
        self.logger.setLevel(self.level)


def run_command(args, command):
    """Run ``sklearn-lt compare``: the options into a Comparison, run, printed.

    Parameters
    ----------
    args : argparse.Namespace
        The options of ``sklearn-lt compare``
        (:func:`~sklearn_lt.compare._options.add_compare_command`).
    command : str
        The command line as typed, recorded in ``results.md`` and the report.

    Returns
    -------
    status : int
        0 done (or nothing to do), 1 every contender failed, 130 interrupted
        (the finished contenders are in ``--out``).

    Raises
    ------
    CommandLineError
        For an error in the arguments, the data or the results directory.
    """
    if args.list_contenders:
        return _list_contenders(args.seed, args.metric)
    from ._results import ResultsDirectory, ResultsDirectoryError

    try:
        ResultsDirectory(args.out, style="cli").check()
        from . import Comparison, resolve_contenders

        resolve_contenders(
            args.contenders,
            drop=args.drop,
            random_state=args.seed,
            metric=args.metric,
        )
    except ValueError as exc:
        raise CommandLineError(_one_line(exc)) from exc
    X, y, splits, description, _ = load_data(args)
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
        metric=args.metric,
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

            from . import ContenderFailedWarning

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
            f"{PREFIX}: interrupted; {done} of {total} contender(s) "
            f"finished, their results are in {args.out} (continue with --resume)",
            file=sys.stderr,
        )
        return 130
    finally:
        if client is not None:
            client.close()
    # one line per distinct warning (a tiny class, ...)
    for message in dict.fromkeys(_one_line(w.message) for w in caught):
        print(f"{PREFIX}: warning: {message}", file=sys.stderr)
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
            f"{PREFIX}: error: every contender failed; see the failures "
            "above (also in results.md)",
            file=sys.stderr,
        )
        return 1
    return 0
