"""Save and load fitted models without pickle.

``pickle`` and ``joblib`` work on every estimator of the package, but
loading a pickle runs whatever code the file names, so a pickle is only as
trustworthy as its source. :func:`save` writes a format that :func:`load`
reads back without executing anything from the file:

* a classifier of this package (:data:`SAFE_ESTIMATORS`) is a zip archive
  with ``metadata.json`` (a header with the format name and version, the
  class name, ``get_params()`` and the fitted attributes as plain JSON),
  ``module.pt`` (the network's ``state_dict``, read with
  ``torch.load(weights_only=True)``) and ``history.json`` (skorch's
  history);
* a whole model (a ``Pipeline`` or imbalanced-learn ``Pipeline``, a
  ``GridSearchCV``, ``CalibratedClassifierCV``, a ``LogitAdjustedClassifier``
  or ``LogitAdjustedClassifierCV`` around ours or around a scikit-learn
  classifier, ...) stores each classifier of ours as above and everything
  else with skops, the scikit-learn ecosystem's safe format. Beyond skops'
  defaults, the skops part may name only estimators, splitters, scorers and
  metric functions that scikit-learn, imbalanced-learn and this package
  define, dtypes used as values (:data:`TYPE_ONLY_TYPES`), trees whose
  indices :func:`load` checks (:data:`VALIDATED_TYPES`) and
  :data:`TRUSTED_TYPES`; anything else is refused by name unless trusted.

:func:`save` writes a path atomically (a temporary file in the same
directory, then :func:`os.replace`), with the permissions of any new file.

:func:`load` is bounded: it opens regular files only, caps the archive's
size, its members' sizes (declared and actual), the nesting and the
estimated parsed size of its JSON, checks the network's shape described by
the header against the weight file's tensors before building the network,
and accepts only dense, contiguous, finite tensors. Every problem with a
file is reported as a :class:`ModelFileError` with a one-line reason.

Weights are stored on the CPU; a model fitted on a GPU loads on a machine
without one. The optimiser state is not stored: a loaded model predicts,
transforms and scores like the saved one, and ``fit`` trains it afresh.
"""

import os
import zipfile
from numbers import Integral

from .._atomic import atomic_write
from ..net import _check_device
from ._bounded import (
    DEFAULT_MAX_BYTES,
    BoundedArchive,
    ModelFileError,
    open_regular_file,
)
from ._composite import SKOPS_MEMBER, composite_members, read_composite
from ._estimator import (
    HISTORY,
    METADATA,
    MODULE,
    SAFE_ESTIMATORS,
    estimator_members,
    read_estimator,
)
from ._format import check_header
from ._trust import TRUSTED_TYPES, TYPE_ONLY_TYPES, VALIDATED_TYPES

__all__ = [
    "DEFAULT_MAX_BYTES",
    "SAFE_ESTIMATORS",
    "TRUSTED_TYPES",
    "TYPE_ONLY_TYPES",
    "VALIDATED_TYPES",
    "ModelFileError",
    "load",
    "save",
]

_SINGLE = {METADATA, MODULE, HISTORY}


def save(estimator, file, *, trusted=None):
    """Save a fitted model in a format that loads without pickle.

    Parameters
    ----------
    estimator : estimator
        A fitted ``LinearMarginClassifier`` or ``MLPMarginClassifier``; or a
        fitted model built from scikit-learn, imbalanced-learn and this
        package, with classifiers of this package anywhere inside: a
        ``Pipeline`` or imbalanced-learn ``Pipeline``, a ``GridSearchCV``,
        a ``LogitAdjustedClassifier`` or ``LogitAdjustedClassifierCV``
        around ours or around a scikit-learn classifier, ...; its parts
        other than ours must be of types that :func:`load` trusts (see the
        module's description).
    file : str, path-like or binary file object
        Where to write. A path is written atomically: the archive goes to a
        temporary file in the same directory, which then replaces ``file``
        (:func:`os.replace`), so an existing file is either replaced whole
        or, if anything fails (an error, a full disk, an interrupt), left as
        it was. A new file gets the permissions of any file the user creates
        (``0o666`` less the umask). Nothing is written if the model cannot be
        stored.
    trusted : list of str, default=None
        Type names in the scikit-learn parts that you trust beyond skops'
        defaults and the package's rules; :func:`load` then needs the same
        list.

    Raises
    ------
    TypeError
        If the model holds something the format cannot store: a subclass of
        our classifiers, a parameter or label of an unsupported type, or a
        scikit-learn part of a type that :func:`load` would not trust.
    sklearn.exceptions.NotFittedError
        If the model is not fitted.

    See Also
    --------
    load : The inverse.

    Examples
    --------
    >>> import io
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn_lt import LinearMarginClassifier
    >>> from sklearn_lt.persistence import load, save
    >>> X, y = load_iris(return_X_y=True)
    >>> model = make_pipeline(StandardScaler(), LinearMarginClassifier(random_state=0))
    >>> model = model.fit(X, y)
    >>> buffer = io.BytesIO()  # or a path such as "model.sklt"
    >>> save(model, buffer)
    >>> _ = buffer.seek(0)
    >>> loaded = load(buffer)
    >>> bool((loaded.predict_proba(X) == model.predict_proba(X)).all())
    True
    """
    if type(estimator) in SAFE_ESTIMATORS.values():
        members = estimator_members(estimator)
    else:
        members = composite_members(estimator, trusted=list(trusted or ()))
    # Everything is serialised before the file is opened, so a model that
    # cannot be stored leaves an existing file untouched; a path is written
    # through a temporary file, so a failed write leaves it untouched too.
    if isinstance(file, (str, bytes, os.PathLike)):
        with atomic_write(file) as handle:
            _write_archive(handle, members)
    else:
        _write_archive(file, members)


def _write_archive(file, members):
    with zipfile.ZipFile(file, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def load(file, *, device=None, max_bytes=DEFAULT_MAX_BYTES, trusted=None):
    """Load a model written by :func:`save`, without unpickling code.

    Parameters
    ----------
    file : str, path-like or binary file object
        A file written by :func:`save`: a path to a regular file, an open
        regular file or an ``io.BytesIO``.
    device : str or torch.device, default=None
        Where to put the classifiers of this package. None: the ``device``
        each was saved with, or the CPU (with a
        :class:`skorch.exceptions.DeviceWarning`) if that device is not
        available here, as for a CUDA model on a CPU-only machine. Their
        ``device`` parameter is set accordingly.
    max_bytes : int, default=DEFAULT_MAX_BYTES
        The memory budget of the file's contents. The archive's size and its
        members' sizes are checked against it before anything is inflated;
        then each member read is charged: the weights twice (the file's
        bytes and the loaded tensors), JSON at a conservative estimate of
        its parsed size (16 bytes per character and 256 per object). The
        default, 256 MiB, holds about 30 million weights, or a skorch
        history of about 200,000 training batches (skorch records each
        batch), the two sharing the budget; raise it for a larger model from
        a source you trust.
    trusted : list of str, default=None
        Type names in the scikit-learn parts of a whole model that you trust
        beyond skops' defaults and the package's rules (see
        :func:`skops.io.get_untrusted_types`). Types in
        :data:`VALIDATED_TYPES` are checked even when trusted.

    Returns
    -------
    estimator : estimator
        The fitted model; ``net_.history`` of each classifier of ours is
        restored, the optimiser state is not.

    Raises
    ------
    ModelFileError
        For every problem with the file, with a one-line reason: not a
        regular file (a FIFO, a device), not a model file (a pickle, say),
        over a size limit, corrupt, an unknown format version, a class
        outside :data:`SAFE_ESTIMATORS`, an untrusted type in a scikit-learn
        part, unknown or invalid parameters or attributes, or weights that
        are not dense, finite or do not fit the model.
    FileNotFoundError, PermissionError
        If the path cannot be opened.
    ValueError
        If ``device`` is not usable here or ``max_bytes`` is not a
        non-negative integer.

    See Also
    --------
    save : The inverse; its example loads a model.
    """
    if device is not None:
        _check_device(device)
    if not isinstance(max_bytes, Integral) or max_bytes < 0:
        raise ValueError(
            f"max_bytes must be a non-negative integer, got {max_bytes!r}."
        )
    trusted = [str(name) for name in (trusted or ())]
    fileobj, owned = open_regular_file(file)
    try:
        with BoundedArchive(fileobj, int(max_bytes)) as archive:
            return _load(archive, device, trusted)
    except ModelFileError:
        raise
    except Warning:  # a DeviceWarning turned into an error by the caller
        raise
    except Exception as exc:  # MemoryError, RecursionError, a library's error
        reason = str(exc).strip().split("\n", 1)[0][:300]
        raise ModelFileError(
            f"The model file cannot be loaded ({type(exc).__name__}: {reason})."
        ) from exc
    finally:
        if owned:
            fileobj.close()


def _load(archive, device, trusted):
    names = set(archive.members)
    if SKOPS_MEMBER in names:
        metadata = archive.read_json(METADATA)
        check_header(metadata)
        return read_composite(archive, metadata, device, trusted)
    if names != _SINGLE:
        raise ModelFileError(
            f"The archive holds {sorted(names)!r:.200}, not the members "
            f"{sorted(_SINGLE)} of a model file written by "
            "sklearn_lt.persistence.save."
        )
    estimator = read_estimator(archive, "", device)
    if archive.read_names != names:
        raise ModelFileError("The header has no fitted attributes.")
    return estimator
