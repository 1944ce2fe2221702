"""PyQt6 helpers (the ``qt`` extra): a video widget, an event→signal bridge and app plumbing.

The widgets and bridges import PyQt6 when first used (without it the ImportError names
``pip install 'gesturekit[qt]'``); :mod:`gesturekit.qt.app` works without it, so an app can
say "no display" or "bad source" before Qt loads.
"""

from __future__ import annotations

import importlib

_WHERE = {"EventBridge": "bridge", "TrackerWorker": "bridge", "VideoWidget": "video_widget",
          "frame_to_qimage": "video_widget"}


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = sorted(_WHERE)
