"""Dynamic gestures from a fingertip trajectory: swipes and circles.

:class:`MotionRules` looks at the last ``window_ms`` of index-tip positions of one
track, in units of that hand's size (so it works at any distance from the camera):

* swipe_left / swipe_right / swipe_up / swipe_down: net travel >= ``swipe_min``
  hand sizes, mostly along one image axis, on a fairly straight path;
* circle_cw / circle_ccw: the tip turns >= ``circle_min_deg`` around the
  path's centroid at a radius >= ``circle_min_radius`` hand sizes. Directions are
  as seen in the image (y down): clockwise on screen is ``circle_cw``.

The trainable alternative is the point-history MLP (kinivi's 16 × (x, y) index-tip
history, classes ``still, circle_cw, circle_ccw, move``) in :mod:`.mlp`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DYNAMIC_GESTURES = ("swipe_left", "swipe_right", "swipe_up", "swipe_down", "circle_cw", "circle_ccw")
HISTORY_GESTURES = ("still", "circle_cw", "circle_ccw", "move")
# kinivi point_history_classifier_label.csv names → ours (checked on the data: the
# "Clockwise" rows turn with a positive angle in image coordinates, i.e. clockwise on screen)
KINIVI_HISTORY_NAMES = {"stop": "still", "clockwise": "circle_cw",
                        "counter_clockwise": "circle_ccw", "move": "move"}


@dataclass
class MotionRules:
    """Thresholds of the rule-based motion detector (validated)."""

    window_ms: float = 800.0
    swipe_min: float = 1.5          # net travel in hand sizes
    swipe_straightness: float = 0.85  # net travel / path length (an arc of a circle is not a swipe)
    swipe_axis_ratio: float = 2.0   # main-axis travel / cross-axis travel
    circle_min_deg: float = 300.0
    circle_min_radius: float = 0.3  # hand sizes
    min_points: int = 6

    def __post_init__(self) -> None:
        for name in ("window_ms", "swipe_min", "swipe_axis_ratio", "circle_min_deg", "circle_min_radius"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name}: {getattr(self, name)} must be > 0")
        if not 0 < self.swipe_straightness <= 1:
            raise ValueError(f"swipe_straightness: {self.swipe_straightness} must be in (0, 1]")
        if self.min_points < 3:
            raise ValueError(f"min_points: {self.min_points} must be >= 3")

    def detect(self, points: np.ndarray, size: float) -> tuple[str, float] | None:
        """(name, score) for a trajectory (T, 2) in pixels and a hand size in pixels."""
        pts = np.asarray(points, np.float64)
        if len(pts) < self.min_points or size <= 0:
            return None
        p = pts / size
        steps = np.linalg.norm(np.diff(p, axis=0), axis=1)
        path = steps.sum()
        if path <= 1e-9:
            return None
        net = p[-1] - p[0]
        dist = np.linalg.norm(net)
        # circle: unwrap the angle around the centroid
        c = p.mean(0)
        rel = p - c
        radius = np.median(np.linalg.norm(rel, axis=1))
        if radius >= self.circle_min_radius:
            turn = np.degrees(np.diff(np.unwrap(np.arctan2(rel[:, 1], rel[:, 0]))).sum())
            if abs(turn) >= self.circle_min_deg:
                score = min(1.0, abs(turn) / 360.0)
                return ("circle_cw" if turn > 0 else "circle_ccw"), score
        if dist >= self.swipe_min and dist / path >= self.swipe_straightness:
            ax, ay = abs(net[0]), abs(net[1])
            if ax >= self.swipe_axis_ratio * ay:
                name = "swipe_right" if net[0] > 0 else "swipe_left"
            elif ay >= self.swipe_axis_ratio * ax:
                name = "swipe_down" if net[1] > 0 else "swipe_up"
            else:
                return None
            score = min(1.0, 0.5 * dist / self.swipe_min + 0.5 * dist / path)
            return name, score
        return None
