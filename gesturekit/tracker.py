"""HandTracker: the detect → crop → keypoints → track loop.

Two modes, chosen per call like MediaPipe's:

* ``process(frame)`` with no timestamp: *static image* mode. The detector runs on
  every call, keypoints are read from its boxes (and once more from an upright
  crop around those keypoints), no smoothing, no ids.
* ``process(frame, timestamp_ms)``: *video* mode. Once a hand is found, the next
  frame's crop comes from its own keypoints (upright, :data:`CROP_SCALE` × the
  keypoint box); the detector runs only while fewer than ``max_hands`` hands are
  followed (every frame when none is, at most every ``detect_interval`` frames
  otherwise). A hand read unsurely (blur, a fist from the knuckles) coasts for up to
  ``coast_ms`` while the detector looks for a better reading of it. With no hand in view, a
  candidate that stays at one place is read only on every ``clutter_every``-th detector run
  (:mod:`gesturekit.clutter`): an idle camera costs about what MediaPipe's does. Tracks keep their ids;
  keypoints are smoothed (One Euro by default); handedness is voted over the track.
  Timestamps must increase: a timestamp that is not later than the previous one raises
  ValueError (call :meth:`reset` to start a new video).

Components are injectable: any object with ``.detect(frame) -> Detections``
(``boxes`` (N, 4) px, ``scores`` (N,), ``angles`` (N,) radians or NaN) is a
detector, any object with ``.predict(frame, crops) -> (kp (N, K, 2), conf (N, K))``
a regressor.
"""

from __future__ import annotations

import logging
import math
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .clutter import ClutterMemory
from .detector import DetectorOptions, HandDetector, detect_tiles
from .events import DebounceOptions
from .filters import FILTERS, make_filter
from .geometry import Crop, box_of, crop_from_keypoints, degenerate, repeats
from .handedness import HandednessVoter, flip_side
from .images import as_bgr_uint8
from .landmarks import CROP_SCALE, acquire
from .layouts import HAND_21
from .runtime import check_threads
from .tracks import TrackBook
from .types import Hand, Hands

log = logging.getLogger(__name__)

# New hands are looked for among this many boxes more than are wanted: a face or an arm can
# outscore a hand, and the keypoint reading and the presence gate judge every candidate (on 1,000
# hands26k val photos the third box was the labelled hand in 2 %). The detector is asked for them.
SPARE_BOXES = 1

# TrackerOptions.acquire_zooms None: the shipped model reads a hand boxed too small best on the
# wider crop too (hands26k val: found 0.890 → 0.911, docs/tracker.md); a small model of your own
# can be confident and wrong there (docs/layouts.md: 15.2 px mean error against 8.3 px)
SHIPPED_ZOOMS = (1.0, 1.6)
OWN_MODEL_ZOOMS = (1.0,)


@dataclass
class TrackerOptions:
    """Settings of :class:`HandTracker` (validated; a bad value raises ValueError naming the field)."""

    max_hands: int = 2
    min_detection_confidence: float = 0.1   # detector score needed to try a hand: low, because the keypoint
    #                                         confidence gate below decides (scores run low: DETECTOR_CARD)
    min_presence_confidence: float = 0.5    # P(hand) a new hand needs (presence model; without one a new
    #                                         hand needs min_tracking_confidence mean keypoint confidence)
    min_tracking_confidence: float = 0.2    # mean keypoint confidence below which a track is unsure
    # (measured on a 3-epoch checkpoint: hand crops median 0.31, p10 0.14; background p90 0.13;
    #  re-measure with `python bench/bench_tracker.py --conf-study` when the model changes)
    # an unsure track (motion blur, a fist seen from the knuckles) coasts on, at no less than half
    # that confidence, for up to this long, while the detector looks for a better reading of it;
    # then it is lost (docs/tracker.md)
    coast_ms: float = 500.0
    device: str = "auto"                    # auto | cpu | cuda
    backend: str = "auto"                   # auto (from the file suffix) | onnx | torch
    threads: int | None = None
    mirror: bool = False                    # frames are a selfie (mirrored) view: swap left/right
    smoothing: str = "one_euro"             # a name in gesturekit.filters.FILTERS
    min_cutoff: float = 1.0                 # One Euro: Hz at rest (lower = steadier, more lag)
    beta: float = 0.02                      # One Euro: cutoff increase per px/s of speed
    d_cutoff: float = 1.0
    detector_model: str | Path | None = None    # None: models/detector.onnx
    keypoint_model: str | Path | None = None    # None: models/keypoints.onnx
    handedness_model: str | Path | None = None  # None: models/handedness.onnx ("" turns handedness off)
    handedness_every: int = 3               # video: a followed hand's side is read on every this many frames
    #                                         and voted over its track (1: every frame; ~1 ms a read)
    presence_model: str | Path | None = None    # None: models/presence.npz ("" gates on keypoint confidence)
    crop_scale: float = CROP_SCALE          # tracking crop side / longer side of the keypoint box
    detector_crop_ratio: float = 1.27       # crop side / longer side of a detector box (measured, DETECTOR_CARD)
    # a new hand is read at each of these multiples of that crop and the most confident one kept:
    # big hands are boxed small, and the wider crop rescues them (docs/tracker.md). None follows the
    # keypoint model: SHIPPED_ZOOMS for the shipped one, OWN_MODEL_ZOOMS for a model of your own
    # (HandTracker.acquire_zooms says which was taken)
    acquire_zooms: tuple[float, ...] | None = None
    acquire_rotations: int = 4              # ... and at this many turns from the detector's angle
    frame_candidate: bool = True            # with no hand found or followed, also read the whole frame
    static_tiles: int = 2                   # static mode, still no hand: detect again on this many × this
    #                                         many overlapping tiles (small hands; 1 turns it off)
    detect_interval: int = 5                # frames between detector runs while some hands are followed
    clutter_every: int = 3                  # video, no hand in view: a candidate that stays at one place is
    #                                         read on 2 runs, then on every this many (1: always; clutter.py)
    overlap_iou: float = 0.3                # a detection overlapping a track by more is ignored
    static_refine: bool = True              # static mode: second pass on an upright keypoint crop
    flip_test: bool = False                 # also read mirrored crops: more accurate, 2× regressor time
    gestures: bool = True                   # fill hand.gesture when gesturekit.gestures is present
    debounce: DebounceOptions | None = None     # how per-frame gestures become events (None: defaults)
    gesture_model: str | Path | None = None     # None: the built-in gesture MLP; your own .npz from
    #                                             `gesturekit train gestures` (its labels become events)
    dynamic_gestures: bool = True           # video: swipes and circles of the palm → hand.motion, events
    lost_id_ttl_ms: float = 500.0           # a hand found again this soon near a lost one gets its id

    def __post_init__(self) -> None:
        def need(cond: bool, name: str, what: str) -> None:
            if not cond:
                raise ValueError(f"{name}: {getattr(self, name)!r} {what}")

        need(isinstance(self.max_hands, int) and not isinstance(self.max_hands, bool) and self.max_hands >= 1,
             "max_hands", "must be an int >= 1")
        for name in ("min_detection_confidence", "min_presence_confidence", "min_tracking_confidence", "overlap_iou"):
            v = getattr(self, name)
            need(isinstance(v, (int, float)) and 0.0 <= v <= 1.0, name, "must be in [0, 1]")
        need(self.device in ("auto", "cpu", "cuda"), "device", "must be 'auto', 'cpu' or 'cuda'")
        need(self.backend in ("auto", "onnx", "torch"), "backend", "must be 'auto', 'onnx' or 'torch'")
        check_threads(self.threads)   # the Runner's own check (bools, absurd counts), here so it fails at once
        for name in ("detector_model", "keypoint_model", "handedness_model", "presence_model", "gesture_model"):
            v = getattr(self, name)
            need(v is None or isinstance(v, (str, os.PathLike)), name, "must be a path or None")
        need(self.smoothing in FILTERS, "smoothing", f"is not one of {sorted(FILTERS)}")
        for name in ("min_cutoff", "d_cutoff", "crop_scale", "detector_crop_ratio"):
            v = getattr(self, name)
            need(isinstance(v, (int, float)) and math.isfinite(v) and v > 0, name, "must be a number > 0")
        need(isinstance(self.beta, (int, float)) and math.isfinite(self.beta) and self.beta >= 0, "beta",
             "must be a number >= 0")
        for name in ("detect_interval", "clutter_every", "handedness_every"):
            v = getattr(self, name)
            need(isinstance(v, int) and not isinstance(v, bool) and v >= 1, name, "must be an int >= 1")
        need(isinstance(self.static_tiles, int) and not isinstance(self.static_tiles, bool) and self.static_tiles >= 1,
             "static_tiles", "must be an int >= 1")
        for name in ("lost_id_ttl_ms", "coast_ms"):
            v = getattr(self, name)
            need(isinstance(v, (int, float)) and math.isfinite(v) and v >= 0, name, "must be a number >= 0")
        z = self.acquire_zooms
        need(z is None or (isinstance(z, (tuple, list)) and len(z) >= 1
                           and all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                                   and v > 0 for v in z)),
             "acquire_zooms", "must be None or a non-empty sequence of numbers > 0")
        need(isinstance(self.acquire_rotations, int) and not isinstance(self.acquire_rotations, bool)
             and self.acquire_rotations >= 1, "acquire_rotations", "must be an int >= 1")
        need(self.debounce is None or isinstance(self.debounce, DebounceOptions), "debounce",
             "must be a gesturekit.events.DebounceOptions or None")
        need(self.gesture_model is None or (self.gestures and Path(self.gesture_model).suffix == ".npz"),
             "gesture_model", "must be an .npz gesture model (from `gesturekit train gestures`), with gestures on")

    def filter_kwargs(self) -> dict:
        if self.smoothing == "one_euro":
            return {"min_cutoff": self.min_cutoff, "beta": self.beta, "d_cutoff": self.d_cutoff}
        return {}


class HandTracker:
    """Hands in images and video: detector + keypoint regressor + tracking.

    ``HandTracker(options, detector=None, regressor=None)``; missing components
    are built from the model paths in ``options`` (``models/`` by default).
    Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, options: TrackerOptions | None = None, detector=None, regressor=None,
                 handedness=None, recognizer=None, presence=None, motion=None):
        self.options = options or TrackerOptions()
        if not isinstance(self.options, TrackerOptions):
            raise TypeError(f"options: expected TrackerOptions, got {type(self.options).__name__}")
        o = self.options
        if regressor is None:
            from .landmarks import LandmarkRegressor

            # the detector and the regressor take turns on the same cores: no spin-waiting (Runner.load)
            regressor = LandmarkRegressor(o.keypoint_model, o.backend, o.device, o.threads, o.flip_test, spin_wait=False)
        if detector is None:
            detector = _default_detector(o)
        if not callable(getattr(detector, "detect", None)):
            raise TypeError("detector: needs a .detect(frame) -> Detections method")
        if not callable(getattr(regressor, "predict", None)):
            raise TypeError("regressor: needs a .predict(frame, crops) -> (keypoints, confidence) method")
        self.detector, self.regressor = detector, regressor
        #: the crop widths a new hand is read at: ``options.acquire_zooms``, or the model's (see there)
        self.acquire_zooms: tuple[float, ...] = (tuple(float(z) for z in o.acquire_zooms)
                                                 if o.acquire_zooms is not None else model_zooms(regressor))
        self.layout = getattr(regressor, "layout", HAND_21)
        self._is_hand21 = self.layout.num_points == 21
        self.handedness = handedness if handedness is not None else self._default_handedness()
        self.presence = presence if presence is not None else self._default_presence()
        self.recognizer = recognizer if recognizer is not None else self._default_recognizer()
        # any object with .update(track_id, timestamp_ms, keypoints, image_size) -> result with
        # .name / .score, or None (DynamicGestureRecognizer)
        self.motion = motion if motion is not None else self._default_motion()
        self._lock = threading.RLock()
        self._bus = None
        self._debouncer = None
        self._live = None   # the current or last LiveRun
        self._live_token: object | None = None   # which run may end the gestures in view
        self.stats = {"frames": 0, "detector_runs": 0, "regressor_runs": 0}
        self.reset()

    # -- construction helpers ------------------------------------------------------------------
    def _optional_model(self, path, load, off: str):
        """A 21-point helper model: ``path`` "" switches it off; None loads the shipped file and,
        when that is missing or broken, logs ``off`` and goes on without it; a path given must load."""
        if path == "" or not self._is_hand21:
            return None
        try:
            return load(path)
        except (OSError, ValueError) as e:
            if path is not None:
                raise
            log.warning("%s: %s", off, e)
            return None

    def _default_handedness(self):
        from .handedness import HandednessClassifier

        # a small net on one or two crops a frame: one thread, and no spinning between the other models' turns;
        # where the others run (device="cpu" must not put it on the GPU through torch)
        device = self.options.device
        return self._optional_model(self.options.handedness_model,
                                    lambda p: HandednessClassifier(p, threads=1, spin_wait=False, device=device),
                                    "handedness off")

    def _default_presence(self):
        from .presence import PresenceClassifier

        return self._optional_model(self.options.presence_model, PresenceClassifier,
                                    "presence model off, new hands gated on keypoint confidence")

    def _default_recognizer(self):
        if not self.options.gestures or not self._is_hand21:
            return None
        try:
            from .gestures import GestureOptions, GestureRecognizer
        except ImportError:  # gestures not installed in this build: hands come without gestures
            return None
        path = self.options.gesture_model
        if path is not None:  # a model the user asked for must load
            return GestureRecognizer(GestureOptions(model_path=path))
        try:
            return GestureRecognizer()
        except (OSError, ValueError) as e:  # e.g. the built-in model file is missing: hands still come
            log.warning("gestures off: %s", e)
            return None

    def _default_motion(self):
        if not (self.options.gestures and self.options.dynamic_gestures) or not self._is_hand21:
            return None
        try:
            from .gestures import DynamicGestureRecognizer, DynamicOptions
        except ImportError:
            return None
        # the palm (middle-finger knuckle), not the index tip: a finger that curls or straightens
        # moves its tip by a hand size (on the clips: a swipe_up from the volctl index rising,
        # circles from lujun's changing poses; none with the palm)
        return DynamicGestureRecognizer(DynamicOptions(point=9))

    def reset(self) -> None:
        """Forget every track and the last timestamp (start of a new video); gestures still
        active end, and hands still in view are lost, as events."""
        with getattr(self, "_lock", threading.RLock()):
            self._end_events()
            self._last_ms: float | None = None
            self._since_detect = 10**9
            o = self.options
            self._voter = HandednessVoter(every=o.handedness_every)
            self._book = TrackBook(o.max_hands, o.overlap_iou, o.lost_id_ttl_ms, self.layout.edges,
                                   lambda: make_filter(o.smoothing, **o.filter_kwargs()), self._voter.forget)
            # idle video: where the detector's boxes stay, and how long the whole frame has shown nothing
            self._idle_boxes = ClutterMemory(self.options.clutter_every)
            self._idle_frame = ClutterMemory(self.options.clutter_every)
            if self._debouncer is not None:
                self._debouncer.reset()
            if self.motion is not None and callable(getattr(self.motion, "reset", None)):
                self.motion.reset()

    # -- the loop --------------------------------------------------------------------------------
    def process(self, frame: np.ndarray, timestamp_ms: float | None = None) -> Hands:
        """Hands in ``frame`` (BGR uint8; gray, BGRA and float images are converted).

        No ``timestamp_ms``: static image mode. With it: video mode (must increase).
        """
        # a string or a bool would pass float(): refuse them, they are a mistake, not a time
        if timestamp_ms is not None and (isinstance(timestamp_ms, (bool, np.bool_))
                                         or not isinstance(timestamp_ms, (int, float, np.number))):
            raise ValueError(f"timestamp_ms: {timestamp_ms!r} is not a number of milliseconds")
        frame = as_bgr_uint8(frame)
        h, w = frame.shape[:2]
        with self._lock:
            if timestamp_ms is None:
                self.stats["frames"] += 1
                hands = self._process_static(frame)
                return Hands(hands, (w, h), None, self.layout.num_points)
            ts = float(timestamp_ms)
            if not math.isfinite(ts):
                raise ValueError(f"timestamp_ms: {timestamp_ms!r} is not a finite number")
            if self._last_ms is not None and ts <= self._last_ms:
                raise ValueError(f"timestamp_ms: {ts:g} is not after the previous frame's {self._last_ms:g}; "
                                 "timestamps must increase (call reset() to start a new video)")
            self._last_ms = ts
            self.stats["frames"] += 1
            hands = self._process_video(frame, ts)
            result = Hands(hands, (w, h), ts, self.layout.num_points)
            self._emit(result)
            return result

    def _detect(self, frame: np.ndarray, tiles: int = 1) -> list[tuple[np.ndarray, float, float]]:
        self.stats["detector_runs"] += tiles * tiles
        det = detect_tiles(self.detector, frame, tiles)
        h, w = frame.shape[:2]
        # the shipped detector clips its boxes to the frame; one of your own may not, and a box
        # beyond the frame was read on padding alone (a "hand" outside the picture)
        boxes = np.clip(det.boxes, 0, np.float32([w, h, w, h]))
        out = [(b, float(s), float(a) if math.isfinite(a) else 0.0)
               for b, s, a in zip(boxes, det.scores, det.angles)
               if s >= self.options.min_detection_confidence and (b[2] - b[0]) > 1 and (b[3] - b[1]) > 1]
        out.sort(key=lambda d: -d[1])
        return out

    def _regress(self, frame: np.ndarray, crops: list[Crop]) -> tuple[np.ndarray, np.ndarray]:
        self.stats["regressor_runs"] += 1
        kp, conf = self.regressor.predict(frame, crops)
        return np.asarray(kp, np.float32), np.asarray(conf, np.float32)

    def _acquire(self, frame: np.ndarray, dets, zooms: tuple[float, ...] | None = None,
                 video: bool = False) -> tuple[np.ndarray, np.ndarray]:
        o = self.options
        # The detector's box is neither upright nor exactly sized: read it at several widths and
        # turns, then once more on the upright crop the network was trained on. In video, an unsure
        # box is turned at its best width only: a quarter fewer crops on hand-free frames, where
        # every box is read on every frame; a photo has one chance, so there every width is turned.
        return acquire(self._regress, frame, [d[0] for d in dets], [d[2] for d in dets], o.detector_crop_ratio,
                       zooms or self.acquire_zooms, o.acquire_rotations, int(o.static_refine), o.crop_scale,
                       self._is_hand21, turn_every_zoom=not video)

    def candidates(self, frame: np.ndarray, top: int | None = None, tiles: int = 1) -> tuple[list, np.ndarray, np.ndarray]:
        """What static mode weighs as new hands: the ``top`` best detections (default ``max_hands``
        + :data:`SPARE_BOXES`) on the frame, or on ``tiles`` × ``tiles`` tiles of it
        (:func:`~gesturekit.detector.detect_tiles`), each read by :meth:`_acquire`.
        Returns (detections, keypoints (N, K, 2), confidences (N, K))."""
        dets = self._detect(frame, tiles)[: (self.options.max_hands + SPARE_BOXES) if top is None else top]
        if not dets:
            k = self.layout.num_points
            return [], np.zeros((0, k, 2), np.float32), np.zeros((0, k), np.float32)
        kp, conf = self._acquire(frame, dets)
        return dets, kp, conf

    def _presence(self, kp: np.ndarray, conf: np.ndarray, scores: list[float]) -> tuple[np.ndarray, float]:
        """(presence of each new candidate, the threshold it needs): P(hand) from the presence
        model, else the mean keypoint confidence."""
        if self.presence is None or not len(kp):
            return conf.mean(1), self.options.min_tracking_confidence
        return self.presence.prob(kp, conf, np.asarray(scores, np.float32)), self.options.min_presence_confidence

    def _sides(self, frame: np.ndarray, kps: list[np.ndarray], ids: list[int | None]) -> list[tuple]:
        """(reported side, its score, side as seen in the image) per hand, from one batched read of
        the hands that need one: every hand of a photo; a followed hand on its track's first frame
        and on every ``handedness_every``-th frame, its track's vote held in between."""
        if self.handedness is None:
            return [(None, 0.0, None)] * len(kps)
        due = [i for i, tid in enumerate(ids) if tid is None or self._voter.due(tid)]
        read = dict(zip(due, self.handedness.prob_right(frame, np.stack([kps[i] for i in due])))) if due else {}
        out = []
        for i, tid in enumerate(ids):
            if tid is None:
                p = float(read[i])
                seen, score = ("right", p) if p >= 0.5 else ("left", 1 - p)
            else:
                seen, score = self._voter.vote(tid, read.get(i))
            # mirror=True: the frame is a selfie view, the person's hand is the other side
            out.append(((flip_side(seen) if self.options.mirror else seen), score, seen))
        return out

    def _make_hand(self, frame, kp, conf, score, track_id, side: tuple, recognize: bool = True) -> Hand:
        """A reported hand; ``side`` is its (reported side, score, side as seen) from :meth:`_sides`."""
        size = (frame.shape[1], frame.shape[0])
        side, side_score, seen = side
        hand = Hand(keypoints=kp.astype(np.float32), confidence=conf.astype(np.float32), box=box_of(kp),
                    score=float(score), image_size=size, handedness=side, handedness_score=float(side_score),
                    track_id=track_id, layout=self.layout)
        if recognize and self.recognizer is not None and np.isfinite(kp).all():
            try:
                # the recognizer reads geometry in the image, so it gets the side as seen there
                res = self.recognizer.recognize(kp.astype(np.float64), seen)
                hand.gesture, hand.gesture_score = res.name, float(res.score)
            except ValueError as e:  # a degenerate hand: no gesture rather than no hand
                log.debug("gesture skipped: %s", e)
        return hand

    def _gate(self, dets: list, kp: np.ndarray, conf: np.ndarray, boxes: list[np.ndarray], want: int,
              ts: float | None = None) -> list[tuple[np.ndarray, np.ndarray, float]]:
        """(keypoints, confidences, presence) of the read candidates that are new hands, best
        first, at most ``want``: present (in video, where a hand was lost a moment ago, half the
        threshold will do), not collapsed onto a spot, and not one of ``boxes`` again (their
        keypoint boxes are added to ``boxes``)."""
        p, need = self._presence(kp, conf, [d[1] for d in dets])
        found = []
        for k, c, pk in zip(kp, conf, p):
            lost_here = ts is not None and self._book.lost_match(k, ts) is not None
            kb = box_of(k)
            if len(found) == want or pk < need * (0.5 if lost_here else 1.0) or degenerate(kb) \
                    or repeats(kb, boxes, self.options.overlap_iou):
                continue
            boxes.append(kb)
            found.append((k, c, float(pk)))
        return found

    def _whole_frame(self, frame: np.ndarray, boxes: list[np.ndarray], want: int, ts: float | None = None) -> list:
        """:meth:`_gate` on the whole frame read as one more box, scored as the weakest box tried:
        the detector boxes a hand that fills the frame, or enters it from an edge, small or not at
        all, and the keypoint model reads such a hand from the whole frame."""
        h, w = frame.shape[:2]
        half = max(w, h) / self.options.detector_crop_ratio / 2  # its first reading spans the frame
        whole = [(np.array([w / 2 - half, h / 2 - half, w / 2 + half, h / 2 + half], np.float32),
                  self.options.min_detection_confidence, 0.0)]
        # Wider crops are for boxes drawn too small, which this one is not. In video it is read on
        # every frame with no hand, so only at its own width (hand-free frames: 27 → 23 crops);
        # a photo has one chance, and there the wider one still finds 1 hand in 1,000 hands26k photos.
        zooms = None if ts is None else (1.0,)
        return self._gate(whole, *self._acquire(frame, whole, zooms), boxes, want, ts)

    def _process_static(self, frame: np.ndarray) -> list[Hand]:
        o = self.options
        boxes: list[np.ndarray] = []
        found = self._gate(*self.candidates(frame), boxes, o.max_hands)
        if not found and o.frame_candidate:
            found = self._whole_frame(frame, boxes, o.max_hands)
        if not found and o.static_tiles > 1:
            # the detector sees a frame at 192×256: a hand under ~50 px there is often missed, and
            # a tile shows it larger (all hands26k val photos: found 0.903 → 0.917), at twice the
            # time on hand-free photos (docs/tracker.md). Not in video: it would cost every such frame.
            found = self._gate(*self.candidates(frame, tiles=o.static_tiles), boxes, o.max_hands)
        sides = self._sides(frame, [k for k, _, _ in found], [None] * len(found))
        return [self._make_hand(frame, k, c, s, None, side) for (k, c, s), side in zip(found, sides)]

    def _process_video(self, frame: np.ndarray, ts: float) -> list[Hand]:
        o = self.options
        size = (frame.shape[1], frame.shape[0])
        lost_now = False
        # 1. follow every track from its own keypoints; an unsure reading coasts a while
        if self._book.tracks:
            crops = [crop_from_keypoints(t.kp, o.crop_scale, None if self._is_hand21 else 0.0)
                     for t in self._book.tracks]
            kp, conf = self._regress(frame, crops)
            keep = []
            for t, k, c in zip(self._book.tracks, kp, conf):
                m = float(c.mean())
                sure = m >= o.min_tracking_confidence
                if sure:
                    t.unsure_ms = None
                elif t.unsure_ms is None:
                    t.unsure_ms = ts
                t.best = max(t.best, m)
                # only a hand once read confidently coasts: a doubtful track born on clutter does not
                coast = not sure and ts - t.unsure_ms < o.coast_ms and m >= o.min_tracking_confidence / 2 \
                    and t.best >= 1.5 * o.min_tracking_confidence
                if (sure or coast) and not degenerate(box_of(k)):
                    t.kp, t.conf, t.score, t.last_ms = k, c, m, ts
                    keep.append(t)
                else:
                    self._book.lose(t, ts)
                    lost_now = True
            self._book.tracks = keep
            self._book.dedupe()
        # 2. look for new hands while fewer than max_hands are followed surely; a new reading of
        #    a coasting hand takes its place (and its id)
        sure = [t for t in self._book.tracks if t.unsure_ms is None]
        self._since_detect += 1
        want = o.max_hands - len(sure)
        coasting = len(sure) < len(self._book.tracks)
        if want > 0 and (not sure or lost_now or coasting or self._since_detect >= o.detect_interval):
            self._since_detect = 0
            boxes = [box_of(t.kp) for t in sure]
            dets = [d for d in self._detect(frame) if not repeats(d[0], boxes, o.overlap_iou)][: want + SPARE_BOXES]
            idle = not self._book.tracks and not lost_now
            if idle:  # a still hand-free scene: the same clutter is not read on every frame
                skip = self._idle_boxes.step([d[0] for d in dets], [d[1] for d in dets])
                dets = [d for d, sk in zip(dets, skip) if not sk]
            found = self._gate(dets, *self._acquire(frame, dets, video=True), boxes, want, ts) if dets else []
            if not found and not self._book.tracks and o.frame_candidate:
                # the whole frame is one place that never moves
                skip = idle and self._idle_frame.step([np.float32([0, 0, size[0], size[1]])], [0.0])[0]
                if not skip:
                    found = self._whole_frame(frame, boxes, want, ts)
            if found or not idle:
                self._idle_boxes.reset()
                self._idle_frame.reset()
            for k, c, s in found:
                self._book.adopt(k, c, s, ts)
            self._book.dedupe()
        self._book.expire(ts)
        # 3. smooth and report, in track-id order (stable for the caller)
        hands = []
        tracks = sorted(self._book.tracks, key=lambda t: t.id)
        self._voter.tick()
        for t, side in zip(tracks, self._sides(frame, [t.kp for t in tracks], [t.id for t in tracks])):
            t.smoothed = np.asarray(t.filt(t.kp, ts / 1000.0), np.float32)
            # an unsure reading starts no gesture (no stray click from a blurred hand): a coasting
            # hand holds the gesture of its last sure reading
            unsure = t.unsure_ms is not None
            hand = self._make_hand(frame, t.smoothed, t.conf, t.score, t.id, side, recognize=not unsure)
            if unsure:
                hand.gesture, hand.gesture_score = t.gesture
            else:
                t.gesture = (hand.gesture, hand.gesture_score)
                self._read_motion(hand, ts)
            hands.append(hand)
        return hands

    def _read_motion(self, hand: Hand, ts: float) -> None:
        """``hand.motion``: a swipe or circle the hand (its palm, by default) completed on this frame."""
        if self.motion is None or not np.isfinite(hand.keypoints).all():
            return
        res = self.motion.update(hand.track_id, ts, hand.keypoints, hand.image_size)
        if res is not None:
            hand.motion, hand.motion_score = res.name, float(res.score)

    # -- events ------------------------------------------------------------------------------------
    def on(self, gesture: str | None = None, callback: Callable | None = None, *, phase: str | None = None,
           hand: str | int | None = None):
        """Subscribe to gesture events (see :meth:`gesturekit.events.EventBus.on`); usable as a decorator.

        Events come from video-mode frames through a :class:`gesturekit.events.Debouncer`.
        """
        return self.events.on(gesture, callback, phase=phase, hand=hand)

    @property
    def events(self):
        """The tracker's :class:`gesturekit.events.EventBus` (created on first use). It knows the
        names the tracker's recognizers can give (``labels``; the built-in names for one without),
        so subscribing to one that can never fire, such as a built-in name with a model of your
        own, is a ValueError rather than silence. Events are debounced by ``options.debounce``."""
        if self._bus is None:
            from .events import Debouncer, EventBus

            self._bus = EventBus(gestures=self._gesture_names())
            self._debouncer = Debouncer(self.options.debounce)
        return self._bus

    def _gesture_names(self) -> tuple[str, ...]:
        from .gestures import ALL_GESTURES, DYNAMIC_GESTURES, HISTORY_GESTURES

        names: list[str] = []
        for part, builtin in ((self.recognizer, ALL_GESTURES), (self.motion, DYNAMIC_GESTURES + HISTORY_GESTURES)):
            if part is not None:
                names += getattr(part, "labels", builtin)
        return tuple(n for n in dict.fromkeys(names) if n != "none")

    def _emit(self, result: Hands) -> None:
        if self._bus is None:
            return
        from .events import GestureEvent

        obs = [(h.track_id, h.handedness, h.gesture, h.gesture_score, h.keypoints) for h in result]
        events = self._debouncer.update(result.timestamp_ms, obs)
        # a motion is an instant: its started and ended come together (so a button bound to it
        # is pressed and released, never left down)
        for h in result:
            if h.motion is not None:
                events += [GestureEvent(kind, h.motion, h.track_id, h.handedness, result.timestamp_ms,
                                        0.0, h.motion_score, h.keypoints) for kind in ("started", "ended")]
        self._bus.publish(events)

    def _end_of_live(self, token: object) -> None:
        with self._lock:
            # as at the end of stream(): a held gesture must not outlive its source; but a worker
            # that outlived stop() must not end the gestures of the run started after it
            if token is self._live_token:
                self._end_events()

    def _end_events(self) -> None:
        """End the active gestures and lose the hands in view, as events (end of a stream)."""
        if self._bus is not None and self._debouncer is not None and self._last_ms is not None:
            self._bus.publish(self._debouncer.flush(self._last_ms))

    # -- sources -------------------------------------------------------------------------------------
    def stream(self, source) -> Iterator[tuple[np.ndarray, Hands]]:
        """``(frame, Hands)`` for every frame of ``source`` (camera index, video, folder, URL,
        :class:`~gesturekit.sources.FrameSource` or iterable of frames), in video mode."""
        from .sources import open_source

        src = open_source(source)
        self.reset()
        try:
            for frame, ts in src:
                yield frame, self.process(frame, ts)
        finally:
            src.close()
            with self._lock:
                self._end_events()   # the last gesture's ended and the hands' lost still come

    def start_live(self, source, callback: Callable[[np.ndarray, Hands], None],
                   realtime: bool | None = None) -> None:
        """Process ``source`` on a background thread, newest frame first (frames that arrive
        while one is processed replace each other); ``callback(frame, hands)`` is called on that
        thread. A callback that raises is logged and the stream goes on. :meth:`stop` ends it.
        ``realtime``: release frames at their timestamps (default: for a video file only, which
        then plays at its own rate, as a camera would; see :class:`~gesturekit.sources.LatestFrameReader`)."""
        from .live import LiveRun

        if not callable(callback):
            raise TypeError(f"callback: {callback!r} is not callable")
        if self.running:
            raise RuntimeError("start_live: already running; call stop() first")
        self.reset()
        # a token set before the thread starts: only this run's end may end the gestures in view
        token = self._live_token = object()
        self._live = LiveRun(source, self.process, callback, realtime, on_end=lambda: self._end_of_live(token))

    @property
    def live_error(self) -> BaseException | None:
        """What ended the last live run (a camera unplugged, a file unreadable), or None."""
        return None if self._live is None else self._live.error

    @property
    def running(self) -> bool:
        return self._live is not None and self._live.alive

    def stop(self, timeout: float = 2.0) -> None:
        """End live processing; waits at most ``timeout`` s (the worker is a daemon thread)."""
        if self._live is not None:
            self._live.stop(timeout)

    def close(self) -> None:
        """Stop live processing and the event bus. Never blocks for more than a few seconds."""
        self.stop()
        if self._bus is not None:
            self._end_events()
            self._bus.close(timeout=2.0)
            self._bus = None

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def model_zooms(regressor) -> tuple[float, ...]:
    """The acquisition zooms that suit ``regressor``'s model: :data:`SHIPPED_ZOOMS` for the shipped
    keypoint model (or a regressor that names no ``path``: a wrapper or a test double),
    :data:`OWN_MODEL_ZOOMS` for a model file of your own."""
    path = getattr(regressor, "path", None)
    if path is None:
        return SHIPPED_ZOOMS
    from .landmarks import DEFAULT_MODEL
    from .runtime import MODELS_DIR, default_model

    shipped = {(folder / name).resolve() for folder in (MODELS_DIR, default_model(DEFAULT_MODEL, "onnx").parent)
               for name in (DEFAULT_MODEL, Path(DEFAULT_MODEL).with_suffix(".pt").name)}
    return SHIPPED_ZOOMS if Path(path).resolve() in shipped else OWN_MODEL_ZOOMS


def _default_detector(o: TrackerOptions):
    # model_path None: DetectorOptions picks the shipped file for the backend (.onnx, or .pt for torch)
    path = o.detector_model
    # followed hands are boxed too, so max_hands + SPARE_BOXES leaves the spares for new ones
    return HandDetector(DetectorOptions(model_path=path, backend=o.backend, device=o.device, threads=o.threads,
                                        score_threshold=min(o.min_detection_confidence, 0.99),
                                        max_hands=o.max_hands + SPARE_BOXES, spin_wait=False))


__all__ = ["HandTracker", "TrackerOptions"]
