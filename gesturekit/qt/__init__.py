"""PyQt6 helpers (the ``qt`` extra): a video widget and an event→signal bridge.

Importing this package imports PyQt6; without it the ImportError names
``pip install 'gesturekit[qt]'``.
"""

from __future__ import annotations

from .bridge import EventBridge, TrackerWorker
from .video_widget import VideoWidget, frame_to_qimage

__all__ = ["EventBridge", "TrackerWorker", "VideoWidget", "frame_to_qimage"]
