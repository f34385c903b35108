"""Whole models: the scikit-learn structure through skops, ours in our format.

A ``Pipeline`` (with a ``ColumnTransformer`` inside), a
``LogitAdjustedClassifier``, a ``LogitAdjustedClassifierCV`` or an
ensemble such as ``VotingClassifier`` is stored as

* ``metadata.json``: the header, the model's class and the list of parts;
* ``sklearn.skops``: the model written by :func:`skops.io.dumps`, in which
  every classifier of this package is replaced by a :class:`SavedPart`
  naming a part;
* ``partN/metadata.json``, ``partN/module.pt``, ``partN/history.json``: each
  classifier of this package in the safe format (only ``metadata.json`` for
  an unfitted template, such as the ``estimator`` parameter of a fitted
  ``LogitAdjustedClassifier``).

Reading checks the skops payload with :func:`skops.io.get_untrusted_types`
before loading it: types outside skops' defaults and the rules of
:mod:`._trust` are refused by name unless the caller trusts them.
"""

import io
import json
import re
from math import prod

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import Bunch
from sklearn.utils.validation import check_is_fitted

from ._bounded import BoundedArchive, ModelFileError
from ._estimator import (
    METADATA,
    SAFE_ESTIMATORS,
    check_storable,
    estimator_members,
    is_fitted,
    read_estimator,
)
from ._format import make_header
from ._trust import check_loaded, untrusted_types

SKOPS_MEMBER = "sklearn.skops"
_OURS = tuple(SAFE_ESTIMATORS.values())
_PART_NAME = re.compile(r"part[0-9]{1,6}\Z")
_SKOPS_BYTES_PER_NODE = 4096


class SavedPart:
    """Stands in for a classifier of this package inside the skops payload.

    Parameters
    ----------
    name : str
        The part (``"part0"``, ...) whose members hold the classifier.
    """

    def __init__(self, name):
        self.name = name


# --------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------
def _walkable(obj):
    """An estimator, or a helper of a library (a scorer holding one)."""
    if isinstance(obj, type) or not isinstance(getattr(obj, "__dict__", None), dict):
        return False
    if isinstance(obj, BaseEstimator):
        return True
    return type(obj).__module__.split(".", 1)[0] in ("sklearn", "imblearn")


def _strip(obj, parts, memo):
    """A copy of ``obj`` with each of our classifiers replaced by a SavedPart.

    Walks the ``__dict__`` of estimators and of scikit-learn's and
    imbalanced-learn's helpers (a scorer holds the estimator it scores),
    lists, tuples and dicts; shares what
    contains none of ours; the same object gives the same replacement.
    """
    key = id(obj)
    if key in memo:
        return memo[key]
    result = obj
    if isinstance(obj, _OURS):
        check_storable(obj)  # a subclass has code of its own: refused
        result = SavedPart(f"part{len(parts)}")
        parts.append(obj)
    elif type(obj) in (dict, Bunch):
        # A Bunch: the named_estimators_ of VotingClassifier, StackingClassifier
        items = {name: _strip(value, parts, memo) for name, value in obj.items()}
        if any(items[name] is not obj[name] for name in obj):
            result = type(obj)()
            result.update(items)
    elif _walkable(obj):
        memo[key] = obj  # cycles resolve to the original
        state = vars(obj)
        new = {name: _strip(value, parts, memo) for name, value in state.items()}
        if any(new[name] is not state[name] for name in state):
            # A bare new instance: copy.copy would go through __getstate__,
            # which adds _sklearn_version to the state of non-sklearn classes.
            result = type(obj).__new__(type(obj))
            result.__dict__.update(new)
    elif type(obj) in (list, tuple):
        items = [_strip(item, parts, memo) for item in obj]
        if any(a is not b for a, b in zip(items, obj)):
            result = type(obj)(items)
    memo[key] = result
    return result


def composite_members(estimator, trusted=()):
    """The members (name -> bytes) storing a whole model.

    Parameters
    ----------
    estimator : scikit-learn estimator
        Fitted; its scikit-learn parts must be stored by skops with trusted
        types only.
    trusted : sequence of str
        Further type names the caller trusts.

    Returns
    -------
    members : dict of str to bytes
    """
    import skops
    import skops.io as sio

    check_is_fitted(estimator)
    parts = []
    skeleton = _strip(estimator, parts, {})
    try:
        payload = sio.dumps(skeleton)
        untrusted, _ = untrusted_types(payload, trusted)
    except Exception as exc:  # skops raises many types for what it cannot store
        raise TypeError(
            f"skops cannot store this {type(estimator).__name__} ({exc}); use "
            "pickle or joblib, with files from a source you trust."
        ) from exc
    if untrusted:
        raise TypeError(
            f"The {type(estimator).__name__} holds types that load would not "
            f"trust: {untrusted}. Pass trusted=[...] to save and load if you "
            "trust them (they are then constructed from the file), or use "
            "pickle or joblib."
        )
    members = {SKOPS_MEMBER: payload}
    for index, part in enumerate(parts):
        for name, data in estimator_members(part, fitted=is_fitted(part)).items():
            members[f"part{index}/{name}"] = data
    metadata = {
        **make_header(),
        "estimator": f"{type(estimator).__module__}.{type(estimator).__qualname__}",
        "skops_version": skops.__version__,
        "parts": [f"part{index}" for index in range(len(parts))],
    }
    return {METADATA: json.dumps(metadata, indent=1).encode(), **members}


# --------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------
def read_composite(archive, metadata, device=None, trusted=()):
    """Rebuild a whole model; ``metadata`` is the checked header.

    Parameters
    ----------
    archive : BoundedArchive
    metadata : dict
    device : str, torch.device or None
    trusted : sequence of str

    Returns
    -------
    estimator : object
    """
    part_names = metadata.get("parts")
    if not isinstance(part_names, list) or not all(
        isinstance(name, str) and _PART_NAME.match(name) for name in part_names
    ):
        raise ModelFileError(
            f"The header's parts should be a list of 'partN' names, got "
            f"{part_names!r:.80}."
        )
    if len(set(part_names)) != len(part_names):
        raise ModelFileError("The header names a part twice.")
    allowed = {METADATA, SKOPS_MEMBER} | {
        f"{part}/{member}"
        for part in part_names
        for member in ("metadata.json", "module.pt", "history.json")
    }
    unexpected = sorted(set(archive.members) - allowed)
    if unexpected:
        raise ModelFileError(
            f"The archive holds members {unexpected!r:.200} that a model file "
            "written by sklearn_lt.persistence.save does not have."
        )
    skeleton = _load_skops(archive, trusted)
    parts = {name: read_estimator(archive, f"{name}/", device) for name in part_names}
    unread = sorted(set(archive.members) - archive.read_names)
    if unread:
        raise ModelFileError(
            f"The archive holds members {unread!r:.200} that its parts do not use."
        )
    used = set()
    model = _restore(skeleton, parts, {}, used)
    if used != set(parts):
        raise ModelFileError(
            f"The model does not use the parts {sorted(set(parts) - used)} of the file."
        )
    return model


def _load_skops(archive, trusted):
    import skops.io as sio

    payload = archive.read(SKOPS_MEMBER)
    # skops decompresses its own members: bound them first.
    budget = archive.remaining
    with BoundedArchive(
        io.BytesIO(payload), budget, name="The scikit-learn part"
    ) as inner:
        for name in inner.members:
            if name == "schema.json":
                # skops builds a node object (about 1-2 KB) per JSON object.
                inner.read_json(name, per_container=_SKOPS_BYTES_PER_NODE)
            else:
                _check_arrays(inner.read(name), name, inner)
        archive.charge(budget - inner.remaining, "The scikit-learn part")
    try:
        untrusted, found = untrusted_types(payload, trusted)
    except Exception as exc:  # a malformed schema fails in many ways
        raise ModelFileError(
            f"The scikit-learn part of the file is malformed: {exc}"
        ) from exc
    if untrusted:
        raise ModelFileError(
            f"The scikit-learn part of the file names untrusted types "
            f"{untrusted!r:.300}; nothing was loaded. Pass them in "
            "load(..., trusted=[...]) only if you trust the file's source."
        )
    try:
        skeleton = sio.loads(payload, trusted=found)
    except Exception as exc:
        raise ModelFileError(
            f"The scikit-learn part of the file cannot be loaded: "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    check_loaded(skeleton)
    return skeleton


def _check_arrays(data, name, budget):
    """Refuse a .npy whose header declares more data than it holds.

    ``numpy.load`` allocates the declared shape before reading from a file
    object, so a 100-byte file could otherwise ask for terabytes.
    """
    if name.endswith(".npz"):
        with BoundedArchive(io.BytesIO(data), len(data), name=name) as inner:
            for member in inner.members:
                _check_arrays(inner.read(member), member, budget)
        return
    if not name.endswith(".npy"):
        raise ModelFileError(
            f"The scikit-learn part has an unexpected member {name!r}."
        )
    stream = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(stream)
        read_header = {
            (1, 0): np.lib.format.read_array_header_1_0,
            (2, 0): np.lib.format.read_array_header_2_0,
        }[version]
        shape, _, dtype = read_header(stream)
        size = prod(shape) * dtype.itemsize
    except (ValueError, KeyError, TypeError, OverflowError, EOFError) as exc:
        raise ModelFileError(
            f"The scikit-learn part's array {name!r} has an invalid header: {exc}"
        ) from exc
    if not dtype.hasobject and size > len(data) - stream.tell():
        raise ModelFileError(
            f"The scikit-learn part's array {name!r} declares shape {shape} "
            f"({size} bytes) but holds {len(data) - stream.tell()} bytes."
        )


def _restore(obj, parts, memo, used):
    """Replace each SavedPart in the loaded structure with its classifier."""
    key = id(obj)
    if key in memo:
        return memo[key]
    memo[key] = obj
    result = obj
    if type(obj) is SavedPart:
        name = vars(obj).get("name")
        if not isinstance(name, str) or name not in parts:
            raise ModelFileError(
                f"The scikit-learn part refers to a part {name!r:.80} that the "
                "file does not have."
            )
        result = parts[name]
        used.add(name)
    elif type(obj) in (dict, Bunch):
        for name, value in list(obj.items()):
            obj[name] = _restore(value, parts, memo, used)
    elif _walkable(obj):
        state = vars(obj)
        for name, value in list(state.items()):
            state[name] = _restore(value, parts, memo, used)
    elif type(obj) is list:
        obj[:] = [_restore(item, parts, memo, used) for item in obj]
    elif type(obj) is tuple:
        items = [_restore(item, parts, memo, used) for item in obj]
        if any(a is not b for a, b in zip(items, obj)):
            result = tuple(items)
    memo[key] = result
    return result
