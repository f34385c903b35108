"""sklearn_lt: scikit-learn compatible classifiers for long-tailed data.

The public names are loaded on first use (PEP 562 module ``__getattr__``, as
scikit-learn and SciPy do for their submodules): ``import sklearn_lt`` loads
neither torch, skorch, pandas nor matplotlib, and ``from sklearn_lt import
MLPMarginClassifier`` imports only what that estimator needs. Submodules
(``sklearn_lt.losses``, ``sklearn_lt.metrics``, ...) are loaded the same way
when first accessed as attributes.

Examples
--------
>>> import sklearn_lt
>>> "MLPMarginClassifier" in dir(sklearn_lt)
True
>>> import sys
>>> from sklearn_lt import MLPMarginClassifier  # loads torch and skorch now
>>> MLPMarginClassifier.__module__, "torch" in sys.modules
('sklearn_lt.mlp', True)
"""

import importlib
import importlib.util
from typing import TYPE_CHECKING

__version__ = "0.1.0.dev0"

# Public name -> the submodule that defines it.
_LAZY = {
    "DoubleCorrectionWarning": "_base",
    "LinearMarginClassifier": "linear",
    "LinearMarginClassifierCV": "_cv",
    "LogitAdjustedClassifier": "posthoc",
    "LogitAdjustedClassifierCV": "posthoc",
    "LongTailNet": "net",
    "MLPMarginClassifier": "mlp",
    "MLPMarginClassifierCV": "_cv",
    "MetricOptimalClassifierCV": "decisions",
    "PriorCalibratedClassifier": "prior_calibration",
    "PriorShiftAdapter": "prior_shift",
    "embedding_compactness": "metrics",
    "expected_calibration_error": "metrics",
    "load_digits_lt": "datasets",
    "long_tail_counts": "datasets",
    "make_long_tailed": "datasets",
    "make_long_tailed_classification": "datasets",
    "per_class_recall": "metrics",
    "shot_accuracy": "metrics",
    "worst_class_recall": "metrics",
    "worst_class_recall_scorer": "metrics",
}

__all__ = [
    "DoubleCorrectionWarning",
    "LinearMarginClassifier",
    "LinearMarginClassifierCV",
    "LogitAdjustedClassifier",
    "LogitAdjustedClassifierCV",
    "LongTailNet",
    "MLPMarginClassifier",
    "MLPMarginClassifierCV",
    "MetricOptimalClassifierCV",
    "PriorCalibratedClassifier",
    "PriorShiftAdapter",
    "__version__",
    "embedding_compactness",
    "expected_calibration_error",
    "load_digits_lt",
    "long_tail_counts",
    "make_long_tailed",
    "make_long_tailed_classification",
    "per_class_recall",
    "shot_accuracy",
    "worst_class_recall",
    "worst_class_recall_scorer",
]

if TYPE_CHECKING:  # static analysers and IDEs see the eager imports
    from ._base import DoubleCorrectionWarning
    from ._cv import LinearMarginClassifierCV, MLPMarginClassifierCV
    from .datasets import (
        load_digits_lt,
        long_tail_counts,
        make_long_tailed,
        make_long_tailed_classification,
    )
    from .decisions import MetricOptimalClassifierCV
    from .linear import LinearMarginClassifier
    from .metrics import (
        embedding_compactness,
        expected_calibration_error,
        per_class_recall,
        shot_accuracy,
        worst_class_recall,
        worst_class_recall_scorer,
    )
    from .mlp import MLPMarginClassifier
    from .net import LongTailNet
    from .posthoc import LogitAdjustedClassifier, LogitAdjustedClassifierCV
    from .prior_calibration import PriorCalibratedClassifier
    from .prior_shift import PriorShiftAdapter


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value  # later look-ups skip __getattr__
        return value
    if not name.startswith("_") and importlib.util.find_spec(f"{__name__}.{name}"):
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted({*globals(), *__all__})
