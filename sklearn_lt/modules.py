"""PyTorch modules: a linear model, a cosine (normalised) head, an MLP body
and an ensemble of MLPs computed together.

Every module maps ``X`` of shape ``(n_samples, n_features)`` to logits of
shape ``(n_samples, n_classes)``. :class:`MLPModule` with
``return_embeddings=True`` returns ``(logits, embeddings)`` instead, where
the embeddings are the output of the last hidden layer (what ELM's embedding
margin acts on and what ``MLPMarginClassifier.transform`` returns).
:class:`EnsembleMLPModule` in training mode returns every member's logits,
``(n_samples, n_members, n_classes)``, so that each member is trained on its
own loss; in evaluation mode it returns their mean.
"""

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "ACTIVATIONS",
    "CosineLinear",
    "EnsembleMLPModule",
    "LinearModule",
    "MLPModule",
]

ACTIVATIONS = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "logistic": nn.Sigmoid,
    "identity": nn.Identity,
    "gelu": nn.GELU,
}
"""Activation names accepted by :class:`MLPModule` (sklearn's, plus GELU)."""


class CosineLinear(nn.Module):
    """Cosine similarities between inputs and class weight vectors.

    ``out[i, k] = <x_i, w_k> / (||x_i|| ||w_k||)``, in ``[-1, 1]``: the
    normalised head LDAM is meant for (Cao et al., 2019).

    Parameters
    ----------
    in_features : int
    out_features : int
    """

    def __init__(self, in_features, out_features):
        super().__init__()
        layer = nn.Linear(in_features, out_features, bias=False)
        self.weight = layer.weight

    def forward(self, x):
        return F.linear(F.normalize(x, dim=1), F.normalize(self.weight, dim=1))


class LinearModule(nn.Module):
    """A linear model ``x -> W x + b`` (or cosine logits if ``head="cosine"``).

    Parameters
    ----------
    n_features : int
    n_classes : int
    head : {"linear", "cosine"}, default="linear"
    """

    def __init__(self, n_features, n_classes, head="linear"):
        super().__init__()
        self.head = _make_head(head, n_features, n_classes)

    def forward(self, X):
        return self.head(X)


class MLPModule(nn.Module):
    """A multi-layer perceptron body followed by a linear or cosine head.

    Parameters
    ----------
    n_features : int
    n_classes : int
    hidden_layer_sizes : tuple of int, default=(100,)
    activation : str, default="relu"
        A key of :data:`ACTIVATIONS`.
    dropout : float, default=0.0
        Dropout probability after each hidden activation.
    head : {"linear", "cosine"}, default="linear"
    return_embeddings : bool, default=False
        Return ``(logits, embeddings)`` from ``forward``.
    """

    def __init__(
        self,
        n_features,
        n_classes,
        hidden_layer_sizes=(100,),
        activation="relu",
        dropout=0.0,
        head="linear",
        return_embeddings=False,
    ):
        super().__init__()
        layers = []
        width = n_features
        for size in hidden_layer_sizes:
            layers.append(nn.Linear(width, size))
            layers.append(ACTIVATIONS[activation]())
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = size
        self.body = nn.Sequential(*layers)
        self.head = _make_head(head, width, n_classes)
        self.return_embeddings = return_embeddings

    def embed(self, X):
        """The output of the last hidden layer."""
        return self.body(X)

    def forward(self, X):
        embeddings = self.body(X)
        logits = self.head(embeddings)
        if self.return_embeddings:
            return logits, embeddings
        return logits


class EnsembleMLPModule(nn.Module):
    """``n_members`` independent MLPs trained in one pass, logits averaged.

    Every member is an :class:`MLPModule` of the same shape with its own
    weights (initialised as that module would be: member ``j``'s layer is
    the ``j``-th of ``n_members`` layers drawn one after the other, so with
    ``n_members=1`` the weights are those of :class:`MLPModule` under the
    same seed). The members are computed together: the first layer of all
    members is one matrix product (they share the input), later layers and
    the heads are batched products over the members. In training mode
    ``forward`` returns every member's logits, of shape ``(n_samples,
    n_members, n_classes)``; :class:`~sklearn_lt.LongTailNet` then averages
    the members' losses, so each member fits the data on its own (the
    training of the ensembles in Gorishniy et al., 2025). In evaluation
    mode it returns the members' mean logits, ``(n_samples, n_classes)``.

    Parameters
    ----------
    n_features : int
    n_classes : int
    hidden_layer_sizes : tuple of int, default=(100,)
        Hidden widths of each member.
    activation : str, default="relu"
        A key of :data:`ACTIVATIONS`.
    dropout : float, default=0.0
        Dropout probability after each hidden activation.
    head : {"linear", "cosine"}, default="linear"
    return_embeddings : bool, default=False
        Also return the members' last hidden layers: ``(n_samples,
        n_members, width)`` in training mode, concatenated to
        ``(n_samples, n_members * width)`` in evaluation mode.
    n_members : int, default=8
        Number of members.

    References
    ----------
    .. [1] Y. Gorishniy, A. Kotelnikov and A. Babenko, "TabM: Advancing
       Tabular Deep Learning with Parameter-Efficient Ensembling",
       ICLR 2025.

    Examples
    --------
    >>> import torch
    >>> from sklearn_lt.modules import EnsembleMLPModule
    >>> module = EnsembleMLPModule(4, 3, hidden_layer_sizes=(16,), n_members=5)
    >>> X = torch.randn(10, 4)
    >>> module.train()(X).shape  # every member's logits
    torch.Size([10, 5, 3])
    >>> module.eval()(X).shape  # their mean
    torch.Size([10, 3])
    """

    def __init__(
        self,
        n_features,
        n_classes,
        hidden_layer_sizes=(100,),
        activation="relu",
        dropout=0.0,
        head="linear",
        return_embeddings=False,
        n_members=8,
    ):
        super().__init__()
        if head not in ("linear", "cosine"):
            raise ValueError(f"head must be 'linear' or 'cosine', got {head!r}.")
        self.n_members = n_members
        self.head_kind = head
        self.return_embeddings = return_embeddings
        sizes = [n_features, *hidden_layer_sizes]
        # The first layer as one (n_features -> n_members * width) linear
        # map; every later layer and the head as stacked per-member weights
        # of shape (n_members, in, out).
        first = [nn.Linear(n_features, sizes[1]) for _ in range(n_members)]
        self.input_weight = nn.Parameter(torch.cat([m.weight for m in first]).detach())
        self.input_bias = nn.Parameter(torch.cat([m.bias for m in first]).detach())
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for width_in, width_out in zip(sizes[1:-1], sizes[2:]):
            weight, bias = _stacked_linear(width_in, width_out, n_members, True)
            self.weights.append(weight)
            self.biases.append(bias)
        self.head_weight, self.head_bias = _stacked_linear(
            sizes[-1], n_classes, n_members, head == "linear"
        )
        self.activation = ACTIVATIONS[activation]()
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def embed(self, X):
        """Every member's last hidden layer, concatenated:
        ``(n_samples, n_members * width)``."""
        hidden = self._members_hidden(X)
        return hidden.transpose(0, 1).reshape(len(X), -1)

    def _members_hidden(self, X):
        """Last hidden layers, ``(n_members, n_samples, width)``."""
        hidden = F.linear(X, self.input_weight, self.input_bias)
        hidden = self.dropout(self.activation(hidden))
        hidden = hidden.view(len(X), self.n_members, -1).transpose(0, 1)
        for weight, bias in zip(self.weights, self.biases):
            hidden = torch.baddbmm(bias.view(len(weight), 1, -1), hidden, weight)
            hidden = self.dropout(self.activation(hidden))
        return hidden

    def forward(self, X):
        hidden = self._members_hidden(X)  # (members, samples, width)
        if self.head_kind == "cosine":
            logits = torch.bmm(
                F.normalize(hidden, dim=2), F.normalize(self.head_weight, dim=1)
            )
        else:
            bias = self.head_bias.view(self.n_members, 1, -1)
            logits = torch.baddbmm(bias, hidden, self.head_weight)
        logits = logits.transpose(0, 1)  # (samples, members, classes)
        if self.training:
            embeddings = hidden.transpose(0, 1)
        else:
            logits = logits.mean(dim=1)
            embeddings = hidden.transpose(0, 1).reshape(len(X), -1)
        if self.return_embeddings:
            return logits, embeddings
        return logits


def _stacked_linear(width_in, width_out, n_members, bias):
    """``nn.Linear(width_in, width_out)``'s initial weights for each member,
    stacked and transposed: ``(n_members, width_in, width_out)``, and the
    biases one after the other, ``(n_members * width_out,)`` (or None): flat,
    so that the penalty on the weight matrices (every parameter of two or
    more dimensions) leaves them alone, as it does the biases of an MLP."""
    layers = [nn.Linear(width_in, width_out, bias=bias) for _ in range(n_members)]
    weight = nn.Parameter(torch.stack([m.weight.T for m in layers]).contiguous())
    if not bias:
        return weight, None
    return weight, nn.Parameter(torch.cat([m.bias for m in layers]).detach())


def _make_head(head, in_features, n_classes):
    if head == "linear":
        return nn.Linear(in_features, n_classes)
    if head == "cosine":
        return CosineLinear(in_features, n_classes)
    raise ValueError(f"head must be 'linear' or 'cosine', got {head!r}.")
