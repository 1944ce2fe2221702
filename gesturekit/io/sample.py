"""The one in-memory record every annotation reader produces."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import DataFormatError


@dataclass
class Sample:
    """One image and its labelled objects, in pixels.

    ``keypoints`` is ``(N, K, 2)`` and ``visible`` ``(N, K)``; both are empty
    (K = 0) for box-only data. ``boxes`` is ``(N, 4)`` x1 y1 x2 y2. ``point_names``
    holds the K names where the file gives them (a COCO category's ``keypoints``), else None.
    """

    image: Path
    width: int
    height: int
    boxes: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.float32))
    keypoints: np.ndarray = field(default_factory=lambda: np.zeros((0, 0, 2), np.float32))
    visible: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), bool))
    labels: list[str] = field(default_factory=list)
    point_names: tuple[str, ...] | None = None


def finite_floats(path, line: int, cells, what: str = "") -> np.ndarray:
    """Numbers of one annotation line, or a DataFormatError naming ``path:line``."""
    where = f"{path}:{line}: " + (f"{what}: " if what else "")
    try:
        v = np.array([float(c) for c in cells], np.float64)
    except (TypeError, ValueError) as e:   # TypeError: a JSON null
        raise DataFormatError(f"{where}non-numeric value ({e})") from None
    if not np.isfinite(v).all():
        raise DataFormatError(f"{where}NaN or infinite value")
    return v


OUTSIDE_MARGIN = 1.0  # labelled points may lie this many image sides beyond the border (MediaPipe's do, a little)


def check_inside(where: str, kp: np.ndarray, vis: np.ndarray, width: float = 1.0, height: float = 1.0) -> None:
    """A DataFormatError naming ``where`` for a labelled point far outside the image: a typo, or
    coordinates in another unit or image size, which would teach a hand of the wrong size silently."""
    lo, hi = -OUTSIDE_MARGIN, 1.0 + OUTSIDE_MARGIN
    rel = np.asarray(kp, np.float64).reshape(-1, 2) / [width, height]
    bad = np.flatnonzero(np.asarray(vis, bool).reshape(-1) & ((rel < lo) | (rel > hi)).any(1))
    if len(bad):
        i = int(bad[0])
        x, y = np.asarray(kp, np.float64).reshape(-1, 2)[i]
        image = "0..1 (normalised)" if (width, height) == (1.0, 1.0) else f"the {width:g}×{height:g} image"
        raise DataFormatError(f"{where}: point {i} ({x:g}, {y:g}) lies far outside {image}; "
                              "a point that cannot be placed is left unlabelled")


def check_pixels(where: str, samples: list[Sample]) -> None:
    """A DataFormatError naming ``where`` when every labelled point of a pixel-coordinate file lies
    within 0..1 on images larger than that: normalised coordinates (YOLO-style), which would
    otherwise train a hand squeezed into the top-left pixel."""
    pts = [s.keypoints[s.visible] for s in samples if s.keypoints.size]
    pts = np.concatenate(pts) if pts else np.zeros((0, 2))
    if not len(pts) or np.abs(pts).max() > 1.0:
        return
    w, h = min(s.width for s in samples), min(s.height for s in samples)
    if min(w, h) >= 16:
        raise DataFormatError(f"{where}: every point lies within 0..1, but the images are {w}×{h} pixels or "
                              "more: coordinates look normalised; write them in pixels (x × width, y × height)")


def boxes_from_keypoints(kp: np.ndarray, vis: np.ndarray | None = None) -> np.ndarray:
    """Tight (N, 4) boxes around each object's (visible) points."""
    out = np.zeros((len(kp), 4), np.float32)
    for i, pts in enumerate(kp):
        p = pts if vis is None or not vis[i].any() else pts[vis[i]]
        out[i] = [p[:, 0].min(), p[:, 1].min(), p[:, 0].max(), p[:, 1].max()]
    return out


def seeded_subset(items: list, limit: int | None, seed: int = 0) -> list:
    """``limit`` items drawn with ``seed``, in their original order (all of them when ``limit`` is None)."""
    if not limit or limit >= len(items):
        return list(items)
    return [items[i] for i in sorted(np.random.default_rng(seed).permutation(len(items))[:limit])]
