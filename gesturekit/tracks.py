"""The hands a tracker follows: their tracks, the ones lost a moment ago, and their ids.

What makes two readings one hand, and when a hand found again keeps its id, lives here;
how the readings are made lives in :mod:`gesturekit.tracker`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .geometry import box_of, iou, repeats, skeleton_distance

# A track whose points all but lie on another hand's bones (nine in ten within this share of
# that hand's size) is a part of it read as a hand: ali's thumbs-up, followed down to its thumb
# while the detector found the whole hand, gave a thin second hand in 29 % of its frames. The
# closest two real hands came on the clips is 0.45 (2hand, volctl); the thumb track 0.06–0.15.
ALONG_BONES = 0.2


@dataclass
class Track:
    id: int
    kp: np.ndarray            # raw keypoints of the last frame (the next crop comes from these)
    conf: np.ndarray
    score: float              # reported as Hand.score: presence when found, then mean keypoint confidence
    filt: object
    born_ms: float
    smoothed: np.ndarray | None = None
    last_ms: float = 0.0
    unsure_ms: float | None = None    # since when it is read below min_tracking_confidence (coasting)
    best: float = 0.0         # highest mean keypoint confidence read so far
    gesture: tuple[str | None, float] = (None, 0.0)   # from the last sure reading
    extra: dict = field(default_factory=dict)


class TrackBook:
    """The followed ``tracks`` and the ``lost`` ones (with when they were lost).

    ``new_filter()`` makes a new track's smoothing filter; ``forget(track_id)`` is called for every
    track that ends (the handedness voter's record of it); ``edges`` are the layout's bones."""

    def __init__(self, max_hands: int, overlap_iou: float, lost_id_ttl_ms: float, edges,
                 new_filter: Callable[[], object], forget: Callable[[int], None]):
        self.max_hands, self.overlap_iou, self.lost_id_ttl_ms = max_hands, overlap_iou, lost_id_ttl_ms
        self.edges, self._new_filter, self._forget = tuple(edges), new_filter, forget
        self.tracks: list[Track] = []
        self.lost: list[tuple[Track, float]] = []
        self._next_id = 0

    def adopt(self, kp: np.ndarray, conf: np.ndarray, score: float, ts: float) -> None:
        """A new hand read this frame: it replaces the coasting track it overlaps (keeping that id
        and filter), else starts a track, dropping the least sure coasting one if none is free."""
        kb = box_of(kp)
        weak = sorted((t for t in self.tracks if t.unsure_ms is not None), key=lambda t: t.unsure_ms)
        same = [t for t in weak
                if repeats(box_of(t.kp), [kb], self.overlap_iou) or repeats(kb, [box_of(t.kp)], self.overlap_iou)]
        if same:
            t = same[0]
            t.kp, t.conf, t.score, t.last_ms, t.unsure_ms = kp, conf, float(conf.mean()), ts, None
            t.best = max(t.best, t.score)
            return
        if len(self.tracks) >= self.max_hands:
            if not weak:
                return
            self.tracks.remove(weak[0])
            self.lose(weak[0], ts)
        # a hand found again where one was lost a moment ago is that hand: its id, and its record
        lost = self.found_again(kp, ts)
        if lost is None:
            track_id, best = self._next_id, 0.0
            self._next_id += 1
        else:
            track_id, best = lost.id, lost.best
        self.tracks.append(Track(track_id, kp, conf, score, self._new_filter(), born_ms=ts, last_ms=ts,
                                 best=max(float(conf.mean()), best)))

    def dedupe(self) -> None:
        """Two tracks on one hand (after hands crossed, or a detection of a followed hand): keep
        the older one. Same hand = keypoints within 15% of the hand size on average; overlapping
        boxes alone are not enough (two hands can overlap). A track lying along another's bones
        (:data:`ALONG_BONES`) is a part of that hand, whichever is older."""
        tracks = sorted(self.tracks, key=lambda t: t.id)
        out: list[Track] = []
        for t in tracks:
            b = box_of(t.kp)
            scale = max(b[2] - b[0], b[3] - b[1], 1.0)
            dup = any(float(np.nanmean(np.linalg.norm(t.kp - u.kp, axis=1))) < 0.15 * scale for u in out)
            part = any(self._along(t, u) and (u.id < t.id or not self._along(u, t)) for u in tracks if u is not t)
            if dup or part:
                self._forget(t.id)
            else:
                out.append(t)
        self.tracks = out

    def _along(self, t: Track, u: Track) -> bool:
        """``t``'s points lie on ``u``'s bones (see :data:`ALONG_BONES`)."""
        if not self.edges:
            return False
        b = box_of(u.kp)
        d = skeleton_distance(t.kp[np.isfinite(t.kp).all(1)], u.kp, self.edges)
        return len(d) > 0 and float(np.quantile(d, 0.9)) < ALONG_BONES * max(b[2] - b[0], b[3] - b[1], 1.0)

    def lose(self, t: Track, ts: float) -> None:
        self._forget(t.id)
        self.lost.append((t, ts))

    def lost_match(self, kp: np.ndarray, ts: float) -> int | None:
        """Index in ``lost`` of the hand lost within ``lost_id_ttl_ms`` that overlaps ``kp`` most
        (IoU > 0.3), or None."""
        b = box_of(kp)
        best, best_iou = None, 0.3
        for i, (t, when) in enumerate(self.lost):
            v = iou(b, box_of(t.kp)) if ts - when <= self.lost_id_ttl_ms else 0.0
            if v > best_iou:
                best, best_iou = i, v
        return best

    def found_again(self, kp: np.ndarray, ts: float) -> Track | None:
        """The hand lost within ``lost_id_ttl_ms`` where ``kp`` is now (taken off the lost list), or None."""
        best = self.lost_match(kp, ts)
        return None if best is None else self.lost.pop(best)[0]

    def expire(self, ts: float) -> None:
        """Forget the hands lost more than ``lost_id_ttl_ms`` ago: a hand found there now is new."""
        self.lost = [(t, when) for t, when in self.lost if ts - when <= self.lost_id_ttl_ms]
