"""Rotated square crops: the one warp shared by training, the regressor and the tracker;
and the axis-aligned boxes (``x1 y1 x2 y2`` pixels) the detector, its metrics, the tracker
and the training scenes compare.

A crop is ``(cx, cy, size, angle)`` in frame pixels; ``angle`` (radians) is the
hand's direction (wrist → middle-finger root) measured from "up", so warping
with it makes the hand stand upright.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

WRIST, MIDDLE_MCP = 0, 9


@dataclass(frozen=True)
class Crop:
    cx: float
    cy: float
    size: float
    angle: float = 0.0

    def matrix(self, out_size: int) -> np.ndarray:
        """2×3 affine mapping frame pixels to crop pixels (``out_size`` square)."""
        s = out_size / max(self.size, 1e-3)
        c, si = np.cos(-self.angle) * s, np.sin(-self.angle) * s
        # rotate by -angle about the centre, scale, move centre to crop centre
        m = np.array([[c, -si, 0.0], [si, c, 0.0]], np.float64)
        # (cx, cy) is continuous; OpenCV's warp works in pixel-centre coordinates.
        m[:, 2] = out_size / 2 - 0.5 - m[:, :2] @ (np.array([self.cx, self.cy]) - 0.5)
        return m

    def warp(self, image: np.ndarray, out_size: int) -> np.ndarray:
        return cv2.warpAffine(image, self.matrix(out_size), (out_size, out_size), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))

    def to_crop(self, pts: np.ndarray, out_size: int) -> np.ndarray:
        return apply_affine(self.matrix(out_size), pts)

    def to_frame(self, pts: np.ndarray, out_size: int) -> np.ndarray:
        return apply_affine(cv2.invertAffineTransform(self.matrix(out_size)), pts)

    def jittered(self, rng: np.random.Generator, shift: float = 0.1, scale: tuple[float, float] = (0.8, 1.25),
                 rotate_deg: float = 30.0) -> Crop:
        """A randomly moved, scaled and turned copy: imitates a detector's or tracker's box."""
        dx, dy = rng.uniform(-shift, shift, 2) * self.size
        return Crop(self.cx + dx, self.cy + dy, self.size * float(np.exp(rng.uniform(*np.log(scale)))),
                    self.angle + np.deg2rad(rng.uniform(-rotate_deg, rotate_deg)))

    def corners(self) -> np.ndarray:
        """(4, 2) corners in frame pixels, clockwise from the crop's top-left."""
        n = 64
        return self.to_frame(np.array([[0, 0], [n, 0], [n, n], [0, n]], np.float32), n)


def apply_affine(m: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Map points given in continuous coordinates (pixel i spans [i, i+1)).

    OpenCV's warps put pixel centres on integers, hence the half-pixel shifts:
    points then follow the warped pixels exactly.
    """
    pts = np.asarray(pts, np.float64) - 0.5
    return (pts @ m[:, :2].T + m[:, 2] + 0.5).astype(np.float32)


def flip_matrix(out_size: int) -> np.ndarray:
    """Horizontal mirror of an ``out_size`` square in OpenCV's pixel-centre convention."""
    return np.array([[-1.0, 0.0, out_size - 1.0], [0.0, 1.0, 0.0]])


def compose(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The 2×3 affine ``a ∘ b`` (b first)."""
    return (np.vstack([a, [0, 0, 1]]) @ np.vstack([b, [0, 0, 1]]))[:2]


def hand_angle(kp: np.ndarray) -> float:
    """Direction of wrist → middle-finger root, 0 when the hand points up, radians clockwise."""
    d = kp[MIDDLE_MCP] - kp[WRIST]
    return float(np.arctan2(d[0], -d[1]))


def crop_from_keypoints(kp: np.ndarray, scale: float, angle: float | None = None) -> Crop:
    """The upright square crop around ``kp`` with side = ``scale`` × the longer side of their box.

    ``angle`` None uses the hand angle (21-point layout); pass 0.0 for other layouts.
    """
    a = hand_angle(kp) if angle is None else angle
    ca, sa = np.cos(-a), np.sin(-a)
    r = kp @ np.array([[ca, -sa], [sa, ca]]).T  # points in the upright frame
    lo, hi = r.min(0), r.max(0)
    mid = (lo + hi) / 2
    centre = mid @ np.array([[ca, -sa], [sa, ca]])  # back to the frame (inverse rotation)
    return Crop(float(centre[0]), float(centre[1]), float((hi - lo).max() * scale), a)


def crop_from_box(box: np.ndarray, scale: float, angle: float = 0.0) -> Crop:
    """A square crop centred on ``box`` (x1 y1 x2 y2), side = ``scale`` × its longer side."""
    x1, y1, x2, y2 = [float(v) for v in box]
    return Crop((x1 + x2) / 2, (y1 + y2) / 2, max(x2 - x1, y2 - y1) * scale, angle)


def skeleton_distance(points: np.ndarray, kp: np.ndarray, edges) -> np.ndarray:
    """Distance from each of ``points`` (N, 2) to the nearest bone of the hand ``kp`` (K, 2),
    its bones being ``edges`` (point index pairs); inf where there are no finite bones."""
    e = np.asarray(edges, int).reshape(-1, 2)
    a, b = kp[e[:, 0]], kp[e[:, 1]]
    ok = np.isfinite(a).all(1) & np.isfinite(b).all(1)
    if not ok.any():
        return np.full(len(points), np.inf, np.float32)
    a, ab = a[ok], (b - a)[ok]
    p = points[:, None, :] - a[None]
    t = np.clip((p * ab[None]).sum(-1) / np.maximum((ab * ab).sum(-1), 1e-9)[None], 0.0, 1.0)
    return np.linalg.norm(p - t[..., None] * ab[None], axis=-1).min(1).astype(np.float32)


# ---------------------------------------------------------------- axis-aligned boxes

def box_of(kp: np.ndarray) -> np.ndarray:
    """The box around the finite points of ``kp`` (K, 2); zeros when there are none."""
    p = kp[np.isfinite(kp).all(1)]
    if len(p) == 0:
        return np.zeros(4, np.float32)
    return np.array([*p.min(0), *p.max(0)], np.float32)


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU matrix of (N, 4) and (M, 4) boxes."""
    a, b = np.asarray(a, np.float64).reshape(-1, 4), np.asarray(b, np.float64).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area_a, area_b = np.prod(a[:, 2:] - a[:, :2], axis=1), np.prod(b[:, 2:] - b[:, :2], axis=1)
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of two boxes."""
    return float(box_iou(a, b)[0, 0])


def covered(box: np.ndarray, region: np.ndarray) -> float:
    """Share of ``box``'s area inside ``region``."""
    iw = max(0.0, min(box[2], region[2]) - max(box[0], region[0]))
    ih = max(0.0, min(box[3], region[3]) - max(box[1], region[1]))
    return float(iw * ih / max((box[2] - box[0]) * (box[3] - box[1]), 1e-6))


def repeats(box: np.ndarray, others: list[np.ndarray], max_iou: float) -> bool:
    """``box`` is one of ``others`` again: IoU above ``max_iou``, or at least half of it inside
    one (a thumb or the knuckles of a hand, boxed on their own, overlap it little by IoU)."""
    return any(iou(box, b) > max_iou or covered(box, b) >= 0.5 for b in others)


def degenerate(box: np.ndarray, min_side: float = 2.0) -> bool:
    """A box under ``min_side`` px on a side: keypoints collapsed onto one spot, no hand."""
    return bool(min(box[2] - box[0], box[3] - box[1]) < min_side)
