"""Readers and writers for keypoint and box annotations.

Every reader returns a list of :class:`Sample` (one image, its boxes and points in pixels).
"""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import DataFormatError
from .coco import coco_layout, is_coco, read_coco, write_coco
from .points_csv import is_points_json, read_points, sniff_points_csv, write_points_csv
from .sample import Sample, seeded_subset
from .yolo_pose import read_yolo_pose, write_yolo_pose

_LOOKED_FOR = ("a YOLO-pose folder (images/ and labels/), a COCO keypoint .json (or a folder, or its "
               "annotations/ subfolder, holding exactly one), or a points .csv/.json (or a folder holding "
               "exactly one)")


def read_keypoints(path: str | Path) -> list[Sample]:
    """Read keypoint labels in whichever supported format ``path`` holds.

    A YOLO-pose folder (``images/`` + ``labels/``); a COCO keypoint ``.json``;
    a points ``.csv``/``.json`` (see :mod:`gesturekit.io.points_csv`); or a
    folder holding exactly one COCO or points file.
    """
    path = Path(path)
    if not path.exists():
        raise DataFormatError(f"{path}: no such file or folder (expected {_LOOKED_FOR})")
    if path.is_dir() and (path / "images").is_dir() and (path / "labels").is_dir():
        return read_yolo_pose(path, num_points=None)
    if path.is_dir():
        found = []  # (kind, file, parsed JSON or None)
        for folder in (path, path / "annotations"):
            if not folder.is_dir():
                continue
            for f in sorted(folder.iterdir()):
                kind, d = _classify(f)
                if kind:
                    found.append((kind, f, d))
        if not found:
            raise DataFormatError(f"{path}: found nothing{_why_not(path)}; expected {_LOOKED_FOR}")
        if len(found) != 1:
            what = ", ".join(f"{f.name} ({k})" for k, f, _ in found)
            raise DataFormatError(f"{path}: found {what}; expected {_LOOKED_FOR}")
        kind, path, d = found[0]
    else:
        kind, d = _classify(path)
        if kind is None and path.suffix.lower() == ".csv":
            return read_points(path)  # its own error says what in it is not a points CSV
        if kind is None:
            raise DataFormatError(f"{path}: not a keypoint file I know; expected {_LOOKED_FOR}")
    if kind == "coco":
        from .coco import _read_coco_dict

        return _read_coco_dict(d, path, None)
    return read_points(path)


def _why_not(folder: Path) -> str:
    """Why the CSV files in ``folder`` are not points files (the first one's reading error), or ""."""
    from .points_csv import _read_csv

    for f in sorted(folder.iterdir()):
        if f.is_file() and f.suffix.lower() == ".csv":
            try:
                _read_csv(f)
            except DataFormatError as e:
                return f" ({e})"
    return ""


def _classify(f: Path) -> tuple[str | None, object]:
    """("coco" | "points" | None, parsed JSON) for one file."""
    if not f.is_file():
        return None, None
    ext = f.suffix.lower()
    if ext == ".csv":
        return ("points" if sniff_points_csv(f) else None), None
    if ext != ".json":
        return None, None
    try:
        d = json.loads(f.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DataFormatError(f"{f}: cannot read JSON ({e})") from e
    if is_coco(d):
        return "coco", d
    if is_points_json(d):
        return "points", d
    return None, None


__all__ = ["Sample", "coco_layout", "read_coco", "read_keypoints", "read_points", "read_yolo_pose", "seeded_subset",
           "write_coco", "write_points_csv", "write_yolo_pose"]
