"""Per-fold preprocessing of mixed-type tables, from scikit-learn's parts.

A real table has string and categorical columns and missing values. When
:func:`~sklearn_lt.compare.compare` gets a pandas DataFrame, every contender
becomes a :class:`~sklearn.pipeline.Pipeline` whose first step prepares the
columns, so that cross-validation refits it on each training fold (no
leakage from the test fold):

* most contenders get a :class:`~sklearn.compose.ColumnTransformer`: numeric
  columns through :class:`~sklearn.impute.SimpleImputer` (median) with a
  :class:`~sklearn.impute.MissingIndicator` beside them, categorical columns
  through :class:`~sklearn.preprocessing.OneHotEncoder` (missing values are
  a category of their own; categories not seen in training are ignored,
  rare ones pooled beyond ``_MAX_ONE_HOT`` columns). A contender that starts
  with a :class:`~sklearn.preprocessing.StandardScaler` (also inside a
  meta-estimator such as
  :class:`~sklearn_lt.LogitAdjustedClassifier`) has that scaler moved into
  this step, where it scales the **numeric columns only**: the 0/1 one-hot
  and missing-value indicator columns stay 0/1. Scaling them too would turn
  a level seen in 2% of the rows into a feature of size 7, which costs an
  MLP several points of balanced accuracy on real tables (``modeldata``
  ``mlc_churn``: see ``benchmarks/RESULTS.md``).
* gradient boosting with native categorical support
  (:class:`~sklearn.ensemble.HistGradientBoostingClassifier` with
  ``categorical_features="from_dtype"``, LightGBM) gets the categorical
  columns as pandas ``category`` columns (:class:`CategoricalColumns`) and
  handles missing values itself.

Column kinds come from the dtypes: every non-numeric column (strings,
pandas ``category``, booleans) is categorical
(:func:`~sklearn.compose.make_column_selector` with
``dtype_exclude="number"``); ``categorical=[...]`` adds integer-coded ones.
All-numeric NumPy input is passed to the contenders unchanged.
"""

import warnings

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import MissingIndicator, SimpleImputer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.utils.validation import check_is_fitted

__all__ = [
    "CategoricalColumns",
    "column_kinds",
    "make_preprocessor",
    "with_preprocessing",
]

#: Most one-hot columns per categorical column; rarer categories are pooled
#: into one "infrequent" column, which keeps memory bounded on columns with
#: many distinct values (identifiers, free text).
_MAX_ONE_HOT = 32

#: Most categories per column handed to native categorical support
#: (HistGradientBoosting's limit is its ``max_bins``, 255); rarer ones are
#: treated as missing.
_MAX_NATIVE_CATEGORIES = 255


def column_kinds(X, categorical=None):
    """Split the columns of a DataFrame into numeric and categorical ones.

    Parameters
    ----------
    X : pandas.DataFrame
        The features.

    categorical : list of column names, default=None
        Columns to treat as categorical even though they are numeric
        (integer-coded categories).

    Returns
    -------
    numeric, categorical : list
        Column names, in the order of ``X``.

    Raises
    ------
    ValueError
        If a name in ``categorical`` is not a column of ``X``.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn_lt.compare.preprocessing import column_kinds
    >>> X = pd.DataFrame({"age": [31, 45], "city": ["Oslo", "Rome"], "zip": [1, 2]})
    >>> column_kinds(X, categorical=["zip"])
    (['age'], ['city', 'zip'])
    """
    forced = list(categorical or ())
    unknown = [name for name in forced if name not in X.columns]
    if unknown:
        raise ValueError(
            f"categorical column(s) {', '.join(map(repr, unknown))} are not "
            f"columns of X; its columns are: {', '.join(map(str, X.columns[:20]))}"
            f"{', ...' if X.shape[1] > 20 else ''}"
        )
    auto = set(make_column_selector(dtype_exclude="number")(X))
    kinds = [(name in auto or name in forced) for name in X.columns]
    categorical = [name for name, cat in zip(X.columns, kinds) if cat]
    numeric = [name for name, cat in zip(X.columns, kinds) if not cat]
    return numeric, categorical


class CategoricalColumns(TransformerMixin, BaseEstimator):
    """Cast columns of a DataFrame to pandas ``category`` with fold-fitted levels.

    For models with native categorical support (HistGradientBoosting's
    ``categorical_features="from_dtype"``, LightGBM): ``fit`` learns the
    categories of each column on the training data (at most
    ``max_categories``, the most frequent; ties by value), ``transform``
    casts the columns to ``category`` with exactly those categories, so that
    values not seen in training become missing. Other columns pass through
    unchanged. scikit-learn has no transformer whose output is a pandas
    categorical column, hence this one.

    Parameters
    ----------
    columns : list of column names
        The categorical columns.

    max_categories : int, default=255
        Most categories kept per column.

    Attributes
    ----------
    categories_ : dict
        Column name to the list of its categories, sorted.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn_lt.compare.preprocessing import CategoricalColumns
    >>> train = pd.DataFrame({"city": ["Oslo", "Rome", "Oslo"], "x": [1, 2, 3]})
    >>> cast = CategoricalColumns(["city"]).fit(train)
    >>> out = cast.transform(pd.DataFrame({"city": ["Rome", "Lima"], "x": [4, 5]}))
    >>> out["city"].tolist(), list(out["city"].cat.categories)
    (['Rome', nan], ['Oslo', 'Rome'])
    """

    def __init__(self, columns, max_categories=_MAX_NATIVE_CATEGORIES):
        self.columns = columns
        self.max_categories = max_categories

    def fit(self, X, y=None):
        """Learn the categories of each column.

        Parameters
        ----------
        X : pandas.DataFrame
            Training data.
        y : None
            Ignored.

        Returns
        -------
        self : CategoricalColumns
        """
        self._check_frame(X)
        self.categories_ = {}
        for name in self.columns:
            counts = X[name].dropna().astype(str).value_counts(sort=False)
            order = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
            kept = [value for value, _ in order[: self.max_categories]]
            self.categories_[name] = sorted(kept)
        self.n_features_in_ = X.shape[1]
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        return self

    def transform(self, X):
        """Cast the columns to ``category`` with the learned categories.

        Parameters
        ----------
        X : pandas.DataFrame
            Data with the columns seen in ``fit``.

        Returns
        -------
        X_out : pandas.DataFrame
            A copy; the categorical columns have dtype ``category``.
        """
        check_is_fitted(self)
        self._check_frame(X)
        X = X.copy()
        for name, categories in self.categories_.items():
            values = X[name].astype(str).where(X[name].notna())
            values = values.where(values.isin(categories))
            X[name] = pd.Categorical(values, categories=categories)
        return X

    def get_feature_names_out(self, input_features=None):
        """The column names, unchanged.

        Parameters
        ----------
        input_features : None
            Ignored.

        Returns
        -------
        names : ndarray of str
        """
        check_is_fitted(self)
        return self.feature_names_in_.astype(str)

    def _check_frame(self, X):
        if not isinstance(X, pd.DataFrame):
            raise TypeError(
                f"CategoricalColumns needs a pandas DataFrame; got {type(X).__name__}."
            )
        missing = [name for name in self.columns if name not in X.columns]
        if missing:
            raise ValueError(f"Columns {missing} are missing from X.")


def _native_categorical(estimator):
    """Whether a contender takes pandas ``category`` columns and NaN itself.

    True for HistGradientBoosting with ``categorical_features="from_dtype"``
    and for LightGBM, alone or inside a meta-estimator with an
    ``estimator`` parameter (such as ``LogitAdjustedClassifier``); False for
    pipelines and everything else.
    """
    while True:
        if isinstance(estimator, HistGradientBoostingClassifier):
            return isinstance(estimator.categorical_features, str) and (
                estimator.categorical_features == "from_dtype"
            )
        if type(estimator).__name__ == "LGBMClassifier":
            return True
        if isinstance(estimator, Pipeline) or not hasattr(estimator, "get_params"):
            return False
        inner = estimator.get_params(deep=False).get("estimator")
        if inner is None:
            return False
        estimator = inner


def make_preprocessor(numeric, categorical, *, native=False, scaler=None):
    """The per-fold preprocessing step for one contender.

    Parameters
    ----------
    numeric, categorical : list of column names
        The column kinds, as from :func:`column_kinds`.

    native : bool, default=False
        True for a model with native categorical and missing-value support:
        the categorical columns become pandas ``category`` columns and
        everything else passes through (None if there is nothing to cast).

    scaler : transformer or None, default=None
        Applied to the imputed numeric columns only (a clone of it); the
        one-hot and missing-value indicator columns are never scaled.

    Returns
    -------
    preprocessor : transformer or None
        A :class:`~sklearn.compose.ColumnTransformer` (imputed, optionally
        scaled numeric columns, missing-value indicators of the numeric
        columns that had missing values in training, one-hot categorical
        columns; dense output), a :class:`CategoricalColumns`, or None.

    Examples
    --------
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn_lt.compare.preprocessing import make_preprocessor
    >>> step = make_preprocessor(["age"], ["city"], scaler=StandardScaler())
    >>> [(name, columns) for name, _, columns in step.transformers]
    [('numeric', ['age']), ('missing', ['age']), ('categorical', ['city'])]
    >>> step.transformers[0][1]
    Pipeline(steps=[('simpleimputer', SimpleImputer(strategy='median')),
                    ('standardscaler', StandardScaler())])
    """
    if native:
        return CategoricalColumns(list(categorical)) if categorical else None
    transformers = []
    if numeric:
        imputer = SimpleImputer(strategy="median")
        if scaler is not None:
            imputer = make_pipeline(imputer, clone(scaler))
        transformers += [
            ("numeric", imputer, list(numeric)),
            (
                "missing",
                MissingIndicator(features="missing-only", error_on_new=False),
                list(numeric),
            ),
        ]
    if categorical:
        transformers.append(
            (
                "categorical",
                OneHotEncoder(
                    handle_unknown="infrequent_if_exist",
                    max_categories=_MAX_ONE_HOT,
                    sparse_output=False,
                ),
                list(categorical),
            )
        )
    return ColumnTransformer(transformers)


def _leading_scaler(estimator):
    """Split off a contender's leading ``StandardScaler``.

    Returns ``(scaler, rest)``: the first step of a pipeline when it is a
    :class:`~sklearn.preprocessing.StandardScaler` followed by more steps,
    looked for also inside a meta-estimator's ``estimator`` parameter (such
    as ``LogitAdjustedClassifier(make_pipeline(StandardScaler(), ...))``),
    and a clone of the contender without it; ``(None, estimator)`` if there
    is none.
    """
    if isinstance(estimator, Pipeline):
        first = estimator.steps[0][1]
        if isinstance(first, StandardScaler) and len(estimator.steps) > 1:
            rest = clone(estimator)
            rest.steps = rest.steps[1:]
            return first, rest
        return None, estimator
    if not hasattr(estimator, "get_params"):
        return None, estimator
    inner = estimator.get_params(deep=False).get("estimator")
    if inner is None:
        return None, estimator
    scaler, rest = _leading_scaler(inner)
    if scaler is None:
        return None, estimator
    return scaler, clone(estimator).set_params(estimator=rest)


def with_preprocessing(estimator, numeric, categorical):
    """A contender with its per-fold preprocessing step in front.

    A leading :class:`~sklearn.preprocessing.StandardScaler` of the
    contender (also inside a meta-estimator's ``estimator``) moves into the
    preprocessing step, where it scales the numeric columns only.

    Parameters
    ----------
    estimator : estimator
        The contender (not modified).

    numeric, categorical : list of column names
        The column kinds, as from :func:`column_kinds`.

    Returns
    -------
    pipeline : estimator
        ``Pipeline([("preprocess", step), ("model", model)])``, where
        ``model`` is a clone of ``estimator`` (without its leading scaler),
        or a clone of ``estimator`` when it needs no step.

    Examples
    --------
    >>> from sklearn.ensemble import HistGradientBoostingClassifier
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn_lt.compare.preprocessing import with_preprocessing
    >>> scaled = make_pipeline(StandardScaler(), LogisticRegression())
    >>> pipe = with_preprocessing(scaled, ["age"], ["city"])
    >>> pipe.steps[0][0], pipe.named_steps["model"].steps[0][0]
    ('preprocess', 'logisticregression')
    >>> with_preprocessing(HistGradientBoostingClassifier(), ["age"], ["city"])[0]
    CategoricalColumns(columns=['city'])
    """
    native = _native_categorical(estimator)
    scaler, model = (None, estimator) if native else _leading_scaler(estimator)
    step = make_preprocessor(numeric, categorical, native=native, scaler=scaler)
    if step is None:
        return clone(estimator)
    return Pipeline([("preprocess", step), ("model", clone(model))])


def _check_finite_features(X, numeric=None):
    """Refuse numeric features that no preprocessing makes finite.

    Missing values (NaN) are fine: they are imputed, or handled natively.
    Infinite values are not, nor values so large that standardising them
    overflows float64 (their variance is not finite, so a scaled copy would
    be NaN or infinite). The check is one pass over the numeric columns.

    Parameters
    ----------
    X : pandas.DataFrame or array-like of shape (n_samples, n_features)
        The features. Arrays that are not numeric, and sparse matrices, are
        left to the contenders.

    numeric : list of column names, default=None
        The numeric columns of a DataFrame (default: all numeric-dtype
        columns).

    Raises
    ------
    ValueError
        Naming the columns (or column indices) and the problem, in one line.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_lt.compare.preprocessing import _check_finite_features
    >>> _check_finite_features(np.array([[1.0, np.nan], [2.0, 3.0]]))
    >>> _check_finite_features(np.array([[1e300, 1.0], [-1e300, 2.0]]))
    Traceback (most recent call last):
        ...
    ValueError: feature column(s) 0 have values too large to standardise (up to 1e+300 in absolute value; the variance overflows float64); rescale them
    """  # noqa: E501
    if isinstance(X, pd.DataFrame):
        if numeric is None:
            numeric = list(X.select_dtypes("number").columns)
        names = [str(name) for name in numeric]
        if not numeric:
            return
        values = X[numeric].to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        if not hasattr(X, "dtype") or not np.issubdtype(X.dtype, np.number):
            return  # sparse, object or lists: the contenders decide
        values = np.asarray(X, dtype=np.float64)
        if values.ndim != 2:
            return
        names = [str(i) for i in range(values.shape[1])]
    infinite = np.isinf(values).any(axis=0)
    if infinite.any():
        raise ValueError(
            f"feature column(s) {_names(names, infinite)} contain infinite "
            "values; replace them (e.g. by NaN, which is imputed) or drop them"
        )
    with np.errstate(over="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns
        variance = np.nanvar(values, axis=0)
        largest = np.nanmax(np.abs(values), axis=0)
    overflow = ~np.isfinite(variance) & np.isfinite(largest)
    if overflow.any():
        raise ValueError(
            f"feature column(s) {_names(names, overflow)} have values too large "
            f"to standardise (up to {np.max(largest[overflow]):.3g} in absolute "
            "value; the variance overflows float64); rescale them"
        )


def _names(names, mask):
    chosen = [name for name, bad in zip(names, mask) if bad]
    return ", ".join(chosen[:10]) + (", ..." if len(chosen) > 10 else "")
