"""The ``sklearn-lt`` command line: ``sklearn-lt compare``.

``sklearn-lt compare`` runs :func:`sklearn_lt.compare.compare` on the bundled
long-tailed digits (:func:`sklearn_lt.compare.digits_lt_split`, nothing
downloads) or on a CSV file, shows a progress bar, prints the result table
sorted by balanced accuracy and writes to ``--out``:

* ``results.csv``: the full table (every metric's mean and std),
* ``results.md``: a Markdown table of the main metrics, with the command line
  and the machine,
* ``per_class_recall.csv``: per-class recall of every contender and split,
* ``per_class_recall.png`` and ``balanced_accuracy.png``: the plots of
  :mod:`sklearn_lt.plotting` (skipped, with a note, without matplotlib).

Errors in the arguments or the data print one line to stderr and exit with
status 2, as argparse does.

Examples
--------
>>> from sklearn_lt.cli import main
>>> main(["compare", "--list-contenders"])  # doctest: +ELLIPSIS
logreg
logreg_balanced
...
0
"""

import argparse
import os
import platform
import shlex
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["main"]

PROG = "sklearn-lt"
DEFAULT_OUT = "sklearn_lt_results"
DEFAULT_IMBALANCE_RATIO = 20
DEFAULT_CV = 5

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
    ("fit s", "fit_seconds"),
    ("predict s", "predict_seconds"),
)


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
    if not value >= 1:  # also rejects NaN
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {text}")
    return value


def _names(text):
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise argparse.ArgumentTypeError("expected comma-separated names")
    return names


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
            "regression, MLP and imbalanced-learn baselines."
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
            "recall and fit/predict seconds. Without --data it runs on the "
            "bundled digits, made long-tailed for training (--imbalance-ratio, "
            f"default {DEFAULT_IMBALANCE_RATIO}) and balanced for testing; "
            "nothing downloads."
        ),
        epilog=(
            "Writes to --out: results.csv (all metrics), results.md (Markdown "
            "table), per_class_recall.csv, per_class_recall.png and "
            "balanced_accuracy.png. Examples: `sklearn-lt compare`; "
            "`sklearn-lt compare --data my.csv --target label --cv 5 "
            "--contenders svc_rbf_balanced,mlp_margin_ldam_drw`."
        ),
    )
    data = compare.add_argument_group("data")
    data.add_argument(
        "--data",
        metavar="CSV",
        help=(
            "a CSV file with a header row: one column of class labels "
            "(--target) and numeric feature columns (every other column). "
            "Default: the bundled long-tailed digits."
        ),
    )
    data.add_argument(
        "--target",
        metavar="COLUMN",
        help="name of the label column of --data (required with --data)",
    )
    data.add_argument(
        "--imbalance-ratio",
        type=_ratio,
        metavar="R",
        help=(
            "make the training part of every split long-tailed with this ratio "
            "of the largest to the smallest class (exponential profile; the "
            "first label in sorted order is the head); test parts are left as "
            f"they are. Default: {DEFAULT_IMBALANCE_RATIO} for the digits, and "
            "the data as given for --data."
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
    field = compare.add_argument_group("contenders")
    field.add_argument(
        "--contenders",
        type=_names,
        metavar="NAMES",
        help=(
            "comma-separated names of the contenders to run, for example "
            "`logreg_balanced,mlp_margin_ldam_drw`. Default: all of them "
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
        help="print the names of the default contenders and exit",
    )
    run = compare.add_argument_group("run and output")
    run.add_argument(
        "--seed",
        type=int,
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
            "parallel jobs over the splits of each contender (joblib processes; "
            "-1 uses every core, 1 runs in this process). Each job gets its "
            "share of the cores for its own threads, which suits the small "
            "networks here better than one job with many threads. Default: -1."
        ),
    )
    run.add_argument(
        "--out",
        default=DEFAULT_OUT,
        metavar="DIR",
        help=f"directory for the results, created if needed. Default: {DEFAULT_OUT}.",
    )
    run.add_argument(
        "--no-plots", action="store_true", help="do not write the PNG plots"
    )
    run.add_argument(
        "--no-progress", action="store_true", help="do not show the progress bar"
    )
    return parser


# -- data -----------------------------------------------------------------------


def _read_csv(path, target):
    """Features and labels from a CSV file, with one-line errors."""
    if target is None:
        raise CommandLineError("--data needs --target, the name of the label column")
    path = Path(path)
    if not path.exists():
        raise CommandLineError(f"cannot read --data {str(path)!r}: no such file")
    if not path.is_file():
        raise CommandLineError(f"cannot read --data {str(path)!r}: not a file")
    try:
        frame = pd.read_csv(path)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else exc
        raise CommandLineError(f"cannot read --data {str(path)!r}: {reason}") from exc
    except pd.errors.EmptyDataError as exc:
        raise CommandLineError(
            f"cannot read --data {str(path)!r}: it is empty"
        ) from exc
    if target not in frame.columns:
        columns = ", ".join(map(str, frame.columns[:20]))
        more = ", ..." if len(frame.columns) > 20 else ""
        raise CommandLineError(
            f"--target column {target!r} is not in {path.name}; its columns "
            f"are: {columns}{more}"
        )
    y = frame[target]
    if y.isna().any():
        raise CommandLineError(
            f"the target column {target!r} has {int(y.isna().sum())} missing "
            "labels; remove those rows"
        )
    features = frame.drop(columns=[target])
    if features.shape[1] == 0:
        raise CommandLineError(f"{path.name} has no feature column besides {target!r}")
    non_numeric = [
        str(column)
        for column in features.columns
        if not pd.api.types.is_numeric_dtype(features[column])
    ]
    if non_numeric:
        shown = ", ".join(non_numeric[:10]) + (", ..." if len(non_numeric) > 10 else "")
        raise CommandLineError(
            f"the features must be numeric, but {len(non_numeric)} column(s) are "
            f"not: {shown}; encode them or drop them first"
        )
    X = features.to_numpy(dtype=np.float64)
    if not np.isfinite(X).all():
        bad = [
            str(column)
            for column in features.columns
            if not np.isfinite(features[column].to_numpy(dtype=np.float64)).all()
        ]
        raise CommandLineError(
            "the features have missing or infinite values in column(s): "
            f"{', '.join(bad[:10])}; impute or drop them first"
        )
    labels, counts = np.unique(y.to_numpy(), return_counts=True)
    if len(labels) < 2:
        raise CommandLineError(
            f"the target column {target!r} has a single class ({labels[0]!r}); "
            "a comparison needs at least two"
        )
    return X, y.to_numpy(), dict(zip(labels.tolist(), counts.tolist()))


def _splits(args):
    """``X, y, cv`` and a one-line description of the data and splits."""
    from .compare import LongTailedCV, digits_lt_split

    n_splits = DEFAULT_CV if args.cv is None else args.cv
    if args.data is None:
        if args.target is not None:
            raise CommandLineError("--target needs --data (a CSV file)")
        ratio = (
            DEFAULT_IMBALANCE_RATIO
            if args.imbalance_ratio is None
            else args.imbalance_ratio
        )
        X, y, cv = digits_lt_split(
            imbalance_ratio=ratio, n_splits=n_splits, random_state=args.seed
        )
        description = (
            f"bundled digits, long-tailed training sets (exponential profile, "
            f"imbalance ratio {ratio:g}) and balanced test sets, "
            f"{n_splits} independent split(s), seed {args.seed}"
        )
        return X, y, cv, description

    X, y, counts = _read_csv(args.data, args.target)
    if n_splits < 2:
        raise CommandLineError("--cv must be at least 2 for cross-validation of --data")
    smallest = min(counts, key=counts.get)
    if counts[smallest] < n_splits:
        raise CommandLineError(
            f"class {smallest!r} has {counts[smallest]} example(s), fewer than "
            f"--cv {n_splits} folds; lower --cv or drop that class"
        )
    description = (
        f"{Path(args.data).name} ({len(y)} rows, {X.shape[1]} features, "
        f"{len(counts)} classes, target {args.target!r}), "
        f"stratified {n_splits}-fold cross-validation, seed {args.seed}"
    )
    if args.imbalance_ratio is None:
        from sklearn.model_selection import StratifiedKFold

        cv = StratifiedKFold(n_splits, shuffle=True, random_state=args.seed)
    else:
        cv = LongTailedCV(
            n_splits, imbalance_ratio=args.imbalance_ratio, random_state=args.seed
        )
        description += (
            f", training folds made long-tailed (imbalance ratio "
            f"{args.imbalance_ratio:g})"
        )
    return X, y, cv, description


# -- output ---------------------------------------------------------------------


def _format(value, digits=3):
    return "nan" if value is None or np.isnan(value) else f"{value:.{digits}f}"


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
        metrics, rounded.
    """
    display = pd.DataFrame({"contender": table["contender"], "family": table["family"]})
    for header, metric in _DISPLAY:
        means = table[f"{metric}_mean"].to_numpy(dtype=float)
        digits = 2 if metric == "fit_seconds" else 3
        if metric == "balanced_accuracy":
            stds = table[f"{metric}_std"].to_numpy(dtype=float)
            display[header] = [
                f"{_format(m)} ± {_format(s)}" for m, s in zip(means, stds)
            ]
        else:
            display[header] = [_format(m, digits) for m in means]
    return display.reset_index(drop=True)


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
    >>> from sklearn_lt.cli import markdown_table
    >>> print(markdown_table(pd.DataFrame({"name": ["a"], "score": ["0.5"]})))
    | name | score |
    | :--- | ----: |
    | a | 0.5 |
    """
    left = {"contender", "family", "name"}

    def cell(value):
        return str(value).replace("|", "\\|")

    header = "| " + " | ".join(cell(c) for c in frame.columns) + " |"
    align = "| " + " | ".join(":---" if c in left else "----:" for c in frame.columns)
    rows = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.to_numpy()]
    return "\n".join([header, align + " |", *rows])


def _machine():
    import torch

    cpu = platform.processor() or platform.machine()
    return (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPU core(s)"
        f"{f' ({cpu})' if cpu and cpu != platform.machine() else ''}, "
        f"Python {platform.python_version()}, torch {torch.__version__} "
        f"({'CUDA' if torch.cuda.is_available() else 'CPU'})"
    )


def _write_results(out, table, per_class, description, command, plots):
    """Write the CSV, Markdown and PNG files; return the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    path = out / "results.csv"
    table.to_csv(path, index=False)
    written.append(path)
    path = out / "per_class_recall.csv"
    per_class.to_csv(path, index=False)
    written.append(path)
    ours = table[table["family"] == "sklearn_lt"]["balanced_accuracy_mean"]
    base = table[table["family"] == "baseline"]["balanced_accuracy_mean"]
    lines = [
        "# sklearn-lt compare",
        "",
        f"Command: `{command}`",
        "",
        f"Data: {description}.",
        "",
        f"Machine: {_machine()}.",
        "",
        "Sorted by balanced accuracy (mean ± std over the splits); the other "
        "columns are means over the splits. Shot groups by training examples "
        "per class: many > 100, medium 20-100, few < 20.",
        "",
        markdown_table(display_table(table)),
        "",
    ]
    if ours.notna().any() and base.notna().any():
        lines += [
            f"Best sklearn_lt contender: {_format(ours.max())} balanced accuracy; "
            f"best baseline: {_format(base.max())}.",
            "",
        ]
    path = out / "results.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    written.append(path)
    if plots:
        written += _write_plots(out, table, per_class)
    return written


def _write_plots(out, table, per_class):
    try:
        import matplotlib
    except ImportError:
        print(
            f"{PROG} compare: note: plots skipped, matplotlib is not installed "
            '(pip install "sklearn-lt[plots]")',
            file=sys.stderr,
        )
        return []
    matplotlib.use("Agg")  # files only, no window
    import matplotlib.pyplot as plt

    from .plotting import plot_balanced_accuracy, plot_per_class_recall

    written = []
    ax = plot_per_class_recall(per_class, contenders=list(table["contender"]))
    path = out / "per_class_recall.png"
    ax.figure.savefig(path, dpi=120)
    plt.close(ax.figure)
    written.append(path)
    ax = plot_balanced_accuracy(table)
    path = out / "balanced_accuracy.png"
    ax.figure.savefig(path, dpi=120)
    plt.close(ax.figure)
    written.append(path)
    return written


# -- the commands ---------------------------------------------------------------


def _one_line(message):
    lines = [line.strip() for line in str(message).splitlines() if line.strip()]
    return " ".join(lines[:1]) if lines else ""


def _run_compare(args, command):
    from .compare import compare, default_contenders, resolve_contenders

    if args.list_contenders:
        for name in default_contenders(random_state=args.seed):
            print(name)
        return 0
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise CommandLineError(f"--out {args.out!r} exists and is not a directory")
    try:
        contenders = resolve_contenders(
            args.contenders, drop=args.drop, random_state=args.seed
        )
    except ValueError as exc:
        raise CommandLineError(str(exc)) from exc
    X, y, cv, description = _splits(args)
    with warnings.catch_warnings(record=True) as caught:
        # The MLPs stop at a fixed number of epochs on purpose (one budget for
        # every MLP contender); their "not converged" warnings are noise here.
        from sklearn.exceptions import ConvergenceWarning

        warnings.simplefilter("default")
        warnings.simplefilter("ignore", ConvergenceWarning)
        table, per_class = compare(
            contenders,
            X,
            y,
            cv=cv,
            n_jobs=args.n_jobs,
            random_state=args.seed,
            progress=not args.no_progress,
            return_per_class=True,
        )
    # one line per distinct warning (a failed contender, a tiny class...)
    for message in dict.fromkeys(_one_line(w.message) for w in caught):
        print(f"{PROG} compare: warning: {message}", file=sys.stderr)
    print(f"\n{description}\n")
    print(display_table(table).to_string(index=False))
    written = _write_results(
        out, table, per_class, description, command, plots=not args.no_plots
    )
    print(f"\nWrote {', '.join(path.name for path in written)} to {out}")
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
        0 on success; 2 for an error in the arguments or the data (a one-line
        message on stderr, as argparse gives); 130 if interrupted.
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
