"""Readers and writers for keypoint and box annotations.

Every reader returns a list of :class:`Sample` (one image, its boxes and points in pixels).
"""

from __future__ import annotations

from pathlib import Path

from ..errors import DataFormatError
from .sample import Sample
from .yolo_pose import read_yolo_pose, write_yolo_pose


def read_keypoints(path: str | Path) -> list[Sample]:
    """Read keypoint labels from a YOLO-pose folder (more formats register here)."""
    path = Path(path)
    if (path / "images").is_dir() and (path / "labels").is_dir():
        return read_yolo_pose(path, num_points=None)
    raise DataFormatError(f"{path}: no keypoint labels found (expected a YOLO-pose folder with images/ and labels/)")


__all__ = ["Sample", "read_keypoints", "read_yolo_pose", "write_yolo_pose"]
