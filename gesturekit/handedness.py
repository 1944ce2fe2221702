"""Handedness measured from the 21 keypoints, then voted over a track.

A 2D hand shape alone mixes up "left palm" with "right back" (a mirror image),
so the side is learned, not hard-coded: a small MLP (the gestures MLP,
:mod:`gesturekit.gestures.mlp`) on upright, wrist-relative keypoints, trained on
MediaPipe's per-crop ``handedness`` in ``hagrid12`` and ``sign-digits``, each
row also mirrored with the opposite label. Posture statistics (palms face the
camera more often than backs) are what lets it beat a coin; per frame it is
wrong often enough that :class:`HandednessVoter` accumulates evidence per track.

Train: ``python -m gesturekit.handedness --out models/handedness.npz``.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
from pathlib import Path

import numpy as np

DEFAULT_MODEL = "handedness.npz"
SIDES = ("left", "right")


def handedness_features(keypoints: np.ndarray) -> np.ndarray:
    """(N, 21, 2) pixels → (N, 42): wrist-relative, turned so wrist→middle-MCP points up
    (the same turn as :func:`gesturekit.geometry.crop_from_keypoints`), in hand-size units.
    Own code, not the gestures features, so the shipped model never drifts with them."""
    kp = np.asarray(keypoints, np.float64)
    if kp.ndim != 3 or kp.shape[1:] != (21, 2):
        raise ValueError(f"keypoints: shape {kp.shape}, expected (N, 21, 2)")
    rel = kp - kp[:, :1]
    v = rel[:, 9]
    a = np.arctan2(v[:, 0], -v[:, 1])                      # hand angle, clockwise from up
    ca, sa = np.cos(-a)[:, None], np.sin(-a)[:, None]
    x, y = rel[..., 0], rel[..., 1]
    up = np.stack([ca * x - sa * y, sa * x + ca * y], -1)   # rotate by -a
    size = np.maximum(np.linalg.norm(v, axis=1), 1e-6)[:, None, None]
    return (up / size).reshape(len(kp), 42).astype(np.float32)


def flip_side(side: str | None) -> str | None:
    return {"left": "right", "right": "left"}.get(side, side) if side else side


class HandednessClassifier:
    """``predict(kp (N, 21, 2)) -> P(right) (N,)`` from a shipped ``handedness.npz`` (+ ``.json``)."""

    def __init__(self, model_path: str | Path | None = None):
        from .gestures.mlp import load_helper_mlp

        self.mlp, self.path = load_helper_mlp(model_path, DEFAULT_MODEL, SIDES)
        self._right = self.mlp.labels.index("right")

    def prob_right(self, keypoints: np.ndarray) -> np.ndarray:
        """P(right hand) per hand, for the image as it is (not mirrored)."""
        kp = np.asarray(keypoints, np.float64)
        if kp.ndim == 2:
            kp = kp[None]
        if len(kp) == 0:
            return np.zeros(0, np.float32)
        return self.mlp.predict_proba_features(handedness_features(kp))[:, self._right].astype(np.float32)

    def predict(self, keypoints: np.ndarray) -> tuple[list[str], np.ndarray]:
        """(labels, score of the label) per hand."""
        p = self.prob_right(keypoints)
        return [SIDES[int(v >= 0.5)] for v in p], np.maximum(p, 1 - p)


class HandednessVoter:
    """Per-track vote: sums the log-odds of each frame's P(right), with a slow decay so a
    wrong early guess is outvoted and a track that changes hands (an id swap) recovers.

    ``update(track_id, p_right) -> (label, confidence)``.
    """

    def __init__(self, decay: float = 0.97, clip: float = 4.0):
        if not 0 < decay <= 1:
            raise ValueError(f"decay: {decay} must be in (0, 1]")
        self.decay, self.clip = decay, clip
        self._logit: dict[int, float] = {}

    def update(self, track_id: int, p_right: float) -> tuple[str, float]:
        p = min(max(float(p_right), 1e-4), 1 - 1e-4)
        z = math.log(p / (1 - p))
        s = self._logit.get(track_id, 0.0) * self.decay + z
        s = max(-self.clip * 5, min(self.clip * 5, s))  # bounded: a changed hand is relearned in ~1 s
        self._logit[track_id] = s
        pr = 1.0 / (1.0 + math.exp(-s))
        return ("right", pr) if pr >= 0.5 else ("left", 1.0 - pr)

    def forget(self, track_id: int) -> None:
        self._logit.pop(track_id, None)

    def reset(self) -> None:
        self._logit.clear()


# --- training -----------------------------------------------------------------------------

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


def mirror(kp: np.ndarray) -> np.ndarray:
    """Keypoints of the horizontally mirrored image (the side flips; no point is renamed)."""
    out = np.array(kp, np.float64, copy=True)
    out[..., 0] = -out[..., 0]
    return out


def regress_keypoints(images: list[Path], guide: np.ndarray, model: str | Path, threads: int | None = None
                      ) -> np.ndarray:
    """Our regressor's keypoints for each image, cropped as the tracker would around ``guide`` points
    (the crops are tight, so the image is padded by half its size first)."""
    import cv2

    from .geometry import crop_from_keypoints
    from .landmarks import CROP_SCALE, LandmarkRegressor

    reg = LandmarkRegressor(model, threads=threads)
    out = np.zeros_like(guide)
    for i, (p, g) in enumerate(zip(images, guide)):
        img = cv2.imread(str(p), cv2.IMREAD_COLOR)
        if img is None:
            raise ValueError(f"{p}: cannot decode image")
        pad = max(img.shape[:2]) // 2
        img = cv2.copyMakeBorder(img, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        kp, _ = reg.predict(img, [crop_from_keypoints(g + pad, CROP_SCALE)])
        out[i] = kp[0] - pad
    return out


def train(csvs: list[Path], out: Path, seed: int = 0, val_fraction: float = 0.2, epochs: int = 60,
          regressor: str | Path | None = None) -> dict:
    """Train on ``csvs`` (+ mirrored copies), report held-out accuracy, save ``out``.

    ``regressor``: learn from our keypoint model's points on the same images instead of
    MediaPipe's (the tracker feeds the classifier our points, whose detail differs)."""
    from .gestures.mlp import TrainOptions, accuracy, stratified_split, train_mlp

    images: list[Path] = []
    parts = [read_mediapipe_csv(p, images) for p in csvs]
    kp = np.concatenate([p[0] for p in parts])
    kp_mediapipe = kp
    if regressor is not None:
        kp = regress_keypoints(images, kp, regressor)
    y = np.concatenate([p[1] for p in parts])
    src = np.concatenate([np.full(len(p[1]), i) for i, p in enumerate(parts)])
    tr, va = stratified_split(np.char.add(y.astype(str), src.astype(str)), val_fraction, seed)
    # mirrored copies: free labels of the other side, and a model with no side prior
    x_tr = handedness_features(np.concatenate([kp[tr], mirror(kp[tr])]))
    y_tr = np.concatenate([y[tr], [flip_side(s) for s in y[tr]]])
    opts = TrainOptions(hidden=(64, 32), epochs=epochs, seed=seed, noise=0.01,
                        extra={"task": "handedness", "features": "gesturekit.handedness.handedness_features",
                               "sources": [Path(p).parent.name + "/" + Path(p).name for p in csvs]})
    model = train_mlp(x_tr, y_tr, opts, classes=list(SIDES))
    res = {"train_rows": len(x_tr), "held_out_rows": len(va)}
    labels = np.array(model.labels)
    pm = labels[model.predict_proba_features(handedness_features(mirror(kp[va]))).argmax(1)]
    p = labels[model.predict_proba_features(handedness_features(kp[va])).argmax(1)]
    res["held_out_acc"], res["held_out_macro"] = accuracy(p, y[va])
    res["mirrored_acc"], res["mirrored_macro"] = accuracy(pm, np.array([flip_side(s) for s in y[va]]))
    for i, c in enumerate(csvs):
        m = src[va] == i
        if m.any():
            res[f"held_out_acc[{Path(c).parent.name}]"] = float((p[m] == y[va][m]).mean())
    # per-row confidence bins: how often a confident answer is right (the voter relies on it)
    conf = model.predict_proba_features(handedness_features(kp[va])).max(1)
    hi = conf >= 0.8
    if regressor is not None:
        pmp = labels[model.predict_proba_features(handedness_features(kp_mediapipe[va])).argmax(1)]
        res["held_out_acc_on_mediapipe_points"] = float((pmp == y[va]).mean())
        res["keypoints_from"] = str(regressor)
    res["share_conf>=0.8"] = float(hi.mean())
    res["acc_conf>=0.8"] = float((p[hi] == y[va][hi]).mean()) if hi.any() else float("nan")
    model.meta.update({k: round(v, 4) if isinstance(v, float) else v for k, v in res.items()})
    model.save(out)
    return res


def main(argv: list[str] | None = None) -> int:
    data = Path(__file__).resolve().parents[2] / "shared" / "data"
    ap = argparse.ArgumentParser(prog="python -m gesturekit.handedness", description=__doc__.split("\n")[0])
    ap.add_argument("--csv", type=Path, nargs="+", default=[data / "hagrid12" / "keypoints_mediapipe.csv",
                                                            data / "sign-digits" / "keypoints_mediapipe.csv"])
    ap.add_argument("--out", type=Path, default=Path("models") / DEFAULT_MODEL)
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--regressor", help="learn from this keypoint model's points instead of MediaPipe's")
    a = ap.parse_args(argv)
    print(json.dumps(train(a.csv, a.out, a.seed, epochs=a.epochs, regressor=a.regressor), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
