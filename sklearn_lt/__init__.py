"""sklearn_lt: scikit-learn compatible classifiers for long-tailed data."""

from .linear import LinearMarginClassifier
from .mlp import MLPMarginClassifier
from .net import LongTailNet

__version__ = "0.1.0.dev0"

__all__ = [
    "LinearMarginClassifier",
    "LongTailNet",
    "MLPMarginClassifier",
    "__version__",
]
