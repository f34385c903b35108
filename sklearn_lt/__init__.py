"""sklearn_lt: scikit-learn compatible classifiers for long-tailed data."""

from .datasets import (
    load_digits_lt,
    long_tail_counts,
    make_long_tailed,
    make_long_tailed_classification,
)
from .linear import LinearMarginClassifier
from .metrics import (
    embedding_compactness,
    per_class_recall,
    shot_accuracy,
    worst_class_recall,
    worst_class_recall_scorer,
)
from .mlp import MLPMarginClassifier
from .net import LongTailNet
from .posthoc import LogitAdjustedClassifier, LogitAdjustedClassifierCV

__version__ = "0.1.0.dev0"

__all__ = [
    "LinearMarginClassifier",
    "LogitAdjustedClassifier",
    "LogitAdjustedClassifierCV",
    "LongTailNet",
    "MLPMarginClassifier",
    "__version__",
    "embedding_compactness",
    "load_digits_lt",
    "long_tail_counts",
    "make_long_tailed",
    "make_long_tailed_classification",
    "per_class_recall",
    "shot_accuracy",
    "worst_class_recall",
    "worst_class_recall_scorer",
]
