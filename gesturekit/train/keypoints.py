"""Train and score keypoint regressors on any layout."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from ..augment import AugmentOptions
from ..errors import LayoutMismatchError
from ..io import read_keypoints
from ..layouts import HAND_21, KeypointLayout
from ..nn import create_model
from ..runtime import torch_threads
from .cache import build_cache
from .keypoint_data import KeypointCrops, check_point_names, source_layout
from .loop import (
    TrainConfig,
    check_hard_share,
    checkpoint_arch,
    data_key,
    fit,
    pick_device,
    save_atomic,
    seed_everything,
    warm_start,
)
from .losses import keypoint_loss
from .metrics import keypoint_metrics, label_sides


def predict_crops(model: torch.nn.Module, dataset: KeypointCrops, batch_size: int = 128):
    """Run ``model`` over every crop of ``dataset``; returns pred px, label px, weights, confidences."""
    device = next(model.parameters()).device
    preds, gts, ws, confs = [], [], [], []
    size = dataset.size
    for i in range(0, len(dataset), batch_size):
        items = [dataset[j] for j in range(i, min(i + batch_size, len(dataset)))]
        x = torch.from_numpy(np.stack([it[0] for it in items])).to(device)
        out = model(x.contiguous(memory_format=torch.channels_last))
        preds.append(((out["xy"].float().cpu().numpy() + 1.0) / 2.0) * size)
        confs.append(out["conf"].float().cpu().numpy())
        gts.append(np.stack([it[1] for it in items]))
        ws.append(np.stack([it[2] for it in items]))
    return np.concatenate(preds), np.concatenate(gts), np.concatenate(ws) > 0, np.concatenate(confs)


def evaluate_crops(model, dataset: KeypointCrops) -> dict[str, float]:
    pred, gt, vis, _ = predict_crops(model, dataset)
    return keypoint_metrics(pred, gt, vis, crop_size=dataset.size)


HARD_SKIP = 0.02  # the worst-read share left out of the hard images (mostly collapsed labels)


def hard_indices(model, dataset: KeypointCrops, share: float, skip: float = HARD_SKIP) -> np.ndarray:
    """Indices into ``dataset`` of the crops ``model`` reads worst (mean error over the labelled
    points, in hand sizes): the ``share`` that follows the worst ``skip``. Those worst few are
    mostly labels MediaPipe collapsed onto part of a hand; drawing them more would teach that."""
    if not (0.0 < share and share + skip <= 1.0):
        raise ValueError(f"hard share {share} and skip {skip}: need 0 < share and share + skip <= 1")
    pred, gt, vis, _ = predict_crops(model, dataset)
    norm = np.linalg.norm(pred - gt, axis=-1) / label_sides(gt, vis)[:, None]
    nme = np.where(vis.any(1), (norm * vis).sum(1) / np.maximum(vis.sum(1), 1), -1.0)
    order = np.argsort(-nme)
    n = len(order)
    return np.sort(order[int(skip * n): int((skip + share) * n)])


def _same_points(a: KeypointLayout, b: KeypointLayout) -> bool:
    """Whether two layouts train the same thing: names, flip and derivation (not the name or edges)."""
    da, db = a.from_hand21, b.from_hand21
    return (a.names == b.names and a.flip == b.flip and (da is None) == (db is None)
            and (da is None or np.array_equal(da, db)))


def check_run_layout(out: Path, layout: KeypointLayout) -> None:
    """One run folder, one layout: going on with (or re-exporting) a run under another layout of the
    same size would stamp that layout's names on points learnt as others. Records ``layout.json``."""
    f = out / "layout.json"
    prev = None
    if (out / "last.pt").exists():
        if f.exists():
            prev = KeypointLayout.load(f)
        elif (out / "best.pt").exists():
            stored = torch.load(out / "best.pt", map_location="cpu", weights_only=True).get("layout")
            prev = KeypointLayout.from_dict(stored, str(out / "best.pt")) if stored else None
    if prev is not None and not _same_points(prev, layout):
        raise LayoutMismatchError(f"{out}: a run of layout {prev.name!r} {list(prev.names)}, not {layout.name!r} "
                                  f"{list(layout.names)} (use another out folder, or delete it to start afresh)")
    out.mkdir(parents=True, exist_ok=True)
    f.write_text(json.dumps(layout.to_dict()))


def train_keypoints(data: str | Path | list[str | Path], val: str | Path | None = None, layout: KeypointLayout = HAND_21,
                    arch: str | None = None, input_size: int = 128, cfg: TrainConfig | None = None,
                    val_limit: int | None = 1000, train_limit: int | None = None,
                    augment: AugmentOptions | None = None, repeat: int = 1,
                    init: str | Path | None = None, hard_share: float = 0.0) -> Path:
    """Train on YOLO-pose, COCO or CSV data (one path or several, concatenated); returns the best checkpoint.

    ``train_limit`` caps the images taken from each path (seeded).

    ``val`` None holds out a seeded 10% of ``data``. ``repeat`` draws each image
    several times per epoch (small data sets). ``init`` warm-starts from a checkpoint
    (e.g. the shipped ``models/keypoints.pt``): every tensor whose shape fits is copied, so a
    new layout keeps the backbone and relearns only the point-specific head. ``arch`` None takes
    ``init``'s network (every backbone tensor then fits), else ``kpnet_simcc``. ``hard_share`` > 0
    (with ``init``) draws the images the initial model reads worst once more per epoch
    (:func:`hard_indices`).
    """
    check_hard_share(hard_share, init, 1.0 - HARD_SKIP)
    cfg = cfg or TrainConfig()
    rng = np.random.default_rng(cfg.seed)
    train_samples, sources = [], {}
    for path in [data] if isinstance(data, (str, Path)) else list(data):
        part = read_keypoints(path)
        if train_limit and len(part) > train_limit:
            part = [part[i] for i in sorted(rng.permutation(len(part))[:train_limit])]
        sources[str(path)] = source_layout(part, layout, str(path))
        check_point_names(part, layout, str(path))
        train_samples += part
    if len({s.num_points for s in sources.values()}) > 1:  # one cache holds one number of points
        raise LayoutMismatchError("data: " + ", ".join(f"{p} has {s.num_points}" for p, s in sources.items())
                                  + " points per hand; train on one number of points at a time")
    src_layout = next(iter(sources.values()))
    if val is None and len(train_samples) < 2:
        raise ValueError(f"data: {len(train_samples)} image, none left to hold out for validation; "
                         "label more or pass a val folder")
    if val is None:
        order = rng.permutation(len(train_samples))
        n_val = max(1, len(order) // 10)
        val_samples = [train_samples[i] for i in order[:n_val]]
        train_samples = [train_samples[i] for i in order[n_val:]]
    else:
        val_samples = read_keypoints(val)
    val_src = src_layout if val is None else source_layout(val_samples, layout, str(val))
    if val is not None:
        check_point_names(val_samples, layout, str(val))
    if val_limit and len(val_samples) > val_limit:
        val_samples = [val_samples[i] for i in sorted(rng.permutation(len(val_samples))[:val_limit])]
    check_run_layout(Path(cfg.out), layout)
    train_cache, val_cache = build_cache(train_samples), build_cache(val_samples)
    idx = np.tile(np.arange(len(train_cache["images"])), repeat)
    val_set = KeypointCrops(val_cache, layout, input_size, None, cfg.seed, source_layout=val_src)
    seed_everything(cfg.seed)  # the weights' initial draw too: a seed repeats a run
    if arch is None:   # a keypoint net's own network (a detector checkpoint lends only its backbone)
        arch = checkpoint_arch(init) if init is not None else None
        arch = arch if arch and arch.startswith("kpnet_") else "kpnet_simcc"
    model = create_model(arch, num_points=layout.num_points, input_size=input_size)
    model.layout = layout
    if init is not None:
        copied, total = warm_start(model, init), len(model.state_dict())
        print(f"init: {copied} tensors from {init}")
        if hard_share and copied < total:
            # the point head did not fit (a model of another layout): its readings of these points
            # are random, and so would be the "hard" images picked by them
            raise LayoutMismatchError(f"hard_share: {init} fits {copied} of {total} tensors (a model of another "
                                      "layout), so it cannot tell which images are hard; train without "
                                      "hard_share first, then go on with --init <that run>/best.pt --hard-share")
    if hard_share:
        with torch_threads(cfg.threads, exclusive=False), torch.no_grad():
            hard = hard_indices(model.to(pick_device(cfg.device)).eval(), KeypointCrops(train_cache, layout, input_size, None, cfg.seed,
                                                            source_layout=src_layout), hard_share)
        print(f"hard: {len(hard)} of {len(train_cache['images'])} images drawn twice per epoch")
        idx = np.concatenate([idx, hard])
    train_set = KeypointCrops(train_cache, layout, input_size, augment or AugmentOptions(), cfg.seed,
                              indices=idx, source_layout=src_layout)

    def loss_fn(m, batch):
        x, xy, w = batch
        return keypoint_loss(m(x.contiguous(memory_format=torch.channels_last)), xy, w, input_size)

    def on_epoch(epoch: int) -> None:
        train_set.epoch = epoch  # new augmentation draws each epoch, reproducibly

    key = data_key(idx, names=[train_cache.get("key", "")])   # the cache's fingerprint + this run's draws
    fit(model, train_set, loss_fn, lambda m: evaluate_crops(m, val_set), cfg, on_epoch=on_epoch, data_key=key)
    best = Path(cfg.out) / "best.pt"
    ckpt = torch.load(best, weights_only=True)
    ckpt["layout"] = layout.to_dict()
    save_atomic(ckpt, best)   # a crash mid-write must not destroy the best weights
    return best
