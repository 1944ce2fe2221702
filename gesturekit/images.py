"""Frame validation shared by every component that takes an image."""

from __future__ import annotations

import numpy as np


def as_bgr_uint8(frame: object, name: str = "frame") -> np.ndarray:
    """Return ``frame`` as a contiguous H×W×3 uint8 BGR array, or raise ValueError.

    Accepts grayscale (H×W or H×W×1), BGR, BGRA, float images in 0..1 or 0..255, and uint16
    images in 0..65535 (or 0..255).
    """
    import cv2

    if frame is None:
        raise ValueError(f"{name}: got None instead of an image")
    if not isinstance(frame, np.ndarray):
        raise ValueError(f"{name}: expected a numpy array, got {type(frame).__name__}")
    if frame.ndim not in (2, 3):
        raise ValueError(f"{name}: expected an H×W or H×W×C image, got shape {frame.shape}")
    if frame.size == 0 or frame.shape[0] < 2 or frame.shape[1] < 2:
        raise ValueError(f"{name}: expected an image of at least 2×2 pixels, got shape {frame.shape}")
    if frame.dtype != np.uint8:
        if frame.dtype == bool or not (np.issubdtype(frame.dtype, np.floating) or np.issubdtype(frame.dtype, np.integer)):
            raise ValueError(f"{name}: unsupported dtype {frame.dtype}")
        with np.errstate(over="ignore"):  # float64 beyond float32's range becomes inf, handled below
            f = frame.astype(np.float32)
        # the range is read from the pixels that are numbers: one inf pixel made a 0..1 frame black
        top = float(np.max(f, where=np.isfinite(f), initial=0.0))
        f = np.nan_to_num(f, nan=0.0, posinf=255.0, neginf=0.0)
        if np.issubdtype(frame.dtype, np.floating) and top <= 1.0:
            f = f * 255.0
        elif np.issubdtype(frame.dtype, np.unsignedinteger) and top > 255.0:
            # a 16-bit image (PNG, machine-vision camera) spans its dtype's range: clipping saturated it
            f = f * (255.0 / np.iinfo(frame.dtype).max)
        frame = np.clip(f, 0, 255).astype(np.uint8)
    if frame.ndim == 2:
        frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
    elif frame.shape[2] == 1:
        frame = cv2.cvtColor(frame[:, :, 0], cv2.COLOR_GRAY2BGR)
    elif frame.shape[2] == 4:
        frame = cv2.cvtColor(frame, cv2.COLOR_BGRA2BGR)
    elif frame.shape[2] != 3:
        raise ValueError(f"{name}: expected 1, 3 or 4 channels, got {frame.shape[2]}")
    return np.ascontiguousarray(frame)
