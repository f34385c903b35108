"""PyTorch modules: a linear model, a cosine (normalised) head and an MLP body.

Every module maps ``X`` of shape ``(n_samples, n_features)`` to logits of
shape ``(n_samples, n_classes)``. :class:`MLPModule` with
``return_embeddings=True`` returns ``(logits, embeddings)`` instead, where
the embeddings are the output of the last hidden layer (what ELM's embedding
margin acts on and what ``MLPMarginClassifier.transform`` returns).
"""

import torch.nn.functional as F
from torch import nn

__all__ = ["ACTIVATIONS", "CosineLinear", "LinearModule", "MLPModule"]

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


def _make_head(head, in_features, n_classes):
    if head == "linear":
        return nn.Linear(in_features, n_classes)
    if head == "cosine":
        return CosineLinear(in_features, n_classes)
    raise ValueError(f"head must be 'linear' or 'cosine', got {head!r}.")
