"""A scripted stand-in for HandTracker: synthetic frames, one moving hand, real events.

Used by the example-window tests so they run without the models: frames are a
gradient, the hand a fixed 21-point template moved along a path, its gesture
follows a script, and events come from the real Debouncer and EventBus.
"""

from __future__ import annotations

import numpy as np

from gesturekit.events import Debouncer, EventBus
from gesturekit.types import Hand, Hands

# An upright right hand, palm to the camera, pixels relative to the wrist.
TEMPLATE = np.array([
    (0, 0), (-30, -15), (-50, -35), (-62, -55), (-70, -72),
    (-22, -70), (-25, -100), (-27, -120), (-28, -138),
    (0, -72), (0, -106), (0, -128), (0, -146),
    (20, -68), (22, -98), (23, -118), (24, -134),
    (38, -60), (44, -84), (47, -100), (50, -114)], np.float32)


def gesture_at(i: int) -> str:
    return ("open_palm", "pinch", "pinch", "victory")[(i // 12) % 4]


class ScriptedTracker:
    """``stream(source)`` yields (frame, Hands) for ``n`` synthetic 640×480 frames."""

    def __init__(self, n: int = 60, size=(640, 480)):
        self.n, self.size = n, size
        self.events = EventBus()
        self._deb = Debouncer()
        self.recognizer = None

    def on(self, gesture=None, callback=None, **kw):
        return self.events.on(gesture, callback, **kw)

    def hands_at(self, i: int) -> Hands:
        w, h = self.size
        a = 2 * np.pi * i / 60
        wrist = np.array([w * (0.5 + 0.2 * np.cos(a)), h * (0.75 + 0.1 * np.sin(a))], np.float32)
        kp = TEMPLATE * 1.2 + wrist
        g = gesture_at(i)
        hand = Hand(keypoints=kp, confidence=np.full(21, 0.9, np.float32),
                    box=np.array([*kp.min(0) - 10, *kp.max(0) + 10], np.float32), score=0.95,
                    image_size=(w, h), handedness="right", track_id=0, gesture=g,
                    gesture_score=0.9)
        return Hands([hand], (w, h), timestamp_ms=i * 1000 / 30)

    def frame_at(self, i: int) -> np.ndarray:
        w, h = self.size
        x = np.linspace(40, 120, w, dtype=np.float32)
        y = np.linspace(0, 60, h, dtype=np.float32)[:, None]
        f = np.empty((h, w, 3), np.uint8)
        f[..., 0] = (x + y).astype(np.uint8)
        f[..., 1] = (x * 0.8 + y).astype(np.uint8)
        f[..., 2] = (x * 0.6).astype(np.uint8)
        return f

    def stream(self, source=None):
        for i in range(self.n):
            hands = self.hands_at(i)
            obs = [(hd.track_id, hd.handedness, hd.gesture, hd.gesture_score, hd.keypoints)
                   for hd in hands]
            self.events.publish(self._deb.update(hands.timestamp_ms, obs))
            yield self.frame_at(i), hands

    def close(self):
        self.events.close()
