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

This module parses the arguments and calls the Python API: the options are
defined in :mod:`sklearn_lt.compare._options`, the run in
:mod:`sklearn_lt.compare._command` (which builds a
:class:`~sklearn_lt.compare.Comparison`). It imports nothing heavier than
:mod:`argparse` until a command runs, so ``sklearn-lt --help`` is instant.

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

__all__ = ["build_parser", "main"]

PROG = "sklearn-lt"


def build_parser():
    """The ``sklearn-lt`` argument parser.

    Returns
    -------
    parser : argparse.ArgumentParser
        With one subcommand, ``compare``.
    """
    from . import __version__
    from .compare._options import add_compare_command

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
    add_compare_command(commands)
    return parser


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
    from .compare._command import CommandLineError, run_command

    try:
        return run_command(args, command)
    except CommandLineError as exc:
        print(f"{PROG} {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
