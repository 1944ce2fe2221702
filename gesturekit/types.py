"""Typed results: one hand and all hands of a frame.

Pixels are the storage; normalised coordinates are derived properties.
Keypoints are float32 ``(K, 2)`` per hand and ``(N, K, 2)`` for a frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from .layouts import HAND_21, KeypointLayout


def rounded(a: np.ndarray, digits: int) -> list:
    """``a`` as nested lists rounded for JSON (in float64: float32 values rounded to 2 decimals
    print as 83.05999755859375)."""
    return np.round(np.asarray(a, np.float64), digits).tolist()


@dataclass
class Hand:
    """One hand in one frame, all coordinates in pixels of that frame."""

    keypoints: np.ndarray                 # (K, 2) float32, x y in pixels
    confidence: np.ndarray                # (K,) float32 in [0, 1]
    box: np.ndarray                       # (4,) x1 y1 x2 y2 pixels
    # how sure it is a hand: P(hand) from the presence gate on the frame it is found (every photo),
    # then, while followed, the mean keypoint confidence that keeps it (min_tracking_confidence)
    score: float
    image_size: tuple[int, int]           # (width, height)
    handedness: str | None = None         # "left" | "right" | None
    handedness_score: float = 0.0
    track_id: int | None = None
    gesture: str | None = None
    gesture_score: float = 0.0
    motion: str | None = None             # video: a swipe or circle completed on this frame
    motion_score: float = 0.0
    layout: KeypointLayout = field(default=HAND_21, repr=False)

    @property
    def keypoints_normalized(self) -> np.ndarray:
        """Keypoints divided by the frame width and height (0..1 inside the frame)."""
        w, h = self.image_size
        return self.keypoints / np.array([w, h], np.float32)

    def to_dict(self) -> dict:
        return {
            "keypoints": rounded(self.keypoints, 2),
            "confidence": rounded(self.confidence, 3),
            "score": round(float(self.score), 4),
            "handedness": self.handedness,
            "handedness_score": round(float(self.handedness_score), 3),
            "bbox": rounded(self.box, 2),
            "track_id": self.track_id,
            "gesture": self.gesture,
            "gesture_score": round(float(self.gesture_score), 3),
            "motion": self.motion,
            "motion_score": round(float(self.motion_score), 3),
        }


@dataclass
class Hands:
    """All hands of one frame; converts to plain numpy arrays."""

    hands: list[Hand]
    image_size: tuple[int, int]
    timestamp_ms: float | None = None
    num_points: int = HAND_21.num_points  # the layout's, so a frame with no hand has the same shapes

    def __len__(self) -> int:
        return len(self.hands)

    def __iter__(self):
        return iter(self.hands)

    def __getitem__(self, i: int) -> Hand:
        return self.hands[i]

    @property
    def xy(self) -> np.ndarray:
        """(N, K, 2) keypoints in pixels."""
        return (np.stack([h.keypoints for h in self.hands]) if self.hands
                else np.zeros((0, self.num_points, 2), np.float32))

    @property
    def xy_normalized(self) -> np.ndarray:
        w, h = self.image_size
        return self.xy / np.array([w, h], np.float32)

    @property
    def confidence(self) -> np.ndarray:
        k = self.xy.shape[1]
        return np.stack([h.confidence for h in self.hands]) if self.hands else np.zeros((0, k), np.float32)

    @property
    def boxes(self) -> np.ndarray:
        return np.stack([h.box for h in self.hands]).astype(np.float32) if self.hands else np.zeros((0, 4), np.float32)

    @property
    def scores(self) -> np.ndarray:
        return np.array([h.score for h in self.hands], np.float32)

    @property
    def track_ids(self) -> list[int | None]:
        return [h.track_id for h in self.hands]

    def mirrored(self) -> Hands:
        """The same hands in the horizontally flipped frame (``cv2.flip(frame, 1)``), as a selfie
        view shows them; handedness stays that of the real hand."""
        w = self.image_size[0]
        out = []
        for h in self.hands:
            kp = h.keypoints.copy()
            kp[:, 0] = w - kp[:, 0]
            x1, y1, x2, y2 = h.box
            out.append(replace(h, keypoints=kp, box=np.array([w - x2, y1, w - x1, y2], np.float32)))
        return Hands(out, self.image_size, self.timestamp_ms, self.num_points)

    def to_numpy(self) -> dict[str, np.ndarray]:
        return {"xy": self.xy, "confidence": self.confidence, "boxes": self.boxes,
                "scores": self.scores}

    def to_dict(self) -> dict:
        return {"timestamp_ms": self.timestamp_ms, "hands": [h.to_dict() for h in self.hands]}
