"""Video with no hand in view: what keeps showing at the same place is read less often.

With no hand followed, the tracker reads the detector's best boxes (and the whole frame) on every
frame, at several widths and turns; in a still scene those are the same face, lamp and shelf each
time, and that reading is most of an idle frame's cost. :class:`ClutterMemory` remembers where the
last detector run's candidates were: a candidate at the same place (IoU >= ``same_place``, score not
risen by more than ``score_rise``) on ``warmup`` runs in a row is then read only on every
``every``-th run while it stays. A hand that appears there is read within ``every`` - 1 frames; one
that appears anywhere else, or raises the box's score, is read at once.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .geometry import iou


class ClutterMemory:
    """``step(boxes, scores)`` once per detector run → which of them to leave unread this time."""

    def __init__(self, every: int = 3, warmup: int = 2, same_place: float = 0.7, score_rise: float = 0.1):
        if not (isinstance(every, int) and every >= 1 and isinstance(warmup, int) and warmup >= 1):
            raise ValueError(f"ClutterMemory: every and warmup must be ints >= 1, got {every!r}, {warmup!r}")
        self.every, self.warmup, self.same_place, self.score_rise = every, warmup, same_place, score_rise
        self.reset()

    def reset(self) -> None:
        """Forget every place (a hand was found or lost: its surroundings are news again)."""
        self._seen: list[tuple[np.ndarray, float, int]] = []   # (box, score, runs in a row there)

    def step(self, boxes: Sequence[np.ndarray], scores: Sequence[float]) -> list[bool]:
        """Record this run's candidates; True for each one to skip on this run."""
        seen, skip = [], []
        for b, s in zip(boxes, scores):
            runs = 1
            for pb, ps, pr in self._seen:
                if iou(b, pb) >= self.same_place and s <= ps + self.score_rise:
                    runs = max(runs, pr + 1)
            seen.append((np.asarray(b, np.float32), float(s), runs))
            skip.append(runs > self.warmup and (runs - self.warmup) % self.every != 0)
        self._seen = seen
        return skip
