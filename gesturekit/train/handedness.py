"""Train the facing CNN of :mod:`gesturekit.handedness` and export ``models/handedness.onnx``.

Teacher labels: MediaPipe's per-crop side (the image as it is) in the ``keypoints_mediapipe.csv``
of ``hagrid12`` and ``sign-digits``, and in ``bench/mediapipe_handedness.py``'s CSV for hands26k
photos (backs of hands, spread fingers, desk views). The side and the teacher's own points'
chirality give the facing: a right hand with chirality > 0, or a left one with < 0, shows its
back. Hands seen edge-on (|chirality| < :data:`EDGE_ON`) have no facing to learn and are scored
only for their side. Each crop is taken as the tracker takes it: around **our regressor's
points** (:func:`read_hands`), cut by :func:`gesturekit.handedness.side_crop`; half the
training crops are drawn mirrored (a mirror changes the side, not the facing).

    gesturekit train handedness --out models/handedness    (or python -m gesturekit.train.handedness)
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np
import torch

from ..geometry import crop_from_keypoints
from ..gestures.mlp import stratified_split
from ..handedness import (
    CROP_SCALE,
    CROP_SIZE,
    chirality,
    crops_to_batch,
    read_mediapipe_csv,
    side_crop,
    side_probability,
)
from ..landmarks import CROP_SCALE as KEYPOINT_CROP_SCALE
from ..landmarks import DEFAULT_MODEL, LandmarkRegressor
from ..nn import create_model
from ..runtime import default_model, file_id
from .export import export_model
from .loop import TrainConfig, fit, seed_everything

EDGE_ON = 0.15  # |chirality| of the teacher's points below which a hand's facing is not learned


def _load_padded(path: Path) -> tuple[np.ndarray, int]:
    """(image padded by half its size, the pad): HaGRID crops are cut tight around the hand."""
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError(f"{path}: cannot decode image")
    pad = max(img.shape[:2]) // 2
    return cv2.copyMakeBorder(img, pad, pad, pad, pad, cv2.BORDER_REPLICATE), pad


def read_hands(images: list[Path], guide: np.ndarray, regressor: str | Path | None = None,
               teacher_points: bool = False, copies: int = 4, seed: int = 0, size: int = CROP_SIZE,
               threads: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(points (N, 21, 2), crops (N, 1 + copies, S, S, 3) BGR uint8) per image, each decoded once.

    The points are our regressor's, read on the crop the tracker would take around the ``guide``
    (teacher's) points, or with ``teacher_points`` the guide itself. The crops are each hand's side
    crop, then ``copies`` crops of its points moved as a tracker's reading moves (shift σ 5 % of
    the hand, scale σ 10 %, turn σ 9°)."""
    reg = None if teacher_points else LandmarkRegressor(regressor, threads=threads)
    rng = np.random.default_rng(seed)
    points = np.array(guide, np.float64, copy=True)
    crops = np.zeros((len(images), 1 + copies, size, size, 3), np.uint8)
    for i, (p, g) in enumerate(zip(images, guide)):
        img, pad = _load_padded(p)
        kp = g + pad
        if reg is not None:
            kp = reg.predict(img, [crop_from_keypoints(kp, KEYPOINT_CROP_SCALE)])[0][0].astype(np.float64)
        points[i] = kp - pad
        centre, extent = kp.mean(0), float(np.ptp(kp, 0).max())
        for j in range(1 + copies):
            moved = kp
            if j:
                a, sc = rng.normal(0, 0.15), float(np.exp(rng.normal(0, 0.1)))
                rot = sc * np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
                moved = (kp - centre) @ rot.T + centre + rng.normal(0, 0.05, 2) * extent
            crops[i, j] = side_crop(img, moved, size)
    return points, crops


class FacingCrops(torch.utils.data.Dataset):
    """(image (3, S, S) float RGB, P(back) label) per hand; in training a random one of its crops,
    mirrored half the time (the facing stays) and with brightness and contrast jitter."""

    def __init__(self, crops: np.ndarray, back: np.ndarray, train: bool, seed: int = 0):
        self.crops, self.back, self.train, self.seed, self.epoch = crops, back.astype(np.float32), train, seed, 0

    def __len__(self) -> int:
        return len(self.crops)

    def __getitem__(self, i: int):
        if not self.train:
            return crops_to_batch(self.crops[i, :1])[0], self.back[i]
        rng = np.random.default_rng((self.seed, self.epoch, i))
        img = crops_to_batch(self.crops[i, rng.integers(self.crops.shape[1])][None])[0]
        if rng.random() < 0.5:
            img = img[:, :, ::-1]
        img = (img - 0.5) * rng.uniform(0.7, 1.3) + 0.5 + rng.uniform(-0.15, 0.15, (3, 1, 1))
        return np.ascontiguousarray(np.clip(img, 0, 1), np.float32), self.back[i]


def read_sources(csvs: list[Path]) -> tuple[list[Path], np.ndarray, np.ndarray, np.ndarray]:
    """(image paths, teacher keypoints (N, 21, 2), right (N,) bool, source index (N,)) of ``csvs``."""
    images: list[Path] = []
    parts = [read_mediapipe_csv(p, images) for p in csvs]
    kp = np.concatenate([p[0] for p in parts])
    right = np.concatenate([p[1] for p in parts]) == "right"
    src = np.concatenate([np.full(len(p[1]), i) for i, p in enumerate(parts)])
    return images, kp, right, src


def prob_back(model, crops: np.ndarray, mirrored: bool = False, batch: int = 512) -> np.ndarray:
    """P(back toward the camera) for each hand's first crop (``mirrored``: the crops flipped).
    ``model``: the torch net in training, or a :class:`~gesturekit.runtime.Runner` (numpy in and out)."""
    out = []
    for s in range(0, len(crops), batch):
        x = crops_to_batch(crops[s:s + batch, 0])
        x = np.ascontiguousarray(x[..., ::-1]) if mirrored else x
        if isinstance(model, torch.nn.Module):
            out.append(model(torch.from_numpy(x))["p_back"].float().cpu().numpy().reshape(-1))
        else:
            out.append(np.asarray(model(x)["p_back"], np.float32).reshape(-1))
    return np.concatenate(out) if out else np.zeros(0, np.float32)


def hand_crops(csvs: list[Path], copies: int, seed: int, regressor: str | Path | None, teacher_points: bool,
               threads: int, cache: Path | None = None) -> dict[str, np.ndarray]:
    """Every labelled hand of ``csvs``: ``crops`` (N, 1 + copies, S, S, 3), our points ``kp``, the
    teacher's ``right`` and chirality ``chir_teacher``, and the ``source`` file index. Kept in
    ``cache`` (reused while the files, settings and regressor are the same)."""
    # the regressor by content: GESTUREKIT_MODELS or a new shipped model must not reuse old crops
    reg = "teacher" if teacher_points else file_id(regressor or default_model(DEFAULT_MODEL))
    key = json.dumps([[str(c) for c in csvs], copies, seed, reg, CROP_SIZE, CROP_SCALE])
    if cache is not None and cache.is_file():
        with np.load(cache) as z:
            if str(z["key"]) == key:
                return {k: z[k] for k in z.files if k != "key"}
    images, guide, right, src = read_sources(csvs)
    print(f"{len(images)} labelled hands from {len(csvs)} files; reading our keypoints and crops …", flush=True)
    kp, crops = read_hands(images, guide, regressor, teacher_points, copies, seed, threads=threads)
    data = {"crops": crops, "kp": kp, "right": right, "chir_teacher": chirality(guide), "source": src}
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, key=key, **data)
    return data


def side_scores(model, d: dict[str, np.ndarray], rows: np.ndarray) -> dict[str, float]:
    """Side accuracy on ``rows`` (facing from ``model``, as :func:`prob_back` takes it; chirality
    from our points, as the tracker joins them), the same rows mirrored, and facing accuracy where
    the teacher's hand is not edge-on."""
    pb, pbm = prob_back(model, d["crops"][rows]), prob_back(model, d["crops"][rows], mirrored=True)
    chir, right = chirality(d["kp"][rows]), d["right"][rows]
    facing = np.abs(d["chir_teacher"][rows]) >= EDGE_ON
    back = (d["chir_teacher"][rows] > 0) == right
    return {"side_acc": float(((side_probability(pb, chir) >= 0.5) == right).mean()),
            "side_acc_mirrored": float(((side_probability(pbm, -chir) >= 0.5) != right).mean()),
            "facing_acc": float(((pb[facing] >= 0.5) == back[facing]).mean()) if facing.any() else 0.0}


def evaluate_handedness(csvs: list[Path], model: str | Path | None = None, regressor: str | Path | None = None,
                        threads: int = 2, cache: Path | None = None, teacher_points: bool = False) -> dict:
    """Score a handedness model (default: the shipped one; ``.onnx`` or ``.pt``) on every hand of
    ``csvs`` (teacher-labelled, as for training), its crops placed by ``regressor``'s points as the
    tracker places them (``teacher_points``: by the CSVs' own): side accuracy, the same mirrored,
    and facing accuracy (:func:`side_scores`)."""
    from ..handedness import HandednessClassifier

    classifier = HandednessClassifier(model, threads=threads)
    d = hand_crops(csvs, 0, 0, regressor, teacher_points, threads, cache)
    res = side_scores(classifier.runner, d, np.arange(len(d["right"])))
    return {"model": str(classifier.path), "hands": int(len(d["right"])), **res}


def train_handedness(csvs: list[Path], out: Path, val_csvs: list[Path] = (), cfg: TrainConfig | None = None,
                     copies: int = 4, width: int = 24, val_fraction: float = 0.2,
                     regressor: str | Path | None = None, teacher_points: bool = False,
                     cache: Path | None = None) -> dict:
    """Train on ``csvs`` less a seeded, stratified ``val_fraction`` (held out), score the held-out rows
    and ``val_csvs``, and export ``out``.pt/.onnx. Returns the scores.

    Crops are placed by ``regressor``'s points (default the shipped keypoint model), or with
    ``teacher_points`` by the CSVs' own points. The best epoch is chosen on held-out side accuracy."""
    cfg = cfg or TrainConfig(epochs=14, batch_size=128, lr=3e-3, weight_decay=1e-3, out="runs/handedness",
                             monitor="side_acc")
    d = hand_crops(csvs, copies, cfg.seed, regressor, teacher_points, cfg.threads, cache)
    tr, va = stratified_split(np.char.add(d["right"].astype(str), d["source"].astype(str)), val_fraction, cfg.seed)
    tr = tr[np.abs(d["chir_teacher"][tr]) >= EDGE_ON]
    back = (d["chir_teacher"] > 0) == d["right"]
    train_set = FacingCrops(d["crops"][tr], back[tr], True, cfg.seed)
    seed_everything(cfg.seed)  # the weights' initial draw too: a seed repeats a run
    model = create_model("facing_cnn", input_size=CROP_SIZE, width=width)
    loss = torch.nn.BCEWithLogitsLoss()

    def loss_fn(m, batch):
        x, y = batch
        return loss(m(x)["logit"], y)

    def on_epoch(epoch: int) -> None:
        train_set.epoch = epoch

    cfg.workers = 0  # the crops are in memory: no decoding to hide
    fit(model, train_set, loss_fn, lambda m: side_scores(m.cpu(), d, va), cfg, on_epoch=on_epoch)
    best = torch.load(Path(cfg.out) / "best.pt", map_location="cpu", weights_only=True)
    model = create_model("facing_cnn", input_size=CROP_SIZE, width=width)
    model.load_state_dict(best["model"])
    model.eval()
    res: dict = {"train_hands": len(tr), "held_out_hands": len(va), "back_share_train": float(back[tr].mean())}
    with torch.no_grad():
        res.update({f"held_out_{k}": v for k, v in side_scores(model, d, va).items()})
        for i, c in enumerate(csvs):
            rows = va[d["source"][va] == i]
            if len(rows):
                res[f"held_out_side_acc[{_name(c)}]"] = side_scores(model, d, rows)["side_acc"]
        for c in val_csvs:
            v = hand_crops([c], 0, cfg.seed, regressor, teacher_points, cfg.threads,
                           None if cache is None else cache.with_name(cache.stem + "_val.npz"))
            res.update({f"{k}[{_name(c)}]": val for k, val in side_scores(model, v, np.arange(len(v["right"]))).items()})
    meta = {"task": "handedness", "arch": model.arch, "input_size": CROP_SIZE, "outputs": ["p_back"],
            "labels": "back of the hand toward the camera (from MediaPipe's side and its points' chirality)",
            "sources": [_name(c) for c in csvs],
            "metrics": {k: round(v, 4) if isinstance(v, float) else v for k, v in res.items()}}
    _, _, diff = export_model(model, meta, out)
    res["torch_vs_onnx_max_diff"] = diff
    print(json.dumps(res, indent=1))
    return res


def _name(path: Path) -> str:
    return f"{Path(path).parent.name}/{Path(path).name}"


def run(a: argparse.Namespace) -> int:
    missing = [str(p) for p in [*a.csv, *a.val] if not Path(p).is_file()]
    if missing:
        raise SystemExit(f"not found: {', '.join(missing)} (hands26k's sides come from bench/mediapipe_handedness.py)")
    cfg = TrainConfig(epochs=a.epochs, batch_size=128, lr=a.lr, weight_decay=1e-3, seed=a.seed, threads=a.threads,
                      out=a.runs, monitor="side_acc")
    train_handedness(a.csv, a.out, a.val, cfg, width=a.width, regressor=a.regressor, cache=a.cache)
    return 0


def main(argv: list[str] | None = None) -> int:
    from ..cli.handedness import add_arguments

    ap = argparse.ArgumentParser(prog="python -m gesturekit.train.handedness", description=__doc__.split("\n")[0])
    add_arguments(ap)
    return run(ap.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
