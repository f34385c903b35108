"""One classifier of this package in the safe format, without pickle.

The members of one classifier (under a prefix, empty for a file holding
just the classifier):

* ``metadata.json``: the header, the class name, ``get_params()`` and the
  fitted attributes as plain JSON (no ``attributes`` for an unfitted
  classifier, such as the template inside a ``LogitAdjustedClassifier``);
* ``module.pt``: the PyTorch module's ``state_dict`` (tensors only), written
  by :func:`torch.save` and read by ``torch.load(weights_only=True)``;
* ``history.json``: the skorch training history.

Reading rebuilds only the classes in :data:`SAFE_ESTIMATORS`, validates every
parameter as ``fit`` does, checks the weights (dense, contiguous, finite,
owning their storage) and compares their shapes with the network the header
describes, built on PyTorch's ``meta`` device (which allocates nothing),
before the real network is built.
"""

import io
import json
import math
import re
import warnings
import zipfile
from numbers import Integral

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted
from skorch.exceptions import DeviceWarning
from skorch.history import History

from ..linear import LinearMarginClassifier
from ..mlp import MLPMarginClassifier
from ..net import _check_device
from ._bounded import BoundedArchive, ModelFileError
from ._format import check_header, make_header

SAFE_ESTIMATORS = {
    "LinearMarginClassifier": LinearMarginClassifier,
    "MLPMarginClassifier": MLPMarginClassifier,
}
"""The classes of this package stored in the safe format."""

METADATA, MODULE, HISTORY = "metadata.json", "module.pt", "history.json"
# Fitted attributes with a dedicated encoding; any other public fitted
# attribute (``loss_curve_``, ``best_validation_score_``, ...) is stored as
# a tagged JSON value. ``net_`` is stored as module.pt and history.json.
_KNOWN = {"classes_", "class_counts_", "n_features_in_", "feature_names_in_", "n_iter_"}
_ATTRIBUTE_NAME = re.compile(r"[a-z][a-z0-9_]*_\Z")
_LABEL_KINDS = "biufUO"
_MAX_COUNT = 2**53  # counts beyond this are not exact in float64
_MAX_PICKLE_BYTES = 2**20  # a state_dict's index; a real one is kilobytes


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
        raise ModelFileError(f"Parameter {name!r} has a malformed value {data!r:.80}.")
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
    except (TypeError, ValueError, RuntimeError, OverflowError) as exc:
        raise ModelFileError(
            f"Parameter {name!r} has a malformed {tag!r} value: {exc}"
        ) from exc
    raise ModelFileError(f"Parameter {name!r} has an unknown value tag {tag!r:.80}.")


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
            f"{getattr(types, '__name__', types)}, got {value!r:.80}."
        )
    return value


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


# --------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------
def check_storable(estimator):
    """Raise ``TypeError`` unless ``estimator``'s class is in SAFE_ESTIMATORS."""
    name = type(estimator).__name__
    if SAFE_ESTIMATORS.get(name) is not type(estimator):
        raise TypeError(
            f"The safe format stores {sorted(SAFE_ESTIMATORS)} in its own "
            f"format, not {type(estimator).__module__}.{name}; use pickle or "
            "joblib."
        )


def is_fitted(estimator):
    """Whether ``estimator`` (one of ours) is fitted."""
    try:
        check_is_fitted(estimator)
    except Exception:  # NotFittedError, or a broken state
        return False
    return True


def estimator_members(estimator, fitted=True):
    """The members (name -> bytes) storing one classifier of this package.

    Parameters
    ----------
    estimator : LinearMarginClassifier or MLPMarginClassifier
    fitted : bool, default=True
        False: store only the parameters (for an unfitted template).

    Returns
    -------
    members : dict of str to bytes
    """
    check_storable(estimator)
    name = type(estimator).__name__
    metadata = {
        **make_header(),
        "estimator": name,
        "params": {
            key: _encode(value, key)
            for key, value in estimator.get_params(deep=False).items()
        },
    }
    if not fitted:
        return {METADATA: json.dumps(metadata, indent=1).encode()}
    check_is_fitted(estimator)
    attributes = {
        "classes_": _encode_array(estimator.classes_, "classes_"),
        # Weighted counts (sample_weight) may be fractional: stored as floats.
        "class_counts_": [
            int(c) if c.is_integer() else c
            for c in np.asarray(estimator.class_counts_, dtype=np.float64).tolist()
        ],
        "n_features_in_": int(estimator.n_features_in_),
        "n_iter_": int(estimator.n_iter_),
    }
    if hasattr(estimator, "feature_names_in_"):
        attributes["feature_names_in_"] = [
            str(name) for name in estimator.feature_names_in_
        ]
    for key, value in vars(estimator).items():
        if _is_extra_attribute(key):
            try:
                attributes[key] = _encode(value, key)
            except TypeError as exc:
                raise TypeError(
                    f"{name} has a fitted attribute {key!r} of type "
                    f"{type(value).__name__}, which the safe format cannot store."
                ) from exc
    metadata["attributes"] = attributes
    state = {
        key: tensor.detach().cpu().contiguous()
        for key, tensor in estimator.net_.module_.state_dict().items()
    }
    weights = io.BytesIO()
    torch.save(state, weights)
    history = json.dumps(estimator.net_.history.to_list(), default=_json_default)
    return {
        METADATA: json.dumps(metadata, indent=1).encode(),
        MODULE: weights.getvalue(),
        HISTORY: history.encode(),
    }


def _is_extra_attribute(key):
    return (
        key.endswith("_")
        and not key.startswith("_")
        and key not in _KNOWN
        and key != "net_"
    )


# --------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------
def read_estimator(archive, prefix="", device=None):
    """Rebuild one classifier from the members under ``prefix``.

    Parameters
    ----------
    archive : BoundedArchive
    prefix : str
        ``""`` or ``"partN/"``.
    device : str, torch.device or None
        As for :func:`~sklearn_lt.persistence.load`.

    Returns
    -------
    estimator : LinearMarginClassifier or MLPMarginClassifier
    """
    metadata = archive.read_json(prefix + METADATA)
    check_header(metadata)
    name = metadata.get("estimator")
    cls = SAFE_ESTIMATORS.get(name) if isinstance(name, str) else None
    if cls is None:
        raise ModelFileError(
            f"The file holds estimator {name!r:.80}; only "
            f"{sorted(SAFE_ESTIMATORS)} can be loaded."
        )
    estimator = _rebuild_estimator(cls, metadata)
    _set_device(estimator, device)
    if "attributes" not in metadata:  # an unfitted template
        return estimator
    attributes = _expect(metadata["attributes"], dict, "attributes")
    _set_attributes(estimator, attributes)
    history = _expect(archive.read_json(prefix + HISTORY), list, "history")
    state = _load_weights(archive, prefix + MODULE)
    _check_state(state, _expected_state(estimator, len(state)), cls)
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
    net.history = History(history)
    estimator.net_ = net
    return estimator


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
    except (ValueError, TypeError) as exc:
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
                stacklevel=4,
            )
            estimator.set_params(device="cpu")
        return
    estimator.set_params(device=device)


def _set_attributes(estimator, attributes):
    classes = _decode_array(attributes.get("classes_"), "classes_")
    counts = _expect(attributes.get("class_counts_"), list, "class_counts_")
    if not all(
        isinstance(c, (int, float)) and not isinstance(c, bool) and math.isfinite(c)
        for c in counts
    ):
        raise ModelFileError(
            "class_counts_ must be a list of integers (or of finite floats, "
            "for counts weighted by sample_weight)."
        )
    if any(c < 0 or c > _MAX_COUNT for c in counts) or sum(counts) > _MAX_COUNT:
        raise ModelFileError(
            f"class_counts_ must be non-negative, with a sum of at most 2**53 "
            f"(got values up to {max(counts, default=0)})."
        )
    counts = np.asarray(counts, dtype=np.float64)
    # A class may have a count of 0 after partial_fit (declared in classes
    # but not seen yet); no examples at all is malformed.
    if classes.size < 2 or counts.shape != classes.shape or counts.sum() < 1:
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
    extra = set(attributes) - _KNOWN
    bad = sorted(
        key
        for key in extra
        if not _ATTRIBUTE_NAME.match(key) or key == "net_" or hasattr(estimator, key)
    )
    if bad:
        raise ModelFileError(f"The file has unknown attributes {bad!r:.200}.")
    estimator.classes_ = classes
    estimator.class_counts_ = counts
    estimator.n_features_in_ = n_features
    if "feature_names_in_" in attributes:
        names = _expect(attributes["feature_names_in_"], list, "feature_names_in_")
        if len(names) != n_features or not all(isinstance(n, str) for n in names):
            raise ModelFileError("feature_names_in_ must be n_features_in_ strings.")
        estimator.feature_names_in_ = np.asarray(names, dtype=object)
    estimator.n_iter_ = n_iter
    for key in sorted(extra):
        setattr(estimator, key, _decode(attributes[key], key))


def _expected_state(estimator, n_tensors):
    """Shapes and dtypes of the state_dict the header describes.

    The module is built on the ``meta`` device, which records shapes and
    allocates nothing, so an absurd ``n_features_in_`` costs nothing here.
    Each entry of a sequence argument (``hidden_layer_sizes``) adds a layer
    with its own tensors, so a longer sequence than the file has tensors is
    refused before a million layers are built.
    """
    try:
        module, kwargs = estimator._module_spec(
            estimator.n_features_in_, estimator.classes_.size
        )
        for key, value in kwargs.items():
            if isinstance(value, (list, tuple)) and len(value) > n_tensors:
                raise ModelFileError(
                    f"The header describes a network with {key} of length "
                    f"{len(value)}, but the weights hold {n_tensors} tensors."
                )
        with torch.device("meta"):
            state = module(**kwargs).state_dict()
    except ModelFileError:
        raise
    except (RuntimeError, ValueError, TypeError, OverflowError) as exc:
        raise ModelFileError(
            f"The header describes a network that cannot be built: {exc}"
        ) from exc
    return {key: (tuple(value.shape), value.dtype) for key, value in state.items()}


def _load_weights(archive, name):
    weights = archive.read(name)
    # torch.load copies every tensor out of the bytes: charge them again.
    archive.charge(len(weights), f"The weights in {name!r}")
    # module.pt is itself a zip (torch's format, members stored): bound it too.
    with BoundedArchive(
        io.BytesIO(weights),
        len(weights),
        name=f"The weights {name!r}",
        allowed_compression={zipfile.ZIP_STORED},
        not_zip=f"The weights {name!r} are not in torch.save's zip format, so "
        "they were refused without running them.",
    ) as inner:
        for info in inner.members.values():
            if info.compress_size != info.file_size:
                raise ModelFileError(
                    f"The weights {name!r} have a member {info.filename!r} whose "
                    "sizes disagree."
                )
            if info.filename.endswith(".pkl") and info.file_size > _MAX_PICKLE_BYTES:
                raise ModelFileError(
                    f"The weights {name!r} have an index of {info.file_size} "
                    f"bytes; a state_dict's index is under {_MAX_PICKLE_BYTES}."
                )
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
        if value.layout != torch.strided or value.is_quantized:
            raise ModelFileError(
                f"The weight {key!r} in the file is not a dense tensor "
                f"(layout {value.layout})."
            )
        if (
            not value.is_contiguous()
            or value.storage_offset() != 0
            or value.numel() * value.element_size() != value.untyped_storage().nbytes()
        ):
            raise ModelFileError(
                f"The weight {key!r} in the file (shape {tuple(value.shape)}, "
                f"stride {value.stride()}) is not a contiguous tensor owning "
                "its storage."
            )
        if value.is_floating_point() and not torch.isfinite(value).all():
            raise ModelFileError(f"The weight {key!r} in the file is not finite.")
    return state


def _check_state(state, expected, cls):
    problems = []
    for key in sorted(set(expected) | set(state)):
        if key not in state:
            problems.append(f"{key!r} missing")
        elif key not in expected:
            problems.append(f"unexpected {key!r}")
        elif (tuple(state[key].shape), state[key].dtype) != expected[key]:
            problems.append(
                f"{key!r} is {tuple(state[key].shape)} {state[key].dtype}, the "
                f"header says {expected[key][0]} {expected[key][1]}"
            )
    if problems:
        shown = "; ".join(problems[:4]) + ("; ..." if len(problems) > 4 else "")
        raise ModelFileError(
            f"The weights in the file do not fit the {cls.__name__} that its "
            f"parameters describe: {shown}."
        )
