"""Annotators: draw hands on a frame (supervision-style small classes).

Each annotator has ``annotate(scene, hands) -> scene`` and draws in place on a
BGR uint8 image; :func:`annotate` runs the usual three::

    frame = draw.annotate(frame, hands)
    frame = draw.SkeletonAnnotator(thickness=1).annotate(frame, hands)
"""

from __future__ import annotations

from collections.abc import Iterable

import cv2
import numpy as np

from .images import as_bgr_uint8
from .layouts import HAND_21
from .types import Hand, Hands

_PALETTE = ((66, 135, 245), (245, 130, 48), (60, 180, 75), (230, 25, 75), (145, 30, 180), (70, 240, 240))
_SIDE_COLORS = {"left": (245, 130, 48), "right": (66, 135, 245)}


def _color(hand: Hand, i: int, by: str) -> tuple[int, int, int]:
    if by == "handedness" and hand.handedness in _SIDE_COLORS:
        return _SIDE_COLORS[hand.handedness]
    key = hand.track_id if by == "track" and hand.track_id is not None else i
    return _PALETTE[key % len(_PALETTE)]


def _hands(hands: Hands | Iterable[Hand] | Hand) -> list[Hand]:
    if isinstance(hands, Hand):
        return [hands]
    if hands is None or not hasattr(hands, "__iter__"):
        raise TypeError(f"hands: expected Hands or a list of Hand, got {type(hands).__name__}")
    return list(hands)


def _box_ok(h: Hand) -> bool:
    # a box that is not numbers (a hand read from a file with gaps) has nothing to draw
    return bool(np.isfinite(np.asarray(h.box, np.float64)).all())


def _check(scene: np.ndarray, in_place: bool = True) -> np.ndarray:
    if not isinstance(scene, np.ndarray) or scene.dtype != np.uint8 or scene.ndim != 3 or scene.shape[2] != 3:
        raise ValueError(f"scene: expected an H×W×3 uint8 BGR image, got "
                         f"{getattr(scene, 'shape', type(scene).__name__)} {getattr(scene, 'dtype', '')}")
    # cv2 draws only into writable arrays whose pixels are packed in each row: a view such as
    # frame[:, ::-1] (a numpy mirror) or frame[..., ::-1] otherwise fails with a cryptic cv2 error
    if in_place and not (scene.flags.writeable and scene.strides[1:] == (3, 1) and scene.strides[0] > 0):
        raise ValueError("scene: cannot draw in place on a read-only or reversed/strided view of an image "
                         "(e.g. frame[:, ::-1]); pass np.ascontiguousarray(frame), or use annotate(..., copy=True)")
    return scene


class SkeletonAnnotator:
    """Bones and joints; points with confidence below ``min_confidence`` are skipped."""

    def __init__(self, thickness: int = 2, radius: int = 3, color_by: str = "track", min_confidence: float = 0.0):
        self.thickness, self.radius, self.color_by, self.min_confidence = thickness, radius, color_by, min_confidence

    def annotate(self, scene: np.ndarray, hands: Hands | Iterable[Hand]) -> np.ndarray:
        _check(scene)
        for i, h in enumerate(_hands(hands)):
            col = _color(h, i, self.color_by)
            kp = h.keypoints
            ok = np.isfinite(kp).all(1) & (h.confidence >= self.min_confidence)
            layout = h.layout if h.layout is not None else HAND_21
            if layout.num_points != len(kp):  # its edges would index points the hand does not have
                raise ValueError(f"hands[{i}]: {len(kp)} keypoints, but its layout {layout.name!r} has "
                                 f"{layout.num_points} (build the Hand with layout=...)")
            for a, b in layout.edges:
                if ok[a] and ok[b]:
                    cv2.line(scene, _pt(kp[a]), _pt(kp[b]), col, self.thickness, cv2.LINE_AA)
            for j in np.flatnonzero(ok):
                cv2.circle(scene, _pt(kp[j]), self.radius, (255, 255, 255), -1, cv2.LINE_AA)
                cv2.circle(scene, _pt(kp[j]), self.radius, col, 1, cv2.LINE_AA)
        return scene


class BoxAnnotator:
    """The hand's box (from its keypoints)."""

    def __init__(self, thickness: int = 2, color_by: str = "track"):
        self.thickness, self.color_by = thickness, color_by

    def annotate(self, scene: np.ndarray, hands: Hands | Iterable[Hand]) -> np.ndarray:
        _check(scene)
        for i, h in enumerate(_hands(hands)):
            if not _box_ok(h):
                continue
            x1, y1, x2, y2 = h.box
            cv2.rectangle(scene, _pt((x1, y1)), _pt((x2, y2)), _color(h, i, self.color_by), self.thickness)
        return scene


class LabelAnnotator:
    """A text label above each box: ``#id side gesture`` (each part shown when known)."""

    def __init__(self, scale: float = 0.5, color_by: str = "track", show_scores: bool = False):
        self.scale, self.color_by, self.show_scores = scale, color_by, show_scores

    def text(self, h: Hand) -> str:
        parts = []
        if h.track_id is not None:
            parts.append(f"#{h.track_id}")
        if h.handedness:
            parts.append(h.handedness + (f" {h.handedness_score:.2f}" if self.show_scores else ""))
        if h.gesture and h.gesture != "none":
            parts.append(h.gesture + (f" {h.gesture_score:.2f}" if self.show_scores else ""))
        return " ".join(parts)

    def annotate(self, scene: np.ndarray, hands: Hands | Iterable[Hand]) -> np.ndarray:
        _check(scene)
        for i, h in enumerate(_hands(hands)):
            txt = self.text(h)
            if not txt or not _box_ok(h):
                continue
            (tw, th), base = cv2.getTextSize(txt, cv2.FONT_HERSHEY_SIMPLEX, self.scale, 1)
            x, y = _pt(h.box)
            x = max(0, min(x, scene.shape[1] - tw - 4))   # a hand half out of the frame keeps its label
            y -= 4
            y = max(y, th + base)
            cv2.rectangle(scene, (x, y - th - base), (x + tw + 4, y + 2), _color(h, i, self.color_by), -1)
            cv2.putText(scene, txt, (x + 2, y - base + 1), cv2.FONT_HERSHEY_SIMPLEX, self.scale, (255, 255, 255), 1,
                        cv2.LINE_AA)
        return scene


# cv2 takes C ints and clips what lies outside the image itself; a point further out than this is
# garbage (1e10 px) and is pulled in, where it would make cv2 fail on parsing
_FAR = float(2**30)


def _pt(p) -> tuple[int, int]:
    # cv2 wants integer pixel centres; keypoints are continuous (pixel i spans [i, i+1))
    x, y = np.clip(np.floor(np.asarray(p[:2], np.float64)), -_FAR, _FAR)
    return int(x), int(y)


_DEFAULT = (BoxAnnotator(thickness=1), SkeletonAnnotator(), LabelAnnotator())


def annotate(frame: np.ndarray, hands: Hands | Iterable[Hand], copy: bool = True) -> np.ndarray:
    """Box, skeleton and label for each hand; returns a BGR uint8 copy unless ``copy=False``.

    With ``copy=True`` any frame :meth:`HandTracker.process` takes (grey, BGRA, float, uint16) is
    drawn on its BGR uint8 version; ``copy=False`` draws into ``frame``, which must be BGR uint8.
    """
    if copy:
        bgr = as_bgr_uint8(frame)
        scene = bgr.copy() if np.may_share_memory(bgr, frame) else bgr   # never draw on the caller's pixels
    else:
        scene = _check(frame)
    for a in _DEFAULT:
        a.annotate(scene, hands)
    return scene


__all__ = ["BoxAnnotator", "LabelAnnotator", "SkeletonAnnotator", "annotate"]
