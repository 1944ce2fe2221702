"""gesturekit: turn a camera into an input device.

    import gesturekit as gk
    with gk.HandTracker(gk.TrackerOptions(max_hands=2)) as tracker:
        for frame, hands in tracker.stream(0):
            ...

Names are imported on first use, so ``import gesturekit`` stays light (no torch,
no onnxruntime until a model is loaded).
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS = {
    "Hand": "types", "Hands": "types",
    "KeypointLayout": "layouts", "HAND_21": "layouts", "HAND_12": "layouts", "get_layout": "layouts",
    "Crop": "geometry",
    "HandTracker": "tracker", "TrackerOptions": "tracker",
    "LandmarkRegressor": "landmarks", "CROP_SCALE": "landmarks",
    "OneEuroFilter": "filters", "make_filter": "filters",
    "open_source": "sources", "LatestFrameReader": "sources", "SourceError": "sources",
    "HandednessClassifier": "handedness",
    "annotate": "draw",
    "Runner": "runtime",
    "HandDetector": "detector", "DetectorOptions": "detector", "Detections": "detector",
    "EventBus": "events", "GestureEvent": "events", "Debouncer": "events",
    "GestureRecognizer": "gestures", "GestureResult": "gestures",
    "GestureOptions": "gestures", "DynamicGestureRecognizer": "gestures", "DebounceOptions": "events",
    "DesktopController": "control", "ControlConfig": "control",
    "GestureKitError": "errors", "ModelFileError": "errors", "DataFormatError": "errors",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str):
    mod = _EXPORTS.get(name)
    if mod is None:
        raise AttributeError(f"module 'gesturekit' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{mod}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
