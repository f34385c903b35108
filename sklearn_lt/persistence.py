"""Save and load fitted classifiers without pickle.

``pickle`` and ``joblib`` work on every estimator of the package, but
loading a pickle runs whatever code the file names, so a pickle is only as
trustworthy as its source. :func:`save` writes a format that :func:`load`
reads back without executing anything from the file:

* a zip archive with exactly three members;
* ``metadata.json``: a header (``"format": "sklearn_lt.safe"``, a format
  version, the package and PyTorch versions) and the estimator's class name,
  its ``get_params()`` and its fitted attributes (``classes_``,
  ``class_counts_``, ``n_features_in_``, ``feature_names_in_``, ``n_iter_``)
  as plain JSON;
* ``module.pt``: the PyTorch module's ``state_dict`` (tensors only), written
  by :func:`torch.save` and read by ``torch.load(weights_only=True)``, which
  refuses anything but tensors and plain containers;
* ``history.json``: the skorch training history.

:func:`load` accepts only the classes of this package listed in
:data:`SAFE_ESTIMATORS`, validates every parameter as ``fit`` does, rebuilds
the network from those parameters, checks that the weights are finite and fit
it exactly, and raises :class:`ModelFileError` for anything else: a pickle or
other file, a wrong format or newer version, an unknown class or parameter,
a malformed value, or weights that do not match.

Weights are stored on the CPU; a model fitted on a GPU loads on a machine
without one. The optimiser state is not stored: a loaded model predicts,
transforms and scores like the saved one, and ``fit`` trains it afresh.
"""

import io
import json
import warnings
import zipfile
from numbers import Integral

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted
from skorch.exceptions import DeviceWarning
from skorch.history import History

from ._base import _check_device
from .linear import LinearMarginClassifier
from .mlp import MLPMarginClassifier

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "SAFE_ESTIMATORS",
    "ModelFileError",
    "load",
    "save",
]

FORMAT = "sklearn_lt.safe"
"""The ``format`` entry of the header of every file :func:`save` writes."""

FORMAT_VERSION = 1
"""Version of the file layout; :func:`load` refuses newer versions."""

SAFE_ESTIMATORS = {
    "LinearMarginClassifier": LinearMarginClassifier,
    "MLPMarginClassifier": MLPMarginClassifier,
}
"""The estimator classes :func:`save` writes and :func:`load` rebuilds."""

_METADATA, _MODULE, _HISTORY = "metadata.json", "module.pt", "history.json"
_MEMBERS = {_METADATA, _MODULE, _HISTORY}
_FITTED = {
    "classes_",
    "class_counts_",
    "n_features_in_",
    "feature_names_in_",
    "net_",
    "n_iter_",
}
_MAX_JSON_BYTES = 256 * 2**20
_LABEL_KINDS = "biufUO"


class ModelFileError(ValueError):
    """A file that :func:`load` refuses: not a valid, trusted model file."""


# --------------------------------------------------------------------------
# Values <-> JSON
# --------------------------------------------------------------------------
def _encode(value, name):
    """A parameter value as JSON data, with tags for non-JSON types."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, Integral):
        return int(value)
    if isinstance(value, float):
        return value
    if isinstance(value, tuple):
        return {"tuple": [_encode(item, name) for item in value]}
    if isinstance(value, list):
        return [_encode(item, name) for item in value]
    if isinstance(value, dict):
        return {
            "dict": [[_encode(k, name), _encode(v, name)] for k, v in value.items()]
        }
    if isinstance(value, torch.device):
        return {"device": str(value)}
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        return {"array": _encode_array(value, name)}
    if isinstance(value, np.random.RandomState):
        kind, keys, position, has_gauss, gauss = value.get_state()
        return {
            "random_state": [kind, keys.tolist(), position, has_gauss, gauss],
        }
    raise TypeError(
        f"Parameter {name!r} has a value of type {type(value).__name__}, "
        "which the safe format cannot store; use pickle or joblib for this "
        "model, from a source you trust."
    )


def _decode(data, name):
    """Inverse of :func:`_encode`; raises :class:`ModelFileError`."""
    if data is None or isinstance(data, (bool, int, float, str)):
        return data
    if isinstance(data, list):
        return [_decode(item, name) for item in data]
    if not isinstance(data, dict) or len(data) != 1:
        raise ModelFileError(f"Parameter {name!r} has a malformed value {data!r}.")
    ((tag, content),) = data.items()
    try:
        if tag == "tuple":
            return tuple(_decode(item, name) for item in content)
        if tag == "dict":
            return {_decode(k, name): _decode(v, name) for k, v in content}
        if tag == "device":
            return torch.device(_expect(content, str, name))
        if tag == "array":
            return _decode_array(content, name, kinds="biuf")
        if tag == "random_state":
            kind, keys, position, has_gauss, gauss = content
            state = np.random.RandomState()
            state.set_state(
                (kind, np.asarray(keys, dtype=np.uint32), position, has_gauss, gauss)
            )
            return state
    except ModelFileError:
        raise
    except (TypeError, ValueError, RuntimeError) as exc:
        raise ModelFileError(
            f"Parameter {name!r} has a malformed {tag!r} value: {exc}"
        ) from exc
    raise ModelFileError(f"Parameter {name!r} has an unknown value tag {tag!r}.")


def _encode_array(array, name):
    array = np.asarray(array)
    if array.ndim != 1 or array.dtype.kind not in _LABEL_KINDS:
        raise TypeError(
            f"{name} has dtype {array.dtype} and shape {array.shape}, which "
            "the safe format cannot store (1-d bool, int, float, str arrays "
            "only); use pickle or joblib for this model."
        )
    values = array.tolist()
    if array.dtype.kind == "O" and not all(
        isinstance(v, (str, bool, int, float)) for v in values
    ):
        raise TypeError(
            f"{name} holds objects other than str, bool, int and float, which "
            "the safe format cannot store; use pickle or joblib for this model."
        )
    return {"dtype": array.dtype.str, "values": values}


def _decode_array(data, name, kinds=_LABEL_KINDS):
    if not isinstance(data, dict) or set(data) != {"dtype", "values"}:
        raise ModelFileError(f"{name} is malformed in the model file.")
    try:
        dtype = np.dtype(_expect(data["dtype"], str, name))
    except TypeError as exc:
        raise ModelFileError(f"{name} has an invalid dtype: {exc}") from exc
    values = _expect(data["values"], list, name)
    if dtype.kind not in kinds:
        raise ModelFileError(f"{name} has a dtype ({dtype}) the format does not allow.")
    if not all(isinstance(v, (str, bool, int, float)) for v in values):
        raise ModelFileError(f"{name} holds values the format does not allow.")
    try:
        array = np.empty(len(values), dtype=dtype)
        array[:] = values
    except (TypeError, ValueError, OverflowError) as exc:
        raise ModelFileError(f"{name} does not fit its dtype {dtype}: {exc}") from exc
    if array.tolist() != values:  # truncated strings, wrapped integers
        raise ModelFileError(f"{name} does not fit its dtype {dtype}.")
    return array


def _expect(value, types, name):
    if not isinstance(value, types) or isinstance(value, bool) and types is not bool:
        raise ModelFileError(
            f"{name} in the model file should be of type "
            f"{getattr(types, '__name__', types)}, got {value!r}."
        )
    return value


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


# --------------------------------------------------------------------------
# save / load
# --------------------------------------------------------------------------
def save(estimator, file):
    """Save a fitted classifier in a format that loads without pickle.

    Parameters
    ----------
    estimator : LinearMarginClassifier or MLPMarginClassifier
        A fitted classifier of this package (not a subclass, a ``Pipeline``
        or a meta-estimator: those need pickle, joblib or skops).
    file : str, path-like or binary file object
        Where to write; an existing file is replaced.

    Raises
    ------
    TypeError
        If the estimator's class is not in :data:`SAFE_ESTIMATORS`, or a
        parameter or label has a type the format cannot store (for example
        a custom object as ``class_weight`` key).
    sklearn.exceptions.NotFittedError
        If the estimator is not fitted.

    See Also
    --------
    load : The inverse.

    Examples
    --------
    >>> import io
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn_lt import LinearMarginClassifier
    >>> from sklearn_lt.persistence import load, save
    >>> X, y = load_iris(return_X_y=True)
    >>> X = StandardScaler().fit_transform(X)
    >>> clf = LinearMarginClassifier(random_state=0).fit(X, y)
    >>> buffer = io.BytesIO()  # or a path such as "model.sklt"
    >>> save(clf, buffer)
    >>> _ = buffer.seek(0)
    >>> loaded = load(buffer)
    >>> bool((loaded.predict_proba(X) == clf.predict_proba(X)).all())
    True
    """
    name = type(estimator).__name__
    if SAFE_ESTIMATORS.get(name) is not type(estimator):
        raise TypeError(
            f"The safe format stores {sorted(SAFE_ESTIMATORS)}, not "
            f"{type(estimator).__module__}.{name}; use pickle or joblib."
        )
    check_is_fitted(estimator)
    unknown = {
        key
        for key in vars(estimator)
        if key.endswith("_") and not key.startswith("_") and key not in _FITTED
    }
    if unknown:
        raise TypeError(
            f"{name} has fitted attributes {sorted(unknown)} that the safe "
            "format does not know how to store."
        )
    from . import __version__

    attributes = {
        "classes_": _encode_array(estimator.classes_, "classes_"),
        "class_counts_": np.asarray(estimator.class_counts_).astype(int).tolist(),
        "n_features_in_": int(estimator.n_features_in_),
        "n_iter_": int(estimator.n_iter_),
    }
    if hasattr(estimator, "feature_names_in_"):
        attributes["feature_names_in_"] = [
            str(name) for name in estimator.feature_names_in_
        ]
    metadata = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "sklearn_lt_version": __version__,
        "torch_version": torch.__version__,
        "estimator": name,
        "params": {
            key: _encode(value, key)
            for key, value in estimator.get_params(deep=False).items()
        },
        "attributes": attributes,
    }
    state = {
        key: tensor.detach().cpu()
        for key, tensor in estimator.net_.module_.state_dict().items()
    }
    weights = io.BytesIO()
    torch.save(state, weights)
    history = json.dumps(estimator.net_.history.to_list(), default=_json_default)
    with zipfile.ZipFile(file, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(_METADATA, json.dumps(metadata, indent=1))
        archive.writestr(_MODULE, weights.getvalue())
        archive.writestr(_HISTORY, history)


def load(file, *, device=None):
    """Load a classifier written by :func:`save`, without unpickling code.

    Parameters
    ----------
    file : str, path-like or binary file object
        A file written by :func:`save`.
    device : str or torch.device, default=None
        Where to put the model. None: the ``device`` it was saved with, or
        the CPU (with a :class:`skorch.exceptions.DeviceWarning`) if that
        device is not available here, as for a CUDA model on a CPU-only
        machine. The estimator's ``device`` parameter is set accordingly.

    Returns
    -------
    estimator : LinearMarginClassifier or MLPMarginClassifier
        The fitted classifier; ``net_.history`` is restored, the optimiser
        state is not.

    Raises
    ------
    ModelFileError
        If the file is not a model file of this format (a pickle, say), has
        an unknown format version, names a class outside
        :data:`SAFE_ESTIMATORS`, has unknown or invalid parameters or
        attributes, or weights that are not finite or do not fit the model.

    See Also
    --------
    save : The inverse; its example loads a model.
    """
    metadata, weights, history = _read_archive(file)
    cls = SAFE_ESTIMATORS.get(metadata.get("estimator"))
    if cls is None:
        raise ModelFileError(
            f"The file holds estimator {metadata.get('estimator')!r}; only "
            f"{sorted(SAFE_ESTIMATORS)} can be loaded."
        )
    estimator = _rebuild_estimator(cls, metadata)
    _set_device(estimator, device)
    attributes = _expect(metadata.get("attributes"), dict, "attributes")
    _set_attributes(estimator, attributes)

    state = _load_weights(weights)
    counts = estimator.class_counts_
    with torch.random.fork_rng(devices=[]):
        net = estimator._build_net(int(counts.sum()), estimator.n_features_in_, 0)
        net.initialize()
    try:
        net.module_.load_state_dict(state, strict=True)
    except (RuntimeError, TypeError, ValueError) as exc:
        raise ModelFileError(
            f"The weights in the file do not fit the {cls.__name__} that its "
            f"parameters describe: {exc}"
        ) from exc
    net.history = History(_expect(history, list, "history"))
    estimator.net_ = net
    return estimator


def _read_archive(file):
    try:
        archive = zipfile.ZipFile(file, "r")
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise ModelFileError(
            "This is not a model file written by sklearn_lt.persistence.save "
            f"(not a zip archive: {exc}). If it is a pickle, load it with "
            "pickle or joblib only if you trust its source: unpickling runs "
            "code."
        ) from exc
    with archive:
        names = set(archive.namelist())
        if names != _MEMBERS:
            raise ModelFileError(
                f"The archive holds {sorted(names)}, not the members "
                f"{sorted(_MEMBERS)} of a model file written by "
                "sklearn_lt.persistence.save."
            )
        for info in archive.infolist():
            if info.filename != _MODULE and info.file_size > _MAX_JSON_BYTES:
                raise ModelFileError(f"{info.filename} is too large to be metadata.")
        try:
            metadata = json.loads(archive.read(_METADATA))
            history = json.loads(archive.read(_HISTORY))
        except (ValueError, UnicodeDecodeError) as exc:
            raise ModelFileError(f"The model file has invalid JSON: {exc}") from exc
        weights = archive.read(_MODULE)
    _expect(metadata, dict, "metadata")
    if metadata.get("format") != FORMAT:
        raise ModelFileError(
            f"The header names format {metadata.get('format')!r}, not {FORMAT!r}."
        )
    version = metadata.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ModelFileError(f"The header has an invalid format_version {version!r}.")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"The file has format version {version}, newer than the version "
            f"{FORMAT_VERSION} this sklearn_lt reads (it was written by "
            f"sklearn_lt {metadata.get('sklearn_lt_version')}); upgrade sklearn_lt."
        )
    return metadata, weights, history


def _rebuild_estimator(cls, metadata):
    params = _expect(metadata.get("params"), dict, "params")
    valid = set(cls().get_params(deep=False))
    unknown = sorted(set(params) - valid)
    if unknown:
        raise ModelFileError(
            f"The file has parameters {unknown} that {cls.__name__} does not "
            "have; it was modified, or written by another version."
        )
    estimator = cls(**{key: _decode(value, key) for key, value in params.items()})
    try:
        estimator._validate_params()
    except ValueError as exc:
        raise ModelFileError(f"The file has an invalid parameter: {exc}") from exc
    return estimator


def _set_device(estimator, device):
    if device is None:
        try:
            _check_device(estimator.device)
        except ValueError as exc:
            warnings.warn(
                f"{exc} Loading the model on device 'cpu' instead.",
                DeviceWarning,
                stacklevel=3,
            )
            estimator.set_params(device="cpu")
        return
    _check_device(device)
    estimator.set_params(device=device)


def _set_attributes(estimator, attributes):
    classes = _decode_array(attributes.get("classes_"), "classes_")
    counts = _expect(attributes.get("class_counts_"), list, "class_counts_")
    if not all(isinstance(c, int) and not isinstance(c, bool) for c in counts):
        raise ModelFileError("class_counts_ must be a list of integers.")
    counts = np.asarray(counts, dtype=np.int64)
    # A class may have a count of 0 after partial_fit (declared in classes
    # but not seen yet); negative counts or no examples at all are malformed.
    if (
        classes.size < 2
        or counts.shape != classes.shape
        or np.any(counts < 0)
        or counts.sum() < 1
    ):
        raise ModelFileError(
            "classes_ and class_counts_ must describe at least 2 classes with "
            "non-negative counts, not all zero."
        )
    if np.unique(classes).size != classes.size:
        raise ModelFileError("classes_ has repeated labels.")
    n_features = _expect(attributes.get("n_features_in_"), int, "n_features_in_")
    n_iter = _expect(attributes.get("n_iter_"), int, "n_iter_")
    if n_features < 1 or n_iter < 0:
        raise ModelFileError("n_features_in_ must be >= 1 and n_iter_ >= 0.")
    unknown = set(attributes) - (_FITTED - {"net_"})
    if unknown:
        raise ModelFileError(f"The file has unknown attributes {sorted(unknown)}.")
    estimator.classes_ = classes
    estimator.class_counts_ = counts
    estimator.n_features_in_ = n_features
    if "feature_names_in_" in attributes:
        names = _expect(attributes["feature_names_in_"], list, "feature_names_in_")
        if len(names) != n_features or not all(isinstance(n, str) for n in names):
            raise ModelFileError("feature_names_in_ must be n_features_in_ strings.")
        estimator.feature_names_in_ = np.asarray(names, dtype=object)
    estimator.n_iter_ = n_iter


def _load_weights(weights):
    try:
        state = torch.load(io.BytesIO(weights), map_location="cpu", weights_only=True)
    except Exception as exc:  # the restricted unpickler raises several types
        raise ModelFileError(
            "The weights in the file are not a plain tensor state_dict, so "
            f"they were refused without running them: {exc}"
        ) from exc
    if not isinstance(state, dict) or not all(
        isinstance(key, str) and isinstance(value, torch.Tensor)
        for key, value in state.items()
    ):
        raise ModelFileError("The weights in the file are not a state_dict of tensors.")
    for key, value in state.items():
        if value.is_floating_point() and not torch.isfinite(value).all():
            raise ModelFileError(f"The weight {key!r} in the file is not finite.")
    return state
