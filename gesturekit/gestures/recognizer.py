"""Gesture recognisers: static (one frame's keypoints) and dynamic (a track's motion).

::

    rec = GestureRecognizer(GestureOptions(mode="both"))
    res = rec.recognize(hand.keypoints, hand.handedness)   # GestureResult(name, score, source)

    dyn = DynamicGestureRecognizer()
    res = dyn.update(hand.track_id, timestamp_ms, hand.keypoints)  # None or a swipe / circle
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..runtime import default_model
from .dynamic import DYNAMIC_GESTURES, MotionRules
from .features import check_keypoints, hand_features, hand_size
from .mlp import GestureMLP
from .rules import BUILTIN_RULES, RuleClassifier

# shipped in models/ (found through runtime.default_model: GESTUREKIT_MODELS overrides the folder)
# Trained on our own keypoint model's points (what the tracker feeds it); gesture_mlp.npz is the
# same MLP trained on MediaPipe's points, for users who bring those.
BUILTIN_MODEL = "gesture_mlp_e2e.npz"
BUILTIN_HISTORY_MODEL = "point_history.npz"
MODES = ("mlp", "rules", "both")


@dataclass(frozen=True)
class GestureResult:
    """A recognised gesture: ``name`` ("none" when nothing fits), ``score`` in [0, 1]
    and which classifier said it (``source``: "rules" | "mlp")."""

    name: str
    score: float
    source: str


@dataclass
class GestureOptions:
    """Static gesture recognition settings.

    mode: "mlp" (the trained classifier; its thumbs_up / thumbs_down is settled by the
      thumb's direction in the image, since the MLP sees a rotated hand), "rules"
      (finger-state rules, no model file)
      or "both" (the MLP's answer when it is confident and not "none", else the rules').
    rule_gestures: in "mlp" and "both" modes, rule gestures that win over the MLP when their
      rule fires (score >= ``rules_min_score``), for poses the MLP has no class for: the built-in
      MLP learned HaGRID's classes, which have no ``pinch``, the virtual mouse's click. Names the
      MLP knows are left to it.
    model_path: a user MLP (.npz with its .json beside it); None = built-in.
    min_score: MLP softmax probability below which the answer is "none".
    rules_min_score: rule score below which the rules answer "none".
    """

    mode: str = "mlp"
    model_path: str | Path | None = None
    min_score: float = 0.5
    rules_min_score: float = 0.5
    rule_gestures: tuple[str, ...] = ("pinch",)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode: {self.mode!r}, expected one of {', '.join(MODES)}")
        for name in ("min_score", "rules_min_score"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and 0.0 <= v <= 1.0):
                raise ValueError(f"{name}: {v!r} must be in [0, 1]")
        self.rule_gestures = tuple(self.rule_gestures)
        known = [r.name for r in BUILTIN_RULES]
        unknown = [n for n in self.rule_gestures if n not in known]
        if unknown:
            raise ValueError(f"rule_gestures: {unknown} are not rules; known: {', '.join(known)}")
        if self.model_path is not None:
            self.model_path = Path(self.model_path)
            if self.model_path.suffix != ".npz":
                raise ValueError(f"model_path: {self.model_path} must be an .npz gesture model")


_THUMBS = ("thumbs_up", "thumbs_down")


def _thumb_by_image_up(kp: np.ndarray, name: str) -> str:
    """The MLP sees the hand in a canonical (rotated) frame, so it cannot know where the
    image's "up" is; thumbs up vs down is decided by the thumb's image direction instead
    (kept as the MLP said when the thumb points sideways)."""
    dy = hand_features(kp).thumb_dir[1]
    if dy <= -0.35:
        return "thumbs_up"
    if dy >= 0.35:
        return "thumbs_down"
    return name


def _check_handedness(handedness):
    if handedness is None:
        return None
    h = str(handedness).lower()
    if h not in ("left", "right"):
        raise ValueError(f"handedness: {handedness!r}, expected 'left', 'right' or None")
    return h


class GestureRecognizer:
    """Classify one hand's (21, 2) pixel keypoints into a static gesture."""

    def __init__(self, options: GestureOptions | None = None):
        self.options = options or GestureOptions()
        self.rules = RuleClassifier(min_score=self.options.rules_min_score)
        self.mlp: GestureMLP | None = None
        self._rule_only: tuple[str, ...] = ()   # rule gestures the MLP has no class for
        self._thumbs_by_image = False           # the MLP knows both thumbs: settle them by the image's up
        if self.options.mode in ("mlp", "both"):
            self.mlp = GestureMLP.load(self.options.model_path or default_model(BUILTIN_MODEL))
            if self.mlp.input != "static":
                raise ValueError(f"model_path: {self.options.model_path} is a {self.mlp.input!r} "
                                 "model, not a static-gesture model")
            self._rule_only = tuple(n for n in self.options.rule_gestures if n not in self.mlp.labels)
            # only a model with both classes: a user's model with "thumbs_up" alone must not
            # answer "thumbs_down", a name it does not have (and no subscriber of its expects)
            self._thumbs_by_image = set(_THUMBS) <= set(self.mlp.labels)

    @property
    def labels(self) -> list[str]:
        """Every name :meth:`recognize` can return."""
        names = (list(self.mlp.labels) + list(self._rule_only)) if self.mlp is not None else []
        if self.options.mode != "mlp":
            names += self.rules.labels
        return list(dict.fromkeys(names + ["none"]))

    def recognize(self, keypoints, handedness: str | None = None) -> GestureResult:
        """ValueError on a wrong shape, NaN / missing points or a bad handedness."""
        kp = check_keypoints(keypoints)
        hand = _check_handedness(handedness)
        mode = self.options.mode
        if mode == "rules":
            return GestureResult(*self.rules.classify(kp), "rules")
        rules = self.rules.scores(kp) if self._rule_only or mode == "both" else {}
        if self._rule_only:
            name, score = self.rules.pick({n: rules[n] for n in self._rule_only})
            if name != "none":
                return GestureResult(name, score, "rules")
        p = self.mlp.predict_proba(kp[None], [hand])[0]
        k = int(p.argmax())
        name, score = self.mlp.labels[k], float(p[k])
        if score < self.options.min_score:
            name, score = "none", 1.0 - score
        if name in _THUMBS and self._thumbs_by_image:
            name = _thumb_by_image_up(kp, name)
        if mode == "mlp" or name != "none":
            return GestureResult(name, score, "mlp")
        r_name, r_score = self.rules.pick(rules)
        if r_name != "none":
            return GestureResult(r_name, r_score, "rules")
        return GestureResult("none", score, "mlp")


@dataclass
class DynamicOptions:
    """Dynamic gesture settings.

    mode: "rules" (:class:`~.dynamic.MotionRules`: swipes and circles, one result per
      completed motion) or "mlp" (point-history classifier: the class of the last 16
      positions every frame, a state to feed to a Debouncer).
    point: keypoint index followed (8 = index tip; 9 = middle MCP ≈ palm centre).
    image_size: (width, height) for the MLP's normalisation when ``update`` gets none.
    track_timeout_ms: a track not updated for this long is forgotten.
    """

    mode: str = "rules"
    model_path: str | Path | None = None
    point: int = 8
    min_score: float = 0.5
    image_size: tuple[int, int] = (640, 480)
    track_timeout_ms: float = 1000.0
    motion: MotionRules = field(default_factory=MotionRules)

    def __post_init__(self) -> None:
        if self.mode not in ("rules", "mlp"):
            raise ValueError(f"mode: {self.mode!r}, expected 'rules' or 'mlp'")
        if not 0 <= int(self.point) < 21:
            raise ValueError(f"point: {self.point} is not a keypoint index 0..20")
        if not 0.0 <= self.min_score <= 1.0:
            raise ValueError(f"min_score: {self.min_score} must be in [0, 1]")
        if len(self.image_size) != 2 or min(self.image_size) <= 0:
            raise ValueError(f"image_size: {self.image_size} must be a positive (width, height)")
        if not self.track_timeout_ms > 0:
            raise ValueError(f"track_timeout_ms: {self.track_timeout_ms} must be > 0")


class DynamicGestureRecognizer:
    """Follows one point per track over time and reports swipes / circles."""

    def __init__(self, options: DynamicOptions | None = None):
        self.options = options or DynamicOptions()
        self.mlp: GestureMLP | None = None
        if self.options.mode == "mlp":
            self.mlp = GestureMLP.load(self.options.model_path or default_model(BUILTIN_HISTORY_MODEL))
            if self.mlp.input != "history":
                raise ValueError(f"model_path: {self.options.model_path} is not a point-history model")
        self._hist: dict[int, deque] = {}
        self._last: dict[int, float] = {}

    @property
    def labels(self) -> list[str]:
        """Every name :meth:`update` can return."""
        return list(self.mlp.labels) if self.mlp is not None else list(DYNAMIC_GESTURES)

    def forget(self, track_id: int) -> None:
        self._hist.pop(track_id, None)
        self._last.pop(track_id, None)

    def reset(self) -> None:
        """Forget every track (a new video)."""
        self._hist.clear()
        self._last.clear()

    def update(self, track_id: int, timestamp_ms: float, keypoints,
               image_size: tuple[int, int] | None = None) -> GestureResult | None:
        kp = check_keypoints(keypoints)
        ts = float(timestamp_ms)
        if not np.isfinite(ts):
            raise ValueError(f"timestamp_ms: {timestamp_ms!r} is not finite")
        o = self.options
        for tid in [t for t, last in self._last.items() if ts - last > o.track_timeout_ms]:
            self.forget(tid)
        if track_id in self._last and ts < self._last[track_id]:
            raise ValueError(f"timestamp_ms: {ts} goes back in time for track {track_id}")
        h = self._hist.setdefault(track_id, deque(maxlen=256))
        self._last[track_id] = ts
        h.append((ts, kp[o.point, 0], kp[o.point, 1], hand_size(kp)))
        if self.mlp is not None:
            if len(h) < 16:
                return None
            w, hh = image_size or o.image_size
            pts = np.array([(x / w, y / hh) for _, x, y, _ in list(h)[-16:]], np.float32)
            p = self.mlp.predict_proba(pts[None])[0]
            k = int(p.argmax())
            if p[k] < o.min_score:
                return None
            return GestureResult(self.mlp.labels[k], float(p[k]), "mlp")
        while h and ts - h[0][0] > o.motion.window_ms:
            h.popleft()
        arr = np.array(h)
        res = o.motion.detect(arr[:, 1:3], float(np.median(arr[:, 3])))
        if res is None:
            return None
        h.clear()   # one result per motion: start afresh
        return GestureResult(res[0], res[1], "rules")
