"""Is this new candidate a hand? A presence score from what the tracker already has.

The detector's score and the keypoint network's mean confidence each separate hands
from arms, faces and clutter only so far. A hand also has a hand's skeleton: bones of
plausible lengths relative to the palm. A small MLP (the gestures MLP,
:mod:`gesturekit.gestures.mlp`) reads the confidences, the detector score and the bone
lengths of a candidate and gives P(hand); the tracker gates new hands on it
(``TrackerOptions.min_presence_confidence``), as MediaPipe gates on its hand-presence head.

Training candidates are what the tracker itself makes: the shipped detector and keypoint
model run on hands26k train photos (positives: the candidate that matches the labelled
hand) and on EgoHands *train* frames with every labelled hand painted out (negatives:
everything found there; arms, faces, cards and tables stay). EgoHands val frames and
hands26k val photos are the held-out check.

Train: ``python -m gesturekit.presence --out models/presence.npz``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np

from .geometry import box_of, degenerate
from .layouts import HAND_21
from .runtime import file_id

DEFAULT_MODEL = "presence.npz"
LABELS = ("hand", "not_hand")
_EDGES = np.asarray(HAND_21.edges)


def presence_features(keypoints: np.ndarray, confidence: np.ndarray, det_score: np.ndarray) -> np.ndarray:
    """(N, 21, 2) px, (N, 21), (N,) → (N, 32): confidence statistics, the detector score,
    bone lengths and the keypoint box side, both in palm lengths (wrist → middle MCP)."""
    kp = np.asarray(keypoints, np.float64)
    c = np.asarray(confidence, np.float64)
    s = np.asarray(det_score, np.float64).reshape(-1, 1)
    if kp.ndim != 3 or kp.shape[1:] != (21, 2) or c.shape != kp.shape[:2] or len(s) != len(kp):
        raise ValueError(f"presence_features: shapes {kp.shape}, {c.shape}, {s.shape} do not fit 21 points")
    palm = np.maximum(np.linalg.norm(kp[:, 0] - kp[:, 9], axis=1), 1e-6)[:, None]
    bones = np.linalg.norm(kp[:, _EDGES[:, 0]] - kp[:, _EDGES[:, 1]], axis=2) / palm
    side = np.ptp(kp, axis=1).max(1, keepdims=True) / palm
    stats = np.stack([c.mean(1), c.min(1), np.median(c, 1), c.std(1)], 1)
    # a hand with a palm of ~0 px gives huge ratios: clip so one bad point cannot dominate
    return np.concatenate([stats, np.sort(c, 1)[:, :5], s, np.clip(np.concatenate([bones, side], 1), 0, 8)],
                          1).astype(np.float32)


class PresenceClassifier:
    """``prob(kp, conf, det_score) -> P(hand) (N,)`` from a shipped ``presence.npz`` (+ ``.json``)."""

    def __init__(self, model_path: str | Path | None = None):
        from .gestures.mlp import load_helper_mlp

        self.mlp, self.path = load_helper_mlp(model_path, DEFAULT_MODEL, LABELS)
        self._hand = self.mlp.labels.index("hand")

    def prob(self, keypoints: np.ndarray, confidence: np.ndarray, det_score: np.ndarray) -> np.ndarray:
        if len(keypoints) == 0:
            return np.zeros(0, np.float32)
        f = presence_features(keypoints, confidence, det_score)
        p = self.mlp.predict_proba_features(f)[:, self._hand].astype(np.float32)
        # a candidate whose points or score are not numbers, or whose points sit on one spot (its
        # ratio features all 0), is no hand: P 0, not NaN or whatever the net makes of it
        collapsed = np.array([degenerate(box_of(np.asarray(k, np.float64))) for k in keypoints])
        return np.where(np.isfinite(f).all(1) & ~collapsed, p, np.float32(0.0))


# --- training ------------------------------------------------------------------------------------

def paint_out(frame: np.ndarray, boxes: np.ndarray, grow: float = 0.2) -> np.ndarray:
    """``frame`` with every box (grown by ``grow`` of its size) filled with the frame's blurred
    mean colour there: a hand-free frame that keeps the arms, faces and clutter around."""
    out = frame.copy()
    fill = cv2.blur(frame, (61, 61))
    h, w = frame.shape[:2]
    for x1, y1, x2, y2 in np.asarray(boxes, np.float64).reshape(-1, 4):
        gx, gy = grow * (x2 - x1), grow * (y2 - y1)
        a, b = int(max(0, x1 - gx)), int(max(0, y1 - gy))
        c, d = int(min(w, x2 + gx)), int(min(h, y2 + gy))
        if c > a and d > b:
            out[b:d, a:c] = fill[b:d, a:c].mean((0, 1))
    return out


def candidates(tracker, frame: np.ndarray, top: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What the tracker would weigh as new hands in ``frame``: keypoints, confidences, scores."""
    dets, kp, conf = tracker.candidates(frame, top)
    return kp, conf, np.array([d[1] for d in dets], np.float32)


def motion_blurred(share: float, seed: int = 0):
    """``image -> image`` that motion-blurs ``share`` of the images it gets (5–15 px streaks, any
    direction; albumentations, seeded): a webcam sees a moving hand smeared, while hands26k's
    photos are mostly sharp, and a gate trained on sharp hands only refused blurred ones."""
    from .errors import missing_extra

    try:
        import albumentations as A
    except ImportError as e:
        raise missing_extra("train", "albumentations") from e
    blur = A.Compose([A.MotionBlur(blur_limit=(5, 15), p=share)], seed=seed)
    return lambda img: blur(image=img)["image"]


def collect(tracker, hand_photos: list, hand_free: list[np.ndarray],
            prepare=None) -> tuple[np.ndarray, np.ndarray]:
    """Features and labels: candidates matching a labelled hand (IoU ≥ 0.5) are ``hand``; every
    candidate on a hand-free frame is ``not_hand``; the rest (a hand boxed badly, or an unlabelled
    second hand) are left out as ambiguous. ``prepare`` (e.g. :func:`motion_blurred`) changes
    each hand photo before it is read."""
    from .geometry import box_of, iou
    from .io.sample import boxes_from_keypoints

    xs, ys = [], []
    for s in hand_photos:
        img = cv2.imread(str(s.image))
        if img is None:
            continue
        if prepare is not None:
            img = prepare(img)
        gts = boxes_from_keypoints(s.keypoints, s.visible)
        kp, conf, sc = candidates(tracker, img)
        for i, k in enumerate(kp):
            if max((iou(box_of(k), g) for g in gts), default=0.0) >= 0.5:
                xs.append(presence_features(kp[i:i + 1], conf[i:i + 1], sc[i:i + 1]))
                ys.append("hand")
    for f in hand_free:
        kp, conf, sc = candidates(tracker, f)
        if len(kp):
            xs.append(presence_features(kp, conf, sc))
            ys += ["not_hand"] * len(kp)
    return np.concatenate(xs), np.asarray(ys)


def hand_free_frames(egohands: str | Path, split: str, augment: bool = False) -> list[np.ndarray]:
    """EgoHands frames of ``split`` ("train" or "val", :func:`~gesturekit.train.detector_data.frame_split`)
    with every labelled hand painted out, at 640×360; ``augment`` adds mirrored and zoomed copies."""
    from .io.boxes import read_boxes
    from .train.detector_data import frame_split

    if split not in ("train", "val"):
        raise ValueError(f"split: {split!r} is not 'train' or 'val'")
    samples = read_boxes(Path(egohands))
    tr, va = frame_split([Path(s.image).name for s in samples])
    keep = set(tr if split == "train" else va)
    out = []
    for s in samples:
        if Path(s.image).name not in keep:
            continue
        f = cv2.resize(paint_out(cv2.imread(str(s.image)), s.boxes), (640, 360), interpolation=cv2.INTER_AREA)
        out.append(f)
        if augment:  # more negatives from the same frames: mirrored, and zoomed into each half
            out.append(f[:, ::-1].copy())
            out += [cv2.resize(f[:, x:x + 320], (640, 720), interpolation=cv2.INTER_LINEAR)[180:540]
                    for x in (0, 320)]
    return out


def train(data: Path, out: Path, n_photos: int = 1500, seed: int = 0, epochs: int = 200,
          blur_share: float = 0.0) -> dict:
    """Collect candidates with the shipped models, train the MLP, report held-out figures, save.
    ``blur_share`` of the training hand photos are motion-blurred first (:func:`motion_blurred`)."""
    if not 0.0 <= blur_share <= 1.0:
        raise ValueError(f"blur_share: must lie in [0, 1], got {blur_share}")
    from .gestures.mlp import TrainOptions, train_mlp
    from .io import read_yolo_pose, seeded_subset
    from .tracker import HandTracker, TrackerOptions

    tracker = HandTracker(TrackerOptions(presence_model="", handedness_model="", gestures=False))
    photos = seeded_subset(read_yolo_pose(data / "hands26k" / "train", sizes=(224, 224)), n_photos, seed)
    x, y = collect(tracker, photos, hand_free_frames(data / "egohands", "train", augment=True),
                   motion_blurred(blur_share, seed) if blur_share else None)
    opts = TrainOptions(hidden=(32, 16), epochs=epochs, seed=seed, noise=0.01,
                        extra={"task": "presence", "features": "gesturekit.presence.presence_features",
                               "blur_share": blur_share,
                               # the features read these models' outputs: retrain when either changes
                               "keypoint_model": file_id(tracker.regressor.path),
                               "detector_model": file_id(tracker.detector.runner.path)})
    model = train_mlp(x, y, opts, input="features", classes=list(LABELS))
    # held out: hands26k val photos and EgoHands val frames (hand-free)
    vx, vy = collect(tracker, seeded_subset(read_yolo_pose(data / "hands26k" / "val", sizes=(224, 224)),
                                            600, seed), hand_free_frames(data / "egohands", "val", False))
    p = model.predict_proba_features(vx)[:, model.labels.index("hand")]
    conf = vx[:, 0]
    pos, neg = vy == "hand", vy == "not_hand"
    res = {"train_rows": len(y), "train_hands": int((y == "hand").sum()), "held_out_hands": int(pos.sum()),
           "held_out_not_hands": int(neg.sum())}
    for name, score in (("presence", p), ("mean_conf", conf)):
        for q in (0.9, 0.95, 0.98):
            thr = float(np.quantile(score[neg], q))
            res[f"{name}: hands kept at {1 - q:.0%} of not-hands passing"] = round(float((score[pos] > thr).mean()), 4)
    for thr in (0.3, 0.5, 0.7):
        res[f"presence>={thr}: hands kept / not-hands passing"] = (round(float((p[pos] >= thr).mean()), 4),
                                                                   round(float((p[neg] >= thr).mean()), 4))
    model.meta.update({k: v for k, v in res.items() if not isinstance(v, tuple)})
    model.save(out)
    return res


def main(argv: list[str] | None = None) -> int:
    data = Path(__file__).resolve().parents[2] / "shared" / "data"
    ap = argparse.ArgumentParser(prog="python -m gesturekit.presence", description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=data, help="folder holding hands26k/ and egohands/")
    ap.add_argument("--out", type=Path, default=Path("models") / DEFAULT_MODEL, help="the gate's .npz (its .json beside it)")
    ap.add_argument("--photos", type=int, default=1500, help="hands26k train photos for positives")
    ap.add_argument("--epochs", type=int, default=200)
    ap.add_argument("--blur-share", type=float, default=0.0, help="share of hand photos motion-blurred first")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    if a.out.suffix != ".npz":  # before minutes of collecting candidates, not after
        ap.error(f"--out: {a.out} must end in .npz")
    print(json.dumps(train(a.data, a.out, a.photos, a.seed, a.epochs, a.blur_share), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
