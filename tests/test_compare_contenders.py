"""Tests of sklearn_lt.compare.contenders: the default field and its names."""

import re
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_iris, make_classification
from sklearn.ensemble import HistGradientBoostingClassifier, VotingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from sklearn_lt import (
    LinearMarginClassifier,
    LogitAdjustedClassifier,
    PriorCalibratedClassifier,
)
from sklearn_lt.compare import compare, default_contenders, resolve_contenders
from sklearn_lt.compare.contenders import _contender_family, _describe_estimator
from sklearn_lt.datasets import make_long_tailed_classification

BASE_NAMES = [
    "logreg",
    "logreg_balanced",
    "linear_svc_balanced",
    "svc_rbf_balanced",
    "mlp",
    "hgb",
    "hgb_balanced",
    "smote_logreg",
    "oversample_mlp",
    "balanced_random_forest",
    "easy_ensemble",
    "linear_margin_la",
    "mlp_margin_la",
    "mlp_margin_ldam_drw",
    "mlp_margin_elm",
    "logreg_posthoc_la",
    "hgb_posthoc_la",
    "blend_la",
    "mlp_margin_la_metric_opt",
    "hgb_metric_opt",
]
OURS = {
    "linear_margin_la",
    "mlp_margin_la",
    "mlp_margin_ldam_drw",
    "mlp_margin_elm",
    "logreg_posthoc_la",
    "hgb_posthoc_la",
    "blend_la",
    "mlp_margin_la_metric_opt",
    "hgb_metric_opt",
}


def _expected_names():
    """The documented names; LightGBM's only when it is installed."""
    import importlib.util

    names = list(BASE_NAMES)
    if importlib.util.find_spec("lightgbm") is not None:
        names.insert(names.index("hgb_balanced") + 1, "lightgbm")
    return names


def test_unknown_contender_name_lists_the_known_ones():
    with pytest.raises(ValueError, match=r"Unknown contender 'svm'.*svc_rbf_balanced"):
        resolve_contenders(["svm"])
    with pytest.raises(ValueError, match=r"Cannot drop unknown contender 'nope'"):
        resolve_contenders(["logreg"], drop=["nope"])


@pytest.mark.parametrize(
    "contenders, message",
    [
        (["logreg", "logreg"], "given twice"),
        ([("x", object())], "must be named by a string and be an estimator"),
        ([42], "name or a \\(name, estimator\\) pair"),
    ],
)
def test_resolve_contenders_rejects_bad_input(contenders, message):
    with pytest.raises(ValueError, match=message):
        resolve_contenders(contenders)


def test_dropping_every_contender_is_an_error():
    with pytest.raises(ValueError, match="No contenders left"):
        resolve_contenders(["logreg"], drop=["logreg"])


def test_default_contenders_are_unfitted_clonable_and_named_as_documented():
    contenders = default_contenders(random_state=7)
    assert list(contenders) == _expected_names()
    for estimator in contenders.values():
        clone(estimator)
    # every MLP contender, ours and the baselines, gets the same budget
    mlps = {
        name: params
        for name, estimator in contenders.items()
        for key, params in estimator.get_params().items()
        if re.fullmatch(r"(mlpclassifier|mlpmarginclassifier)", key)
    }
    assert set(mlps) == {
        "mlp",
        "oversample_mlp",
        "mlp_margin_la",
        "mlp_margin_ldam_drw",
        "mlp_margin_elm",
    }
    budgets = {
        (
            mlp.hidden_layer_sizes,
            mlp.batch_size,
            mlp.learning_rate_init,
            mlp.max_iter,
            mlp.random_state,
        )
        for mlp in mlps.values()
    }
    assert len(budgets) == 1
    assert budgets.pop()[-1] == 7
    # the L2 penalty is each estimator's own default
    for name, mlp in mlps.items():
        expected = "auto" if name.startswith("mlp_margin") else 1e-4
        assert mlp.alpha == expected, name


def test_gradient_boosting_contenders_are_what_their_names_say():
    contenders = default_contenders(random_state=3)
    plain, balanced = contenders["hgb"], contenders["hgb_balanced"]
    ours = contenders["hgb_posthoc_la"]
    assert type(plain) is HistGradientBoostingClassifier
    assert plain.class_weight is None and plain.random_state == 3
    assert balanced.class_weight == "balanced"
    assert isinstance(ours, LogitAdjustedClassifier)
    assert type(ours.estimator) is HistGradientBoostingClassifier
    assert ours.estimator.get_params() == plain.get_params()
    # native categorical support, used by the preprocessing of mixed tables
    assert plain.categorical_features == "from_dtype"


def test_blend_is_a_soft_vote_of_the_three_logit_adjusted_contenders():
    contenders = default_contenders(random_state=3)
    scaler, vote = (step for _, step in contenders["blend_la"].steps)
    assert type(scaler) is StandardScaler
    assert isinstance(vote, VotingClassifier) and vote.voting == "soft"
    assert vote.weights is None
    members = dict(vote.estimators)
    assert list(members) == ["mlp", "linear", "hgb"]
    # each member is the stand-alone contender of that name, unscaled
    alone = {
        "mlp": contenders["mlp_margin_la"].steps[-1][1],
        "linear": contenders["linear_margin_la"].steps[-1][1],
        "hgb": contenders["hgb_posthoc_la"],
    }

    def settings(estimator):
        return {
            key: value
            for key, value in estimator.get_params(deep=True).items()
            if not hasattr(value, "get_params")
        }

    for name, member in members.items():
        assert type(member) is type(alone[name]), name
        assert settings(member) == settings(alone[name]), name


def test_blend_decides_by_its_averaged_balanced_probabilities():
    X, y = make_long_tailed_classification(
        n_samples=300, n_features=5, n_classes=3, imbalance_ratio=5, random_state=0
    )
    blend = default_contenders(random_state=0)["blend_la"]
    blend.set_params(votingclassifier__mlp__max_iter=5).fit(X, y)
    scaler, vote = (step for _, step in blend.steps)
    Z = scaler.transform(X)
    probas = [member.predict_proba(Z) for member in vote.estimators_]
    # every member's probabilities are its balanced ones: their argmax is its
    # (balanced) decision, so the average is taken on one scale
    for member, proba in zip(vote.estimators_, probas):
        np.testing.assert_array_equal(
            member.predict(Z), member.classes_[proba.argmax(1)]
        )
    # the boosted trees' probabilities are balanced by Bayes' rule:
    # p(k | x) / pi_k, renormalised (tau = 1, pi the class frequencies)
    hgb = vote.estimators_[2]
    prior = np.bincount(y) / len(y)
    by_hand = hgb.estimator_.predict_proba(Z) / prior
    by_hand /= by_hand.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(probas[2], by_hand, rtol=1e-6, atol=1e-9)
    mean = np.mean(probas, axis=0)
    np.testing.assert_allclose(blend.predict_proba(X), mean, rtol=1e-6)
    np.testing.assert_array_equal(blend.predict(X), vote.classes_[mean.argmax(1)])


def test_family_marks_estimators_using_this_package():
    assert _contender_family(LogitAdjustedClassifier(LogisticRegression())) == (
        "sklearn_lt"
    )
    assert _contender_family(
        make_pipeline(StandardScaler(), LinearMarginClassifier())
    ) == ("sklearn_lt")
    assert _contender_family(LogisticRegression()) == "baseline"
    families = {
        name: _contender_family(estimator)
        for name, estimator in default_contenders().items()
    }
    assert {name for name, family in families.items() if family == "sklearn_lt"} == (
        OURS
    )


def test_describe_estimator_is_one_line_and_names_the_parts():
    contenders = default_contenders()
    for name, estimator in contenders.items():
        text = _describe_estimator(estimator)
        assert "\n" not in text and text == text.strip(), name
    assert _describe_estimator(contenders["logreg_balanced"]) == (
        "StandardScaler() -> LogisticRegression(class_weight='balanced', max_iter=1000)"
    )
    assert _describe_estimator(contenders["hgb_posthoc_la"]) == (
        "LogitAdjustedClassifier(estimator=HistGradientBoostingClassifier("
        "random_state=0))"
    )


@pytest.mark.slow  # fits every default contender, the MLPs included
def test_every_default_contender_runs_on_a_tiny_problem():
    X, y = make_long_tailed_classification(
        n_samples=150, n_features=5, n_classes=3, imbalance_ratio=5, random_state=0
    )
    cv = list(StratifiedKFold(2, shuffle=True, random_state=0).split(X, y))[:1]
    with warnings.catch_warnings(), threadpool_limits(1):
        warnings.simplefilter("ignore")  # MLP convergence, small-class notes
        table = compare(None, X, y, cv=cv)
    assert sorted(table["contender"]) == sorted(_expected_names())
    assert table["balanced_accuracy_mean"].notna().all()
    assert (table["n_failed"] == 0).all()
    families = dict(zip(table["contender"], table["family"]))
    assert {name for name, family in families.items() if family == "sklearn_lt"} == (
        OURS
    )


def test_easy_ensemble_boosts_trees_that_can_tell_many_classes_apart():
    """imbalanced-learn's default inner AdaBoost boosts depth-1 stumps, which
    separate two classes at a time; on the 10 digit classes (bags of 7 rows
    per class) it scored 0.601 balanced accuracy against 0.875 for the
    balanced random forest. The contender boosts depth-4 trees instead."""
    from imblearn.ensemble import EasyEnsembleClassifier
    from sklearn.ensemble import AdaBoostClassifier
    from sklearn.tree import DecisionTreeClassifier

    from sklearn_lt.compare import digits_lt_split

    model = default_contenders(random_state=5)["easy_ensemble"]
    assert type(model) is EasyEnsembleClassifier
    assert model.n_estimators == 10 and model.random_state == 5
    assert model.sampling_strategy == "auto" and not model.replacement
    assert type(model.estimator) is AdaBoostClassifier
    assert model.estimator.n_estimators == 10
    assert type(model.estimator.estimator) is DecisionTreeClassifier
    assert model.estimator.estimator.max_depth == 4

    X, y, cv = digits_lt_split(imbalance_ratio=20, n_splits=2, random_state=0)
    contenders = {
        "easy_ensemble": model,
        "imblearn_default": EasyEnsembleClassifier(random_state=5),
        "balanced_random_forest": default_contenders()["balanced_random_forest"],
    }
    with threadpool_limits(1):
        table = compare(contenders, X, y, cv=cv, n_jobs=1).set_index("contender")
    score = table["balanced_accuracy_mean"]
    assert score["easy_ensemble"] > score["imblearn_default"] + 0.15
    assert score["easy_ensemble"] > score["balanced_random_forest"] - 0.03


# -- metric-optimal contenders (issue 25) ------------------------------------------


def test_metric_optimal_contenders_wrap_their_model_for_the_metric():
    from sklearn_lt import MetricOptimalClassifierCV

    contenders = default_contenders(metric="worst_class_recall")
    for name in ("mlp_margin_la_metric_opt", "hgb_metric_opt"):
        estimator = contenders[name]
        assert isinstance(estimator, MetricOptimalClassifierCV)
        assert estimator.metric == "worst_class_recall"
        wrapped = estimator.estimator
        if name.startswith("mlp"):
            # the rule's plug-in starts take probabilities at the training
            # prior: the MLP's closed form, no refit
            assert isinstance(wrapped, PriorCalibratedClassifier)
            assert (wrapped.prior, wrapped.method) == ("train", "auto")
            wrapped = wrapped.estimator
        inner = contenders[name.removesuffix("_metric_opt")]
        # the same model as the contender it is named after, another object
        assert repr(wrapped) == repr(inner)
        assert wrapped is not inner
    assert default_contenders()["hgb_metric_opt"].metric == "balanced_accuracy"
    picked = resolve_contenders(["hgb_metric_opt"], metric="macro_f1")
    assert picked["hgb_metric_opt"].metric == "macro_f1"
    every = resolve_contenders(metric="gmean")
    assert every["mlp_margin_la_metric_opt"].metric == "gmean"


@pytest.mark.parametrize("metric", ["accuracy", "f1", None, 3])
def test_an_unknown_metric_is_a_clear_error(metric):
    from sklearn_lt.compare import Comparison

    pattern = (
        "metric must be one of balanced_accuracy, macro_f1, gmean, worst_class_recall"
    )
    with pytest.raises(ValueError, match=pattern):
        resolve_contenders(["logreg"], metric=metric)
    X, y = load_iris(return_X_y=True)
    with pytest.raises(ValueError, match=pattern):
        compare(["logreg"], X, y, cv=3, metric=metric)
    with pytest.raises(ValueError, match=pattern):
        Comparison(X, y, contenders=["logreg"], cv=3, metric=metric).run()


def test_metric_optimal_contenders_run_in_a_tiny_comparison():
    X, y = make_classification(
        n_samples=150, n_classes=3, n_informative=4, weights=[0.6, 0.3, 0.1],
        random_state=0,
    )  # fmt: skip
    contenders = resolve_contenders(["hgb", "hgb_metric_opt"], metric="gmean")
    contenders["hgb"].set_params(max_iter=20)
    contenders["hgb_metric_opt"].set_params(estimator__max_iter=20)
    table = compare(contenders, X, y, cv=3)
    assert table["n_failed"].tolist() == [0, 0]
    row = table.set_index("contender").loc["hgb_metric_opt"]
    assert row["probabilities"] == "predict_proba as given"
    assert 0 <= row["brier_score_mean"] <= 2 and 0 <= row["calibration_error_mean"]
    assert row["geometric_mean_mean"] > 0


def test_the_mlp_metric_optimal_contender_runs_by_name():
    X, y = make_classification(n_samples=120, weights=[0.8], random_state=0)
    table = compare(["mlp_margin_la_metric_opt"], X, y, cv=2, metric="macro_f1")
    assert table["n_failed"].tolist() == [0]
    assert table["family"].tolist() == ["sklearn_lt"]
