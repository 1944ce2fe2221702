"""Exceptions with messages that name the file and the problem."""

from __future__ import annotations


class GestureKitError(Exception):
    """Base class for gesturekit errors."""


class ModelFileError(GestureKitError, ValueError):
    """A model file is missing, truncated or of the wrong kind."""


class DataFormatError(GestureKitError, ValueError):
    """A label or annotation file is malformed (the message names file and line)."""


class LayoutMismatchError(GestureKitError, ValueError):
    """Keypoints, a model or a dataset disagree on the keypoint layout."""


def missing_extra(extra: str, module: str) -> ImportError:
    """The ImportError raised when an optional extra is not installed."""
    return ImportError(
        f"{module} is needed for this feature; install it with: pip install 'gesturekit[{extra}]'"
    )
