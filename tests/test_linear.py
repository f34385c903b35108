"""LinearMarginClassifier against scikit-learn's LogisticRegression and closed forms."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_iris, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from sklearn_lt import LinearMarginClassifier
from sklearn_lt.weights import effective_number_weights

ALPHA = 1e-2


@pytest.fixture(scope="module")
def long_tailed():
    X, y = make_classification(
        n_samples=600,
        n_features=6,
        n_informative=4,
        n_classes=3,
        weights=[0.8, 0.15, 0.05],
        class_sep=0.8,
        random_state=0,
    )
    return StandardScaler().fit_transform(X), y


def _logistic(X, y, **kwargs):
    # Our objective: weighted mean loss + alpha/2 ||W||^2, which is
    # LogisticRegression's with C = 1 / (alpha * n_samples).
    return LogisticRegression(
        C=1.0 / (ALPHA * len(y)), tol=1e-10, max_iter=10_000, **kwargs
    ).fit(X, y)


def test_cross_entropy_matches_logistic_regression(long_tailed):
    X, y = long_tailed
    ours = LinearMarginClassifier(
        loss="ce", alpha=ALPHA, tol=1e-6, max_iter=500, random_state=0
    )
    ours.fit(X, y)
    reference = _logistic(X, y)
    np.testing.assert_allclose(
        ours.predict_proba(X), reference.predict_proba(X), atol=2e-3
    )
    assert (ours.predict(X) == reference.predict(X)).mean() > 0.99


def test_balanced_class_weight_matches_logistic_regression(long_tailed):
    X, y = long_tailed
    ours = LinearMarginClassifier(
        loss="ce",
        class_weight="balanced",
        alpha=ALPHA,
        tol=1e-6,
        max_iter=500,
        random_state=0,
    ).fit(X, y)
    reference = _logistic(X, y, class_weight="balanced")
    np.testing.assert_allclose(
        ours.predict_proba(X), reference.predict_proba(X), atol=2e-3
    )


@pytest.mark.parametrize("tau", [0.5, 1.0, 2.0])
def test_logit_adjusted_linear_model_is_logistic_regression_minus_tau_log_prior(
    long_tailed, tau
):
    # With an unpenalised intercept, training on f + tau log(pi) only shifts
    # the intercept: f_LA = f_CE - tau log(pi) (Menon et al., Sec. 4).
    X, y = long_tailed
    ours = LinearMarginClassifier(
        loss="logit_adjusted",
        tau=tau,
        alpha=ALPHA,
        tol=1e-6,
        max_iter=500,
        random_state=0,
    ).fit(X, y)
    reference = _logistic(X, y)
    prior = np.bincount(y) / len(y)
    expected = reference.decision_function(X) - tau * np.log(prior)
    got = ours.decision_function(X)
    # Logits are defined up to a per-row constant: compare centred logits.
    centre = lambda z: z - z.mean(axis=1, keepdims=True)  # noqa: E731
    np.testing.assert_allclose(centre(got), centre(expected), atol=5e-3)


def test_logit_adjustment_raises_balanced_accuracy(long_tailed):
    from sklearn.metrics import balanced_accuracy_score

    X, y = long_tailed
    plain = LinearMarginClassifier(loss="ce", random_state=0).fit(X, y)
    adjusted = LinearMarginClassifier(loss="logit_adjusted", random_state=0).fit(X, y)
    assert balanced_accuracy_score(y, adjusted.predict(X)) > balanced_accuracy_score(
        y, plain.predict(X)
    )


def test_elm_is_refused_with_a_pointer_to_the_mlp(long_tailed):
    X, y = long_tailed
    with pytest.raises(ValueError, match="MLPMarginClassifier"):
        LinearMarginClassifier(loss="elm").fit(X, y)


def test_string_labels_any_order_and_binary_decision_function():
    X, y = load_iris(return_X_y=True)
    X, y = X[y > 0], np.where(y[y > 0] == 1, "zebra", "ant")
    clf = LinearMarginClassifier(random_state=0).fit(X, y)
    assert list(clf.classes_) == ["ant", "zebra"]
    scores = clf.decision_function(X)
    assert scores.shape == (len(X),)
    np.testing.assert_array_equal(clf.predict(X), np.where(scores > 0, "zebra", "ant"))
    np.testing.assert_allclose(
        clf.predict_proba(X)[:, 1], 1 / (1 + np.exp(-scores)), rtol=1e-6
    )


def test_random_state_makes_fits_bit_identical(long_tailed):
    X, y = long_tailed
    a = LinearMarginClassifier(solver="adam", max_epochs=3, random_state=3).fit(X, y)
    b = LinearMarginClassifier(solver="adam", max_epochs=3, random_state=3).fit(X, y)
    np.testing.assert_array_equal(a.decision_function(X), b.decision_function(X))


def test_drw_with_lbfgs_fits_unweighted_then_weighted(long_tailed):
    X, y = long_tailed
    clf = LinearMarginClassifier(loss="ldam", reweight="drw", random_state=0).fit(X, y)
    assert len(clf.net_.history) == 2
    np.testing.assert_allclose(
        clf.net_.criterion_.weight.numpy(), effective_number_weights(np.bincount(y))
    )
    assert clf.n_iter_ > 0


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_minibatch_solvers_reach_the_lbfgs_solution(long_tailed, solver):
    X, y = long_tailed
    full = LinearMarginClassifier(random_state=0).fit(X, y)
    clf = LinearMarginClassifier(solver=solver, max_epochs=30, random_state=0).fit(X, y)
    assert clf.n_iter_ == 30
    assert (clf.predict(X) == full.predict(X)).mean() > 0.9


def test_zero_sample_weight_equals_dropping_rows(long_tailed):
    X, y = long_tailed
    weights = np.ones(len(y))
    weights[::3] = 0
    kwargs = {
        "loss": "ce",
        "alpha": ALPHA,
        "tol": 1e-6,
        "max_iter": 500,
        "random_state": 0,
    }
    weighted = LinearMarginClassifier(**kwargs).fit(X, y, sample_weight=weights)
    dropped = LinearMarginClassifier(**kwargs).fit(X[weights > 0], y[weights > 0])
    np.testing.assert_allclose(
        weighted.predict_proba(X), dropped.predict_proba(X), atol=2e-3
    )


def test_vs_predictions_do_not_depend_on_the_initial_intercepts():
    # The VS loss sees Delta_k * f_k + iota_k: moving b_k by c / Delta_k
    # changes nothing in training but shifts the prediction logits by a
    # class-dependent amount. The fit must pick one representative, so fits
    # from different random initialisations agree as closely as for the
    # cross-entropy, and the bias is orthogonal to u_k = 1 / Delta_k.
    X, y = make_classification(
        n_samples=300,
        n_features=5,
        n_informative=4,
        n_redundant=0,
        n_classes=3,
        weights=[0.7, 0.2, 0.1],
        random_state=0,
    )
    gamma = 0.3
    fits = [
        LinearMarginClassifier(
            loss="vs", vs_gamma=gamma, tol=1e-8, max_iter=500, random_state=seed
        ).fit(X, y)
        for seed in range(3)
    ]
    for other in fits[1:]:
        np.testing.assert_allclose(
            other.predict_proba(X), fits[0].predict_proba(X), atol=2e-3
        )
    counts = np.bincount(y)
    u = (counts / counts.max()) ** -gamma
    bias = fits[0].net_.module_.head.bias.detach().numpy()
    assert abs(bias @ u) < 1e-4 * np.linalg.norm(u) * max(1.0, np.abs(bias).max())


@pytest.mark.parametrize("reweight", [None, "drw"])
def test_lbfgs_stopped_by_its_budget_warns_like_logistic_regression(
    long_tailed, reweight
):
    # max_iter=2 cannot reach tol=1e-4 on this problem (a converged fit below
    # takes about a dozen iterations); sklearn warns in the same situation.
    X, y = long_tailed
    with pytest.warns(ConvergenceWarning, match="lbfgs failed to converge"):
        LinearMarginClassifier(max_iter=2, reweight=reweight, random_state=0).fit(X, y)
    with pytest.warns(ConvergenceWarning):
        LogisticRegression(max_iter=2).fit(X, y)


@pytest.mark.parametrize("reweight", [None, "drw"])
def test_converged_lbfgs_fit_does_not_warn(long_tailed, reweight):
    X, y = long_tailed
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = LinearMarginClassifier(reweight=reweight, random_state=0).fit(X, y)
    assert model.n_iter_ < model.max_iter


def test_lbfgs_converging_on_its_last_allowed_iteration_does_not_warn(long_tailed):
    # torch checks max_iter before the gradient: a fit that reaches tol on
    # exactly its last iteration must not be reported as unconverged.
    X, y = long_tailed
    free = LinearMarginClassifier(random_state=0).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        tight = LinearMarginClassifier(max_iter=free.n_iter_, random_state=0).fit(X, y)
    assert tight.n_iter_ == tight.max_iter
    np.testing.assert_array_equal(tight.decision_function(X), free.decision_function(X))
    # One iteration fewer stops short of tol, and says which budget ran out.
    message = rf"{free.n_iter_ - 1} of max_iter={free.n_iter_ - 1} iterations"
    with pytest.warns(ConvergenceWarning, match=message):
        LinearMarginClassifier(max_iter=free.n_iter_ - 1, random_state=0).fit(X, y)


def test_a_huge_adam_learning_rate_warns_and_names_it():
    rng = np.random.RandomState(0)
    y = np.repeat([0, 1, 2], [60, 30, 10])
    X = rng.normal(size=(y.size, 4)) + 3 * np.eye(4)[y]
    with pytest.warns(ConvergenceWarning, match="learning_rate_init=1000.0"):
        LinearMarginClassifier(solver="adam", learning_rate_init=1e3).fit(X, y)


# --------------------------------------------------------------------------
# Class weights with a loss that already corrects for the prior (issue 23)
# --------------------------------------------------------------------------
def _estimator(cls, **params):
    from sklearn_lt import MLPMarginClassifier

    if cls == "mlp":
        return MLPMarginClassifier(hidden_layer_sizes=(4,), max_iter=1, **params)
    return LinearMarginClassifier(max_iter=5, **params)


@pytest.mark.parametrize("cls", ["linear", "mlp"])
@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"class_weight": "balanced"},
            r"class_weight='balanced' with loss='logit_adjusted' \(tau=1.0\) "
            "correct for the class prior twice",
        ),
        (
            {"loss": "balanced_softmax", "reweight": "drw"},
            "reweight='drw' with loss='balanced_softmax' correct for the class "
            "prior twice",
        ),
        (
            {"tau": 0.5, "class_weight": {0: 2.0}, "reweight": "drw"},
            r"class_weight=\{0: 2.0\} and reweight='drw' with "
            r"loss='logit_adjusted' \(tau=0.5\)",
        ),
    ],
)
def test_weights_with_a_prior_correcting_loss_warn_naming_both(
    long_tailed, cls, params, message
):
    from sklearn_lt import DoubleCorrectionWarning

    X, y = long_tailed
    assert issubclass(DoubleCorrectionWarning, UserWarning)
    with pytest.warns(DoubleCorrectionWarning, match=message):
        _estimator(cls, **params).fit(X, y)
    with pytest.warns(DoubleCorrectionWarning, match=message):
        _estimator(cls, **params).partial_fit(X, y, classes=[0, 1, 2])


@pytest.mark.parametrize(
    "params",
    [
        {"loss": "ce", "class_weight": "balanced"},
        {"loss": "ldam", "reweight": "drw"},
        {"loss": "logit_adjusted", "tau": 0.0, "class_weight": "balanced"},
        {"loss": "logit_adjusted"},
    ],
)
def test_one_correction_does_not_warn(long_tailed, params):
    from sklearn_lt import DoubleCorrectionWarning

    X, y = long_tailed
    with warnings.catch_warnings():
        warnings.simplefilter("error", DoubleCorrectionWarning)
        _estimator("linear", **params).fit(X, y)


def test_warm_start_lbfgs_starts_at_the_previous_solution(long_tailed):
    # As LogisticRegression(warm_start=True): a second fit on the same data
    # starts at the optimum, so L-BFGS stops at once, where a cold start
    # needs many iterations.
    X, y = long_tailed
    model = LinearMarginClassifier(warm_start=True, random_state=0).fit(X, y)
    proba, cold_iterations = model.predict_proba(X), model.n_iter_
    model.fit(X, y)
    assert cold_iterations > 10 and model.n_iter_ <= 2
    np.testing.assert_allclose(model.predict_proba(X), proba, atol=1e-5)
