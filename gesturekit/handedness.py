"""Handedness: the chirality of the points, and which way the hand faces; voted over a track.

In 2D a left palm and a right back are the same shape, mirrored. So the side is
two facts: the points' **chirality** (:func:`chirality`: on which side of the
wrist → index knuckle line the little finger's knuckle lies), which the keypoints
give exactly, and whether the **palm or the back** faces the camera, which only the
look of the hand gives (nails, knuckles, creases). A small CNN
(:mod:`gesturekit.nn.facing_net`) reads the facing on the upright 80 px crop the
hand's keypoints give; :func:`side_probability` joins the two.

The facing labels come from a teacher: MediaPipe's per-crop side on HaGRID,
sign-digit and hands26k photos, with its own points' chirality. A first,
keypoint-only classifier learned the posture statistics instead (palms face the
camera) and read the back of every hand on the desk and first-person clips as the
other side; a CNN asked for the side directly did the same (docs/tracker.md).
Per frame the answer can still be wrong, so :class:`HandednessVoter` accumulates
evidence per track.

Train: ``gesturekit train handedness`` (models/HELPER_MODELS.md).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import cv2
import numpy as np

from .geometry import crop_from_keypoints

DEFAULT_MODEL = "handedness.onnx"
SIDES = ("left", "right")
CROP_SIZE = 80
# tighter than the keypoint crop (1.5): the facing is in the hand's own pixels, not its surroundings
CROP_SCALE = 1.2
# the chirality's sign is trusted gradually (a logistic of this width): a hand seen edge-on,
# |chirality| of about this or less, stays near P(right) 0.5 whatever it faces
CHIRALITY_SOFTNESS = 0.1


def chirality(keypoints: np.ndarray) -> np.ndarray:
    """(N, 21, 2) image pixels (y down) → (N,) sine of the turn from wrist → index knuckle to
    wrist → little-finger knuckle: > 0 for a left palm or a right back, < 0 for a right palm or a
    left back, near 0 edge-on. Mirroring the image flips its sign."""
    kp = np.asarray(keypoints, np.float64)
    if kp.ndim != 3 or kp.shape[1:] != (21, 2):
        raise ValueError(f"keypoints: shape {kp.shape}, expected (N, 21, 2)")
    a, b = kp[:, 5] - kp[:, 0], kp[:, 17] - kp[:, 0]
    cross = a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]
    return cross / np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1), 1e-9)


def side_probability(p_back: np.ndarray, chir: np.ndarray, softness: float = CHIRALITY_SOFTNESS) -> np.ndarray:
    """P(right hand) from P(back toward the camera) and the points' :func:`chirality`."""
    right_if_palm = 1.0 / (1.0 + np.exp(np.asarray(chir, np.float64) / softness))  # chirality < 0
    p_back = np.asarray(p_back, np.float64)
    return ((1.0 - p_back) * right_if_palm + p_back * (1.0 - right_if_palm)).astype(np.float32)


def side_crop(frame: np.ndarray, keypoints: np.ndarray, size: int = CROP_SIZE) -> np.ndarray:
    """The upright ``size`` px BGR crop the facing network reads for one hand (21 points, frame pixels),
    of side :data:`CROP_SCALE` × the hand's upright keypoint box.

    Warped at up to 4× the size, then area-averaged down: a 600 px hand read straight
    at 80 px would alias its nails and creases away."""
    c = crop_from_keypoints(np.asarray(keypoints, np.float64), CROP_SCALE)
    k = int(min(4, max(1, c.size // size)))
    patch = c.warp(frame, size * k)
    return cv2.resize(patch, (size, size), interpolation=cv2.INTER_AREA) if k > 1 else patch


def crops_to_batch(crops: np.ndarray) -> np.ndarray:
    """(N, S, S, 3) BGR uint8 → (N, 3, S, S) float32 RGB 0..1, the network's input."""
    return np.ascontiguousarray(np.asarray(crops)[..., ::-1].transpose(0, 3, 1, 2), np.float32) * (1.0 / 255.0)


def flip_side(side: str | None) -> str | None:
    return {"left": "right", "right": "left"}.get(side, side) if side else side


class HandednessClassifier:
    """``prob_right(frame, keypoints (N, 21, 2)) -> P(right) (N,)``: the points' chirality joined
    with the facing the shipped ``handedness.onnx`` reads on each hand's crop."""

    def __init__(self, model_path: str | Path | None = None, backend: str = "auto", threads: int | None = None,
                 spin_wait: bool = True, device: str = "auto"):
        from .runtime import Runner, default_model, require_outputs

        self.path = Path(model_path) if model_path is not None else default_model(DEFAULT_MODEL, backend, device)
        self.runner = Runner.load(self.path, backend, device, threads=threads, task="handedness",
                                  spin_wait=spin_wait)
        require_outputs(self.runner, {"p_back"})
        size = self.runner.input_size
        self.input_size = int(size if isinstance(size, int) else size[0])

    def prob_back(self, frame: np.ndarray, keypoints: np.ndarray) -> np.ndarray:
        """P(the back of the hand faces the camera) per hand; ``frame`` is any image
        :func:`gesturekit.images.as_bgr_uint8` accepts."""
        from .images import as_bgr_uint8

        kp = self._points(keypoints)
        if len(kp) == 0:
            return np.zeros(0, np.float32)
        frame = as_bgr_uint8(frame)
        ok = np.isfinite(kp).all((1, 2))
        blank = np.zeros((self.input_size, self.input_size, 3), np.uint8)
        crops = np.stack([side_crop(frame, k, self.input_size) if good else blank for k, good in zip(kp, ok)])
        p = self.runner(crops_to_batch(crops))["p_back"].reshape(-1).astype(np.float32)
        return np.where(ok, p, np.float32(0.5))  # points that are not numbers tell nothing

    def prob_right(self, frame: np.ndarray, keypoints: np.ndarray) -> np.ndarray:
        """P(right hand) per hand, for the image as it is (not mirrored)."""
        kp = self._points(keypoints)
        if len(kp) == 0:
            return np.zeros(0, np.float32)
        p = side_probability(self.prob_back(frame, kp), chirality(kp))
        return np.where(np.isfinite(p), p, np.float32(0.5))

    def predict(self, frame: np.ndarray, keypoints: np.ndarray) -> tuple[list[str], np.ndarray]:
        """(labels, score of the label) per hand."""
        p = self.prob_right(frame, keypoints)
        return [SIDES[int(v >= 0.5)] for v in p], np.maximum(p, 1 - p)

    @staticmethod
    def _points(keypoints: np.ndarray) -> np.ndarray:
        kp = np.asarray(keypoints, np.float64)
        kp = kp[None] if kp.ndim == 2 else kp
        if kp.ndim != 3 or kp.shape[1:] != (21, 2):
            raise ValueError(f"keypoints: shape {kp.shape}, expected (N, 21, 2)")
        return kp


class HandednessVoter:
    """Per-track vote: sums the log-odds of each reading's P(right), with a slow decay so a
    wrong early guess is outvoted and a track that changes hands (an id swap) recovers.

    ``update(track_id, p_right) -> (label, confidence)`` adds a reading. With ``every`` > 1 a
    stream reads a followed hand only when :meth:`due` (its track's first frame, then every
    ``every``-th :meth:`tick`, all tracks on the same frames so their reads share one batch) and
    passes ``None`` to :meth:`vote` in between, which holds the vote: a followed hand does not
    change sides, and a reading costs a crop and a network run.
    """

    def __init__(self, decay: float = 0.97, clip: float = 4.0, every: int = 1):
        if not 0 < decay <= 1:
            raise ValueError(f"decay: {decay} must be in (0, 1]")
        if not isinstance(every, int) or isinstance(every, bool) or every < 1:
            raise ValueError(f"every: {every!r} must be an int >= 1")
        self.decay, self.clip, self.every = decay, clip, every
        self._logit: dict[int, float] = {}
        self._ticks = 0

    def tick(self) -> None:
        """One more frame of the stream."""
        self._ticks += 1

    def due(self, track_id: int) -> bool:
        return track_id not in self._logit or self._ticks % self.every == 0

    def update(self, track_id: int, p_right: float, decay: float | None = None) -> tuple[str, float]:
        if not math.isfinite(float(p_right)):   # min/max would turn NaN into a sure "right"
            return self._label(self._logit.get(track_id, 0.0))
        p = min(max(float(p_right), 1e-4), 1 - 1e-4)
        z = math.log(p / (1 - p))
        s = self._logit.get(track_id, 0.0) * (self.decay if decay is None else decay) + z
        s = max(-self.clip * 5, min(self.clip * 5, s))  # bounded: a changed hand is relearned in ~1 s
        self._logit[track_id] = s
        return self._label(s)

    def vote(self, track_id: int, p_right: float | None) -> tuple[str, float]:
        """Add a reading (the decay between readings is every frame's, so the vote's memory lasts
        as long in time), or with ``None`` return the vote as it stands."""
        if p_right is None:
            return self._label(self._logit[track_id])
        return self.update(track_id, p_right, self.decay ** self.every)

    @staticmethod
    def _label(s: float) -> tuple[str, float]:
        pr = 1.0 / (1.0 + math.exp(-s))
        return ("right", pr) if pr >= 0.5 else ("left", 1.0 - pr)

    def forget(self, track_id: int) -> None:
        self._logit.pop(track_id, None)

    def reset(self) -> None:
        self._logit.clear()
        self._ticks = 0


# --- labels -------------------------------------------------------------------------------

def read_mediapipe_csv(path: str | Path, images: list | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(keypoints (N, 21, 2), labels (N,) "left"/"right") from a ``keypoints_mediapipe.csv``;
    the image paths of the rows are appended to ``images`` when it is given."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: keypoint CSV not found")
    kps, labels = [], []
    with path.open(newline="") as f:
        for ln, row in enumerate(csv.DictReader(f), 2):
            side = row.get("handedness", "").strip().lower()
            if side not in SIDES:
                continue
            try:
                kp = np.array([[float(row[f"x{i}"]), float(row[f"y{i}"])] for i in range(21)])
            except (KeyError, ValueError) as e:
                raise ValueError(f"{path}:{ln}: bad keypoint value ({e})") from None
            if np.isfinite(kp).all() and np.linalg.norm(kp[9] - kp[0]) > 1e-3:
                kps.append(kp)
                labels.append(side)
                if images is not None:
                    images.append(path.parent / row["image"])
    return np.array(kps, np.float64).reshape(-1, 21, 2), np.array(labels)
