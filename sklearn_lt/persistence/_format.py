"""The header every metadata member of a model file starts with."""

from ._bounded import ModelFileError

FORMAT = "sklearn_lt.safe"
"""The ``format`` entry of the header of every file ``save`` writes."""

FORMAT_VERSION = 2
"""Version of the file layout; ``load`` reads versions 1 to this one.

Version 1: one classifier of this package. Version 2 adds fitted attributes
beyond the five of version 1 (e.g. ``loss_curve_``) and whole models (a
``Pipeline``, ``LogitAdjustedClassifier``) whose scikit-learn parts are
stored with skops."""


def make_header():
    """The header entries of a metadata member written now."""
    import torch

    from .. import __version__

    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "sklearn_lt_version": __version__,
        "torch_version": torch.__version__,
    }


def check_header(metadata, what="The model file"):
    """Raise :class:`ModelFileError` unless ``metadata`` has a header we read."""
    if not isinstance(metadata, dict):
        raise ModelFileError(f"{what}'s metadata is not a JSON object.")
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
            f"sklearn_lt {str(metadata.get('sklearn_lt_version'))[:40]}); "
            "upgrade sklearn_lt."
        )
    return version
