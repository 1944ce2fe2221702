"""Rule-based static gestures from finger states (:func:`~.features.hand_features`).

Each gesture is a finger template (thumb, index, middle, ring, little: 1 = extended,
0 = curled, None = either) times optional geometric factors; its score in [0, 1]
is ``0.5 * min + 0.5 * mean`` of the per-finger matches, times the factors. The
best score wins; below ``min_score`` the answer is ``"none"``.

The features are invariant to scale, in-plane rotation, hand side and palm/back
facing, with one documented exception: ``thumbs_up`` vs ``thumbs_down`` is read
from the thumb's direction in the *image* (y down), since "up" is an image axis.
A thumb pointing sideways scores low for both.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .features import HandFeatures, _ramp, hand_features

STATIC_GESTURES = ("open_palm", "stop", "fist", "point", "victory", "thumbs_up", "thumbs_down",
                   "ok", "call", "rock", "i_love_you", "pinch", "none")


@dataclass(frozen=True)
class Rule:
    """A finger template plus extra factors, each ``HandFeatures -> [0, 1]``."""

    name: str
    fingers: tuple  # 5 × (1 | 0 | None)
    factors: tuple[Callable[[HandFeatures], float], ...] = ()

    def score(self, f: HandFeatures) -> float:
        m = [f.extended[i] if t == 1 else 1.0 - f.extended[i]
             for i, t in enumerate(self.fingers) if t is not None]
        s = 0.5 * min(m) + 0.5 * float(np.mean(m)) if m else 1.0
        for fac in self.factors:
            s *= fac(f)
        return float(np.clip(s, 0.0, 1.0))


def _spread(f: HandFeatures) -> float:     # fingers apart
    return _ramp(f.spread, 0.26, 0.42)


def _together(f: HandFeatures) -> float:   # fingers side by side, thumb not splayed out
    return _ramp(f.spread, 0.42, 0.26)


def _thumb_up(f: HandFeatures) -> float:
    return _ramp(-f.thumb_dir[1], 0.35, 0.75)


def _thumb_down(f: HandFeatures) -> float:
    return _ramp(f.thumb_dir[1], 0.35, 0.75)


def _thumb_index_touch(f: HandFeatures) -> float:
    return _ramp(f.tip_dist[0, 1], 0.45, 0.25)


def _victory_v(f: HandFeatures) -> float:
    return _ramp(f.tip_dist[1, 2], 0.15, 0.3)


def _thumb_index_pinched(f: HandFeatures) -> float:
    # HaGRID's ok crops, a real thumb-index touch, put the tips a median 0.21 hand sizes apart
    # through our keypoints (p25 0.15, p75 0.34): 0.3 -> 0.15 scored 0.5 on only 55 % of them.
    # At 0.4 -> 0.2, 71 %; pinch reads on 0.8 % of all 14,000 HaGRID crops (0.6 % before).
    return _ramp(f.tip_dist[0, 1], 0.4, 0.2)


def _index_tip_off_its_knuckle(f: HandFeatures) -> float:
    # A pinch holds the index tip out to meet the thumb; a fist folds it onto its knuckle, the
    # thumb over it. Through our keypoints (tips within 0.3 hand sizes): HaGRID fists p90 0.32
    # from the knuckle, the pinches of the volctl clip p10 0.36. Reach from the wrist does not
    # tell them apart (medians 0.68 and 0.70).
    return _ramp(f.fold[1], 0.25, 0.4)


BUILTIN_RULES: tuple[Rule, ...] = (
    Rule("open_palm", (1, 1, 1, 1, 1), (lambda f: max(_spread(f), 0.6 * f.extended[0]),)),
    Rule("stop", (None, 1, 1, 1, 1), (_together, lambda f: 1.0 - 0.5 * f.extended[0])),
    Rule("fist", (0, 0, 0, 0, 0)),
    Rule("point", (None, 1, 0, 0, 0)),
    Rule("victory", (None, 1, 1, 0, 0), (_victory_v,)),
    Rule("thumbs_up", (1, 0, 0, 0, 0), (_thumb_up,)),
    Rule("thumbs_down", (1, 0, 0, 0, 0), (_thumb_down,)),
    Rule("ok", (None, None, 1, 1, 1), (_thumb_index_touch,)),
    Rule("call", (1, 0, 0, 0, 1)),
    Rule("rock", (0, 1, 0, 0, 1)),
    Rule("i_love_you", (1, 1, 0, 0, 1)),
    Rule("pinch", (None, None, 0, 0, 0), (_thumb_index_pinched, _index_tip_off_its_knuckle)),
)


class RuleClassifier:
    """Scores every rule and returns the best (name, score); ``("none", 1 - best)``
    when the best is below ``min_score``."""

    def __init__(self, rules: tuple[Rule, ...] = BUILTIN_RULES, min_score: float = 0.5):
        if not 0.0 <= min_score <= 1.0:
            raise ValueError(f"min_score: {min_score} is outside [0, 1]")
        names = [r.name for r in rules]
        if len(set(names)) != len(names):
            raise ValueError(f"rules: duplicate names in {names}")
        self.rules = tuple(rules)
        self.min_score = float(min_score)

    @property
    def labels(self) -> list[str]:
        return [r.name for r in self.rules] + ["none"]

    def scores(self, keypoints) -> dict[str, float]:
        f = hand_features(keypoints)
        return {r.name: r.score(f) for r in self.rules}

    def classify(self, keypoints) -> tuple[str, float]:
        return self.pick(self.scores(keypoints))

    def pick(self, scores: dict[str, float]) -> tuple[str, float]:
        """The best of ``scores`` (from :meth:`scores`, or a subset), or ``("none", 1 - best)``."""
        name = max(scores, key=scores.get)
        if scores[name] < self.min_score:
            return "none", 1.0 - scores[name]
        return name, scores[name]
