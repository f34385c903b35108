"""sklearn_lt: scikit-learn compatible classifiers for long-tailed data."""

__version__ = "0.1.0.dev0"

__all__ = ["__version__"]
