"""Which types the skops part of a model file may name, and their checks.

skops refuses to construct any type outside its default list unless the
caller trusts it by name (:func:`skops.io.get_untrusted_types`). Beyond
skops' defaults, a model file of this package may name:

1. **Estimators and data-only helpers of scikit-learn, imbalanced-learn and
   this package**: a class defined in a module under ``sklearn.``,
   ``imblearn.`` or ``sklearn_lt.`` (under exactly the name the file gives),
   that derives from :class:`~sklearn.base.BaseEstimator`, a
   cross-validation splitter base or scikit-learn's scorer base, is not
   abstract, and is rebuilt by ``object.__new__`` and scikit-learn's
   ``__setstate__`` (or none): from plain data, and what it holds
   (functions, other objects) is checked by name in turn. A skorch net,
   whose ``__setstate__`` unpickles, is refused. Functions: only the
   public metric functions of ``sklearn.metrics``, ``imblearn.metrics`` and
   ``sklearn_lt.metrics`` (what a scorer calls). A name is
   resolved only among modules that are already imported, after importing
   the public packages of those libraries: nothing a file names is
   imported because the file names it. Our classifiers stored in our own
   format (:data:`~sklearn_lt.persistence.SAFE_ESTIMATORS`) are not
   accepted through skops.
2. **Types used as values** (:data:`TYPE_ONLY_TYPES`): abstract NumPy scalar
   types and built-in types such as ``numpy.number`` or ``object``, as in
   ``make_column_selector(dtype_include=np.number)``, where the file can
   only make them a value, never call or construct them.
3. **Types whose content is checked after loading**
   (:data:`VALIDATED_TYPES`): the tree predictors of
   ``HistGradientBoosting*`` models and the ``KDTree`` / ``BallTree`` of
   fitted neighbours (as in ``SMOTE``). skops leaves them out of its
   defaults because compiled code follows their node indices without bounds
   checks; :func:`check_loaded` checks every index against the arrays it
   points into before the model is returned.
4. The explicit names of :data:`TRUSTED_TYPES`.

Everything else, such as ``os.system``, ``builtins.eval`` or a class from
any other module, is refused by name unless the caller passes it in
``trusted=``.
"""

import functools
import importlib
import inspect
import io
import json
import sys
import zipfile
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator

from ._bounded import ModelFileError

_LIBRARIES = ("sklearn", "imblearn", "sklearn_lt")
_IMBLEARN_PACKAGES = (
    "imblearn.base",
    "imblearn.combine",
    "imblearn.ensemble",
    "imblearn.over_sampling",
    "imblearn.pipeline",
    "imblearn.under_sampling",
)

_TREE_PREDICTOR = "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"
_BINARY_TREES = (
    "sklearn.neighbors._kd_tree.KDTree",
    "sklearn.neighbors._ball_tree.BallTree",
)
# Metrics without parameters: their state holds no size that compiled code
# relies on (those with a matrix or weights, such as Mahalanobis, do).
_PLAIN_METRICS = tuple(
    f"sklearn.metrics._dist_metrics.{name}Distance{bits}"
    for name in ("Euclidean", "Manhattan", "Chebyshev")
    for bits in ("64", "32")
)

TRUSTED_TYPES = (
    "sklearn_lt.persistence._composite.SavedPart",
    "sklearn_lt.posthoc.LogitAdjustedClassifier",
    "sklearn_lt.posthoc.LogitAdjustedClassifierCV",
    "sklearn.compose._column_transformer.make_column_selector",
    "sklearn.metrics._scorer._PassthroughScorer",
    "sklearn.metrics._scorer._MultimetricScorer",
    # What CalibratedClassifierCV keeps per fold, and the metadata-routing
    # requests that TunedThresholdClassifierCV and others keep: plain data.
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.utils._metadata_requests.MetadataRequest",
    "sklearn.utils._metadata_requests.MethodMetadataRequest",
    "numpy.dtype",
    # VotingClassifier and StackingClassifier keep named_estimators_ as a
    # Bunch: a dict, rebuilt empty and filled item by item; check_loaded
    # refuses one found anywhere else.
    "sklearn.utils._bunch.Bunch",
    # HistGradientBoosting*'s own preprocessor validates numeric columns with
    # FunctionTransformer(partial(check_array, ...)); skops checks a
    # partial's function and arguments by name in turn.
    "functools.partial",
    "sklearn.utils.validation.check_array",
    *_PLAIN_METRICS,
)
"""Types trusted by name in the skops part, beyond skops' own defaults.

The placeholder of our classifiers, our post-hoc wrappers, scikit-learn's
column selector and the two scorers that do not derive from its scorer base
(they hold the estimator or the scorers they call), the per-fold
classifiers of ``CalibratedClassifierCV``, metadata-routing requests, NumPy
dtypes, scikit-learn's ``Bunch`` (a dict), the
numeric validation inside ``HistGradientBoosting*``'s categorical
preprocessor (``functools.partial`` of ``check_array``) and the distance
metrics without parameters:
plain data, whose construction runs no code from the file. The rules of
:mod:`sklearn_lt.persistence` trust further types (estimators of
scikit-learn, imbalanced-learn and this package, :data:`TYPE_ONLY_TYPES`,
:data:`VALIDATED_TYPES`)."""

_ABSTRACT_SCALARS = (
    np.generic,
    np.number,
    np.integer,
    np.signedinteger,
    np.unsignedinteger,
    np.inexact,
    np.floating,
    np.complexfloating,
    np.flexible,
    np.character,
)
TYPE_ONLY_TYPES = tuple(
    sorted(
        [f"numpy.{t.__name__}" for t in _ABSTRACT_SCALARS]
        + [f"builtins.{t.__name__}" for t in (object, bytes, complex)]
    )
)
"""Types trusted only where the file uses them as a value (a ``TypeNode``).

Abstract NumPy scalar types and built-in types, as dtype selectors take them
(``make_column_selector(dtype_include=np.number)``); the same name where
the file would construct an object is refused."""

VALIDATED_TYPES = (_TREE_PREDICTOR, *_BINARY_TREES)
"""Types trusted because :func:`check_loaded` checks their content."""


# --------------------------------------------------------------------------
# Which names are trusted
# --------------------------------------------------------------------------
def _safe_bases():
    from sklearn.metrics._scorer import _BaseScorer
    from sklearn.model_selection._split import BaseCrossValidator, BaseShuffleSplit

    return (BaseEstimator, BaseCrossValidator, BaseShuffleSplit, _BaseScorer)


def _import_libraries(names):
    """Import the public packages of the libraries these names come from."""
    roots = {name.split(".", 1)[0] for name in names}
    if "imblearn" in roots and importlib.util.find_spec("imblearn") is not None:
        for package in _IMBLEARN_PACKAGES:
            importlib.import_module(package)
    if "sklearn_lt" in roots:
        from .. import _LAZY

        for module in sorted(set(_LAZY.values())):
            importlib.import_module(f"sklearn_lt.{module}")


def is_library_class(name):
    """Whether ``name`` is an estimator or data-only helper class of a library.

    Parameters
    ----------
    name : str
        ``module.QualName`` as skops reports it.

    Returns
    -------
    trusted : bool
        True for a non-abstract class defined in an imported module under
        ``sklearn.``, ``imblearn.`` or ``sklearn_lt.`` under exactly this
        name, deriving from ``BaseEstimator``, a splitter base or the scorer
        base, and not one of our classifiers stored in our own format.
    """
    from ._estimator import SAFE_ESTIMATORS

    if name in _metric_functions():
        return True
    module_name, _, qualname = name.rpartition(".")
    if module_name.split(".", 1)[0] not in _LIBRARIES:
        return False
    module = sys.modules.get(module_name)  # never import what a file names
    cls = getattr(module, qualname, None) if module is not None else None
    return (
        isinstance(cls, type)
        and cls.__module__ == module_name
        and cls.__qualname__ == qualname
        and issubclass(cls, _safe_bases())
        and not inspect.isabstract(cls)
        and not issubclass(cls, tuple(SAFE_ESTIMATORS.values()))
        # Built as skops builds it: object.__new__, then scikit-learn's
        # __setstate__ (or none), which only sets attributes. A class with
        # its own (a skorch net unpickles its torch parts) is refused.
        and cls.__new__ is object.__new__
        and _defining_class(cls, "__setstate__") in (None, BaseEstimator)
    )


def _defining_class(cls, attribute):
    return next((base for base in cls.__mro__ if attribute in vars(base)), None)


@functools.cache
def _metric_functions():
    """The public metric functions of the libraries, by their defining name.

    What a scorer (``make_scorer``, ``scoring="balanced_accuracy"``) calls:
    the functions ``sklearn.metrics``, ``imblearn.metrics`` and
    ``sklearn_lt.metrics`` export. They compute numbers from arrays.
    """
    names = set()
    for package in ("sklearn.metrics", "imblearn.metrics", "sklearn_lt.metrics"):
        if importlib.util.find_spec(package.split(".", 1)[0]) is None:
            continue
        module = importlib.import_module(package)
        for export in getattr(module, "__all__", ()):
            function = getattr(module, export, None)
            if inspect.isfunction(function):
                names.add(f"{function.__module__}.{function.__qualname__}")
    return frozenset(names)


def _replace_type_nodes(node, names):
    """A copy of a skops schema with each TypeNode naming ``names`` made null."""
    if isinstance(node, list):
        return [_replace_type_nodes(item, names) for item in node]
    if not isinstance(node, dict):
        return node
    if (
        node.get("__loader__") == "TypeNode"
        and f"{node.get('__module__')}.{node.get('__class__')}" in names
    ):
        null = {"__class__": "str", "__module__": "builtins"}
        null.update({"__loader__": "JsonNode", "content": "null", "is_json": True})
        if "__id__" in node:
            null["__id__"] = node["__id__"]
        return null
    return {key: _replace_type_nodes(value, names) for key, value in node.items()}


def untrusted_types(payload, trusted=()):
    """The type names of a skops payload that load would not trust.

    Parameters
    ----------
    payload : bytes
        What :func:`skops.io.dumps` wrote.
    trusted : sequence of str
        Names the caller trusts.

    Returns
    -------
    untrusted : list of str
        Sorted; empty if the payload may be loaded.
    found : list of str
        Every name skops does not trust by default (to pass to
        :func:`skops.io.loads` once ``untrusted`` is empty).
    """
    import skops.io as sio

    found = set(sio.get_untrusted_types(data=payload))
    remaining = found - set(TRUSTED_TYPES) - set(trusted) - set(VALIDATED_TYPES)
    type_only = remaining & set(TYPE_ONLY_TYPES)
    if type_only:
        # Trusted as values only: take out the TypeNodes that name them and
        # ask skops again; a name left is used as something else.
        with zipfile.ZipFile(io.BytesIO(payload)) as archive:
            schema = json.loads(archive.read("schema.json"))
            members = {n: archive.read(n) for n in archive.namelist()}
        members["schema.json"] = json.dumps(
            _replace_type_nodes(schema, type_only)
        ).encode()
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for name, data in members.items():
                archive.writestr(name, data)
        still = set(sio.get_untrusted_types(data=buffer.getvalue()))
        remaining = (remaining - type_only) | (type_only & still)
    _import_libraries(remaining)
    untrusted = sorted(name for name in remaining if not is_library_class(name))
    return untrusted, sorted(found)


# --------------------------------------------------------------------------
# Checking the content of VALIDATED_TYPES after loading
# --------------------------------------------------------------------------
def _fail(what, reason):
    raise ModelFileError(f"The scikit-learn part of the file has {what} {reason}.")


def _check_bitsets(bitsets, what):
    if (
        not isinstance(bitsets, np.ndarray)
        or bitsets.dtype != np.uint32
        or bitsets.ndim != 2
        or bitsets.shape[1] != 8
    ):
        _fail(what, "that is not an (n, 8) array of uint32 bitsets")
    return bitsets.shape[0]


def _check_tree_predictor(predictor, n_features, is_categorical):
    from sklearn.ensemble._hist_gradient_boosting.common import (
        PREDICTOR_RECORD_DTYPE,
    )

    what = "a HistGradientBoosting tree"
    nodes = vars(predictor).get("nodes")
    if (
        not isinstance(nodes, np.ndarray)
        or nodes.dtype != PREDICTOR_RECORD_DTYPE
        or nodes.ndim != 1
        or nodes.size == 0
    ):
        _fail(what, "whose nodes are not a non-empty array of tree records")
    n_raw = _check_bitsets(vars(predictor).get("raw_left_cat_bitsets"), what)
    n_binned = _check_bitsets(vars(predictor).get("binned_left_cat_bitsets"), what)
    index = np.arange(nodes.size)
    split = nodes["is_leaf"] == 0
    # Children after their parent: every walk from the root ends at a leaf.
    for side in ("left", "right"):
        child = nodes[side].astype(np.int64)
        if np.any(split & ((child <= index) | (child >= nodes.size))):
            _fail(what, f"with a {side} child index outside the tree")
    feature = nodes["feature_idx"]
    if np.any(split & ((feature < 0) | (feature >= n_features))):
        _fail(what, f"that splits on a feature outside the {n_features} it has")
    categorical = split & (nodes["is_categorical"] != 0)
    if np.any(categorical):
        if is_categorical is None or not np.all(is_categorical[feature[categorical]]):
            _fail(what, "with a categorical split on a non-categorical feature")
        if np.any(nodes["bitset_idx"][categorical] >= min(n_raw, n_binned)):
            _fail(what, "whose category bitset index is out of range")


def _selected(columns, n_input, what):
    """How many of ``n_input`` columns a fitted ColumnTransformer entry takes."""
    columns = np.asarray(columns)
    if columns.dtype == bool and columns.shape == (n_input,):
        return int(columns.sum())
    if columns.size == 0:
        return 0
    if columns.ndim != 1 or columns.dtype.kind not in "iu":
        _fail(what, "whose preprocessor selects columns it does not describe")
    if np.any((columns < 0) | (columns >= n_input)):
        _fail(what, "whose preprocessor selects columns outside its input")
    return columns.size


def _preprocessor_width(preprocessor, what):
    """The number of columns the preprocessor of HistGradientBoosting* makes.

    scikit-learn builds it as a ColumnTransformer of an OrdinalEncoder (one
    column per input column) and a FunctionTransformer that validates the
    numeric columns (``partial(check_array, ...)``, same columns); anything
    else is refused, since the trees index its output without bounds checks.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import FunctionTransformer, OrdinalEncoder
    from sklearn.utils.validation import check_array

    state = vars(preprocessor) if type(preprocessor) is ColumnTransformer else {}
    n_input, entries = state.get("n_features_in_"), state.get("transformers_")
    if not isinstance(n_input, Integral) or not isinstance(entries, list):
        _fail(what, "with a preprocessor that is not the one it builds")
    width = 0
    for entry in entries:
        if not isinstance(entry, tuple) or len(entry) != 3:
            _fail(what, "with a preprocessor that is not the one it builds")
        _, transformer, columns = entry
        count = _selected(columns, n_input, what)
        if isinstance(transformer, str) and transformer == "drop":
            continue
        func = getattr(transformer, "func", None)
        if type(transformer) is OrdinalEncoder:
            if vars(transformer).get("n_features_in_") != count:
                _fail(what, "whose preprocessor's encoder does not fit its columns")
        elif type(transformer) is not FunctionTransformer or not (
            func is None or (getattr(func, "func", None) is check_array)
        ):
            _fail(what, "with a preprocessor that is not the one it builds")
        width += count
    return width


def _check_hist_gradient_boosting(model, checked):
    what = f"a {type(model).__name__}"
    state = vars(model)
    predictors = state.get("_predictors")
    if not predictors:  # not fitted: no trees to check
        return
    n_features = state.get("n_features_in_")
    if not isinstance(n_features, Integral) or n_features < 1:
        _fail(what, "without a valid n_features_in_")
    mapper = state.get("_bin_mapper")
    is_categorical = vars(mapper).get("is_categorical_") if mapper else None
    if is_categorical is not None and (
        not isinstance(is_categorical, np.ndarray)
        or is_categorical.shape != (n_features,)
    ):
        _fail(what, "whose bin mapper does not describe n_features_in_ features")
    if is_categorical is not None:
        is_categorical = is_categorical.astype(bool)
    preprocessor = state.get("_preprocessor")
    if preprocessor is not None:
        width = _preprocessor_width(preprocessor, what)
        if width != n_features:
            _fail(what, f"whose preprocessor gives {width} features, not {n_features}")
    if not isinstance(predictors, list) or not all(
        isinstance(row, list) for row in predictors
    ):
        _fail(what, "whose trees are not a list of lists")
    for row in predictors:
        for predictor in row:
            if type(predictor).__name__ != "TreePredictor":
                _fail(what, f"with a tree of type {type(predictor).__name__}")
            _check_tree_predictor(predictor, n_features, is_categorical)
            checked.add(id(predictor))


def _check_binary_tree(tree):
    what = f"a {type(tree).__name__}"
    try:
        state = tree.__getstate__()
        data, idx, node_data, node_bounds = (np.asarray(a) for a in state[:4])
        n_levels, n_nodes, metric, weight = state[5], state[6], state[11], state[12]
        n_samples, n_features = data.shape
        starts, ends = node_data["idx_start"], node_data["idx_end"]
        leaves = node_data["is_leaf"]
    except Exception as exc:  # a malformed state fails in many ways
        _fail(what, f"whose state cannot be read ({type(exc).__name__}: {exc})")
    name = f"{type(metric).__module__}.{type(metric).__qualname__}"
    if name not in _PLAIN_METRICS:
        _fail(what, f"with the distance metric {type(metric).__name__}")
    if not (0 < n_levels < 64 and n_nodes == 2**n_levels - 1 == node_data.size):
        _fail(what, "whose node count does not match its levels")
    # A KDTree keeps each node's lower and upper corner, a BallTree its centre.
    depth = 2 if type(tree).__name__ == "KDTree" else 1
    if node_bounds.shape != (depth, n_nodes, n_features):
        _fail(what, "whose node bounds do not match its nodes")
    if idx.shape != (n_samples,) or np.any((idx < 0) | (idx >= n_samples)):
        _fail(what, "with a sample index outside its data")
    if weight is not None and np.shape(weight) != (n_samples,):
        _fail(what, "whose sample weights do not match its data")
    if np.any((starts < 0) | (starts > ends) | (ends > n_samples)):
        _fail(what, "with a node range outside its data")
    inner = np.flatnonzero(leaves == 0)
    if np.any(2 * inner + 2 >= n_nodes):
        _fail(what, "with a split node whose children are outside the tree")


def _children(obj):
    if isinstance(obj, dict):
        return list(obj.values())
    if isinstance(obj, (list, tuple, set, frozenset)):
        return list(obj)
    if isinstance(obj, np.ndarray):
        return list(obj.ravel()) if obj.dtype.hasobject else []
    if isinstance(obj, type):
        return []
    state = getattr(obj, "__dict__", None)
    return list(state.values()) if isinstance(state, dict) else []


def check_loaded(model):
    """Check the content of every :data:`VALIDATED_TYPES` object in ``model``.

    Raises
    ------
    ModelFileError
        If a tree's indices point outside its arrays, a tree predictor is
        found outside the ``HistGradientBoosting*`` model that uses it, or a
        ``Bunch`` anywhere but as an ensemble's ``named_estimators_`` (its
        fitted members by name).
    """
    from sklearn.ensemble._hist_gradient_boosting.gradient_boosting import (
        BaseHistGradientBoosting,
    )
    from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor
    from sklearn.neighbors import BallTree, KDTree
    from sklearn.utils import Bunch

    seen, checked, predictors, stack = set(), set(), [], [model]
    bunches, named = [], set()
    while stack:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, BaseHistGradientBoosting):
            _check_hist_gradient_boosting(obj, checked)
        elif isinstance(obj, TreePredictor):
            predictors.append(obj)
        elif isinstance(obj, (KDTree, BallTree)):
            _check_binary_tree(obj)
        elif isinstance(obj, Bunch):
            bunches.append(obj)
        elif isinstance(obj, BaseEstimator) and "named_estimators_" in vars(obj):
            named.update(_named_estimators(obj))
        stack.extend(_children(obj))
    if any(id(predictor) not in checked for predictor in predictors):
        _fail("a tree predictor", "outside the HistGradientBoosting model it serves")
    if any(id(bunch) not in named for bunch in bunches):
        _fail(
            "a Bunch",
            "other than the named_estimators_ of a VotingClassifier or "
            "StackingClassifier",
        )


def _named_estimators(ensemble):
    """``{id(named_estimators_)}`` of a loaded ensemble if it is what the
    ensemble keeps there (its fitted members by name), else empty: a
    ``Bunch`` is trusted only in that place."""
    from sklearn.utils import Bunch

    bunch = vars(ensemble).get("named_estimators_")
    members = vars(ensemble).get("estimators_")
    if type(bunch) is not Bunch or not isinstance(members, list):
        return set()
    ids = {id(member) for member in members}
    if all(
        isinstance(name, str) and (id(value) in ids or value == "drop")
        for name, value in bunch.items()
    ):
        return {id(bunch)}
    return set()
