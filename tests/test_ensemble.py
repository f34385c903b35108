"""EnsembleMLPModule and MLPMarginClassifier(ensemble_size=k)."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.datasets import load_breast_cancer, make_classification
from sklearn.preprocessing import StandardScaler

from sklearn_lt import LongTailNet, MLPMarginClassifier
from sklearn_lt._fast_step import EnsembleBackprop, MLPBackprop
from sklearn_lt.modules import EnsembleMLPModule, MLPModule


def _member(module, j):
    """Member ``j`` of an ensemble as a plain MLPModule (weights copied)."""
    sizes = [module.input_weight.shape[1]]
    width = module.input_weight.shape[0] // module.n_members
    sizes.append(width)
    sizes += [w.shape[2] for w in module.weights]
    n_classes = module.head_weight.shape[2]
    plain = MLPModule(sizes[0], n_classes, tuple(sizes[1:]), activation="tanh")
    linears = [m for m in plain.body if isinstance(m, torch.nn.Linear)]
    with torch.no_grad():
        linears[0].weight.copy_(module.input_weight[j * width : (j + 1) * width])
        linears[0].bias.copy_(module.input_bias[j * width : (j + 1) * width])
        for linear, weight, bias in zip(linears[1:], module.weights, module.biases):
            linear.weight.copy_(weight[j].T)
            linear.bias.copy_(bias.view(module.n_members, -1)[j])
        plain.head.weight.copy_(module.head_weight[j].T)
        plain.head.bias.copy_(module.head_bias.view(module.n_members, -1)[j])
    return plain


@pytest.mark.parametrize("hidden", [(5,), (5, 4)])
def test_ensemble_of_one_member_is_the_mlp_under_the_same_seed(hidden):
    torch.manual_seed(3)
    plain = MLPModule(6, 3, hidden)
    torch.manual_seed(3)
    ensemble = EnsembleMLPModule(6, 3, hidden, n_members=1)
    X = torch.randn(7, 6)
    assert torch.allclose(ensemble.eval()(X), plain(X), atol=1e-6)
    assert ensemble.train()(X).shape == (7, 1, 3)


@pytest.mark.parametrize("hidden", [(5,), (5, 4)])
def test_members_are_mlps_and_evaluation_averages_their_logits(hidden):
    torch.manual_seed(0)
    ensemble = EnsembleMLPModule(6, 3, hidden, activation="tanh", n_members=4)
    X = torch.randn(9, 6)
    members = [_member(ensemble, j)(X) for j in range(4)]
    per_member = ensemble.train()(X)
    assert per_member.shape == (9, 4, 3)
    for j in range(4):
        assert torch.allclose(per_member[:, j], members[j], atol=1e-6)
    mean = ensemble.eval()(X)
    assert torch.allclose(mean, torch.stack(members).mean(0), atol=1e-6)
    # embed: the members' last hidden layers side by side
    assert ensemble.embed(X).shape == (9, 4 * hidden[-1])


def test_biases_are_flat_so_the_penalty_leaves_them_alone():
    ensemble = EnsembleMLPModule(6, 3, (5, 4), n_members=3)
    matrices = {name for name, p in ensemble.named_parameters() if p.ndim > 1}
    assert matrices == {"input_weight", "head_weight", "weights.0"}


@pytest.mark.parametrize("activation", ["relu", "tanh", "identity"])
@pytest.mark.parametrize("hidden", [(7,), (7, 5)])
def test_hand_written_backward_matches_autograd(activation, hidden):
    torch.manual_seed(1)
    module = EnsembleMLPModule(6, 3, hidden, activation, n_members=4).double()
    X = torch.randn(11, 6, dtype=torch.float64)
    plan = MLPBackprop.plan(module)
    assert isinstance(plan, EnsembleBackprop)
    (logits,), saved = plan.forward(X)
    assert torch.allclose(logits, module(X))
    grad_logits = torch.randn_like(logits)
    alpha = 0.3
    grads = plan.backward(saved, grad_logits, alpha=alpha)
    penalty = sum((p**2).sum() for p in module.parameters() if p.ndim > 1)
    loss = (module(X) * grad_logits).sum() + 0.5 * alpha * penalty
    expected = torch.autograd.grad(loss, list(module.parameters()))
    for got, want in zip(grads, expected):
        assert torch.allclose(got, want, atol=1e-12)


@pytest.mark.parametrize(
    "make",
    [
        lambda: EnsembleMLPModule(4, 3, (5,), dropout=0.2),
        lambda: EnsembleMLPModule(4, 3, (5,), activation="gelu"),
        lambda: EnsembleMLPModule(4, 3, (5,), head="cosine"),
        lambda: EnsembleMLPModule(4, 3, (5,), return_embeddings=True),
        lambda: EnsembleMLPModule(4, 3, (5,)).eval(),
    ],
)
def test_hand_written_step_declines_what_it_does_not_know(make):
    assert MLPBackprop.plan(make()) is None


def test_net_loss_is_the_mean_of_the_members_losses():
    X, y = make_classification(60, 5, n_informative=3, n_classes=3, random_state=0)
    clf = MLPMarginClassifier(
        loss="ce", ensemble_size=3, hidden_layer_sizes=(4,), max_iter=1,
        alpha=0.0, random_state=0,
    ).fit(X.astype(np.float32), y)  # fmt: skip
    net = clf.net_
    net.module_.train()
    Xt, yt = torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(y)
    with torch.no_grad():
        logits = net.module_(Xt)
        loss = net.get_loss(logits, yt, X=Xt, training=True)
    expected = np.mean([float(F.cross_entropy(logits[:, j], yt)) for j in range(3)])
    assert float(loss) == pytest.approx(expected, rel=1e-6)


def _scaled_breast_cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(X).astype(np.float32), y


@pytest.mark.parametrize("loss", ["logit_adjusted", "vs", "ldam"])
def test_ensemble_classifier_predicts_the_mean_of_its_members(loss):
    X, y = _scaled_breast_cancer()
    kwargs = {"reweight": "drw"} if loss == "ldam" else {}
    clf = MLPMarginClassifier(
        loss, ensemble_size=3, hidden_layer_sizes=(8,), max_iter=3,
        random_state=0, **kwargs,
    ).fit(X, y)  # fmt: skip
    module = clf.net_.module_.eval()
    with torch.no_grad():
        logits = module.train()(torch.as_tensor(X)).mean(1)
    module.eval()
    scale = float(clf.net_.criterion_.logit_scale)
    expected = (logits[:, 1] - logits[:, 0]).double().numpy() * scale
    np.testing.assert_allclose(clf.decision_function(X), expected, atol=1e-4)
    assert clf.transform(X).shape == (len(X), 24)
    assert clf.get_feature_names_out().shape == (24,)


def test_ensemble_penalty_is_each_members_alpha():
    X, y = _scaled_breast_cancer()
    clf = MLPMarginClassifier(
        ensemble_size=4, alpha=0.02, max_iter=1, random_state=0
    ).fit(X, y)
    assert clf.alpha_ == 0.02
    assert clf.net_.alpha == pytest.approx(0.005)


def test_hand_written_step_gives_autograds_fit(monkeypatch):
    X, y = _scaled_breast_cancer()
    params = {"ensemble_size": 3, "hidden_layer_sizes": (6,), "max_iter": 2}
    fast = MLPMarginClassifier(**params, random_state=0).fit(X, y)
    monkeypatch.setattr(LongTailNet, "_manual_backprop", False)
    slow = MLPMarginClassifier(**params, random_state=0).fit(X, y)
    np.testing.assert_allclose(
        fast.decision_function(X), slow.decision_function(X), atol=1e-4
    )


@pytest.mark.filterwarnings("ignore:The model predicts the single class")
def test_vs_centring_acts_on_every_member_head():
    X, y = _scaled_breast_cancer()
    clf = MLPMarginClassifier(
        "vs", ensemble_size=2, hidden_layer_sizes=(5,), max_iter=2, random_state=0
    ).fit(X, y)
    u = 1.0 / clf.net_.criterion_.multiplicative.double()
    module = clf.net_.module_
    weight = module.head_weight.detach().double()  # (members, width, classes)
    bias = module.head_bias.detach().double().view(2, -1)
    np.testing.assert_allclose((weight @ u).numpy(), 0, atol=1e-5)
    np.testing.assert_allclose((bias @ u).numpy(), 0, atol=1e-5)


@pytest.mark.filterwarnings("ignore:The model predicts the single class")
def test_elm_members_each_get_their_own_embedding_loss():
    X, y = make_classification(60, 5, n_informative=3, n_classes=3, random_state=0)
    clf = MLPMarginClassifier(
        loss="elm", ensemble_size=2, hidden_layer_sizes=(4,), max_iter=1,
        alpha=0.0, random_state=0,
    ).fit(X.astype(np.float32), y)  # fmt: skip
    net = clf.net_
    net.module_.train()
    Xt, yt = torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(y)
    with torch.no_grad():
        logits, embeddings = net.module_(Xt)
        loss = net.get_loss((logits, embeddings), yt, X=Xt, training=True)
        expected = [
            float(net.criterion_(logits[:, j], embeddings[:, j], yt)) for j in range(2)
        ]
    assert embeddings.shape == (60, 2, 4)
    assert float(loss) == pytest.approx(np.mean(expected), rel=1e-6)
    assert clf.transform(X).shape == (60, 8)


@pytest.mark.parametrize("ensemble_size", [1, 4])
def test_few_positives_the_minority_is_still_predicted(ensemble_size):
    # bench_quality's breast-cancer task: 12 malignant rows kept among the
    # 357 benign ones, 8 of them in the training part. A collapsed model
    # predicts the majority class for every row.
    X, y = load_breast_cancer(return_X_y=True)
    rng = np.random.RandomState(0)
    malignant = rng.choice(np.flatnonzero(y == 0), 12, replace=False)
    keep = np.sort(np.r_[np.flatnonzero(y == 1), malignant])
    X, y = StandardScaler().fit_transform(X[keep]), (y[keep] == 0).astype(int)
    train = np.ones(len(y), dtype=bool)
    train[np.flatnonzero(y == 1)[:4]] = False
    train[np.flatnonzero(y == 0)[:120]] = False
    clf = MLPMarginClassifier(ensemble_size=ensemble_size, random_state=0)
    clf.fit(X[train], y[train])
    assert y[train].sum() == 8
    predicted = clf.predict(X[~train])
    assert predicted[y[~train] == 1].any()
    assert set(np.unique(predicted)) == {0, 1}


def test_ensemble_size_must_be_a_positive_integer():
    X, y = _scaled_breast_cancer()
    with pytest.raises(ValueError, match="'ensemble_size' parameter"):
        MLPMarginClassifier(ensemble_size=0).fit(X, y)


def test_ensemble_survives_save_and_load(tmp_path):
    from sklearn_lt.persistence import load, save

    X, y = _scaled_breast_cancer()
    clf = MLPMarginClassifier(ensemble_size=3, max_iter=2, random_state=0)
    clf.fit(X, y)
    save(clf, tmp_path / "model.sklt")
    loaded = load(tmp_path / "model.sklt")
    assert isinstance(loaded.net_.module_, EnsembleMLPModule)
    np.testing.assert_array_equal(loaded.decision_function(X), clf.decision_function(X))


def test_hand_written_step_with_sample_weight_gives_autograds_fit(monkeypatch):
    X, y = _scaled_breast_cancer()
    weight = np.random.RandomState(0).uniform(0.1, 2.0, len(y))
    params = {"ensemble_size": 3, "hidden_layer_sizes": (6,), "max_iter": 2}
    fast = MLPMarginClassifier(**params, random_state=0).fit(X, y, weight)
    monkeypatch.setattr(LongTailNet, "_manual_backprop", False)
    slow = MLPMarginClassifier(**params, random_state=0).fit(X, y, weight)
    np.testing.assert_allclose(
        fast.decision_function(X), slow.decision_function(X), atol=1e-4
    )
