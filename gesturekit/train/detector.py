"""Train, score and export the hand detector on synthetic scenes (hand photos and/or box-labelled frames)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..detector import Detections, decode, detection_metrics, found_rate, letterbox, to_batch
from ..nn import create_model
from ..runtime import torch_threads
from .detector_data import (
    BOX_MARGIN,
    DetectionScenes,
    cache_frames,
    cache_hands26k,
    keypoint_box,
    read_frames,
    split_frames,
)
from .loop import (
    TrainConfig,
    check_hard_share,
    data_key,
    fit,
    pick_device,
    seed_everything,
    warm_start,
)

DEFAULT_INPUT = (192, 256)


def focal_heatmap_loss(logits: torch.Tensor, gt: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """CenterNet's penalty-reduced focal loss; ``weight`` scales the negatives (0 = ignore)."""
    p = torch.sigmoid(logits.float()).clamp(1e-4, 1 - 1e-4)
    pos = gt.eq(1).float()
    pos_loss = -(torch.log(p) * (1 - p) ** 2 * pos).sum()
    neg_loss = -(torch.log(1 - p) * p**2 * (1 - gt) ** 4 * (1 - pos) * weight).sum()
    return (pos_loss + neg_loss) / pos.sum().clamp_min(1.0)


def _gather(t: torch.Tensor, ind: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) at flat indices (B, M) → (B, M, C)."""
    b, c = t.shape[:2]
    return t.reshape(b, c, -1).gather(2, ind[:, None, :].expand(-1, c, -1)).transpose(1, 2)


def detector_loss(out: dict, heat, weight, ind, size, off, ang, mask, amask,
                  w_size: float = 1.0, w_off: float = 1.0, w_angle: float = 0.5) -> torch.Tensor:
    loss = focal_heatmap_loss(out["heat"], heat, weight)
    n = mask.sum().clamp_min(1.0)
    m = mask[..., None]
    loss = loss + w_size * (F.l1_loss(_gather(out["size"], ind), size, reduction="none") * m).sum() / n
    loss = loss + w_off * (F.l1_loss(_gather(out["offset"], ind), off, reduction="none") * m).sum() / n
    if "angle" in out:
        na = amask.sum().clamp_min(1.0)
        loss = loss + w_angle * (F.l1_loss(_gather(out["angle"], ind), ang, reduction="none")
                                 * amask[..., None]).sum() / na
    return loss


def _numpy_out(out: dict) -> dict[str, np.ndarray]:
    return {k: v.float().cpu().numpy() for k, v in out.items() if k in ("scores", "size", "offset", "angle")}


@torch.no_grad()
def predict_frames(model, frames: list[np.ndarray], input_size=DEFAULT_INPUT, score_threshold: float = 0.05,
                   nms_iou: float = 0.45, max_hands: int = 20, batch_size: int = 16) -> list[Detections]:
    """Run a torch detector over BGR frames exactly as :class:`HandDetector` does (letterbox, decode)."""
    device = next(model.parameters()).device
    h, w = input_size
    res = []
    for i in range(0, len(frames), batch_size):
        chunk = frames[i:i + batch_size]
        prep = [letterbox(f, h, w) for f in chunk]
        x = torch.from_numpy(np.concatenate([to_batch(p[0]) for p in prep])).to(device)
        out = _numpy_out(model(x.contiguous(memory_format=torch.channels_last)))
        for j, (f, (_, s, dx, dy)) in enumerate(zip(chunk, prep)):
            res.append(decode(out, model.stride, s, dx, dy, f.shape[1], f.shape[0], score_threshold, nms_iou,
                              max_hands, index=j))
    return res


def evaluate_detector(model, ego_val: dict | None, hands_val: dict | None, input_size=DEFAULT_INPUT) -> dict:
    """AP on the held-out box-labelled frames and found@0.5 on hand photos; ``score`` averages the two
    (whichever are given). With neither, or no box to score, there is no ``score`` and the loop's
    ``best.pt`` follows the last epoch."""
    m = {}
    if ego_val is not None:
        preds = predict_frames(model, list(ego_val["images"]), input_size)
        m.update(detection_metrics(preds, ego_val["boxes"]))
    if hands_val is not None:
        preds = predict_frames(model, list(hands_val["images"]), input_size, score_threshold=0.3, max_hands=4)
        gts = [keypoint_box(k)[None] for k in hands_val["keypoints"]]
        m["found@0.5"] = round(found_rate(preds, gts), 4)
    parts = [m[k] for k in ("ap50", "found@0.5") if k in m and np.isfinite(m[k])]  # AP of no box is NaN
    if parts:
        m["score"] = round(float(np.mean(parts)), 4)
    return m


def missed_photos(model, hands: dict, input_size=DEFAULT_INPUT, score_threshold: float = 0.2,
                  batch_size: int = 32) -> np.ndarray:
    """Indices of the ``hands`` photos (:func:`cache_hands26k`) whose labelled hand ``model`` does
    not find (no box of ``score_threshold`` with IoU ≥ 0.5), as ``eval detector`` counts them."""
    found = np.zeros(len(hands["images"]), bool)
    for i in range(0, len(found), 1024):  # the memmap is read a slice at a time
        imgs = list(hands["images"][i:i + 1024])
        preds = predict_frames(model, imgs, input_size, score_threshold, max_hands=4, batch_size=batch_size)
        for j, d in enumerate(preds):
            found[i + j] = found_rate([d], [keypoint_box(hands["keypoints"][i + j])[None]]) == 1.0
    return np.flatnonzero(~found)


def train_detector(hands: str | Path | None = None, data: str | Path | None = None,
                   hands_val: str | Path | None = None,
                   cfg: TrainConfig | None = None, scenes_per_epoch: int = 4000, canvas=(160, 192),
                   input_size=DEFAULT_INPUT, hands_val_limit: int = 300, width: int = 48,
                   init: str | Path | None = None, arch: str = "handdet_s4", hard_share: float = 0.0,
                   label: str | None = None) -> Path:
    """Train ``handdet_s4`` on synthetic scenes; returns the best checkpoint (by ``score``).

    ``hands`` is a YOLO-pose folder of hand photos (hands26k) pasted into the scenes; ``data`` holds
    box-labelled frames in any format :func:`~gesturekit.io.boxes.read_boxes` reads, used as scene
    backgrounds with their boxes, :func:`~.detector_data.frame_split`'s share held out and scored
    (AP50) each epoch. Either or both; with ``data`` alone, scenes are its frames alone.
    ``init`` warm-starts from another run's checkpoint; with ``arch="handdet_kp"`` a keypoint
    checkpoint (``kpnet_*``) gives the backbone, which already knows hands. ``hard_share`` > 0
    (with a detector ``init``) draws that share of the scenes' hand photos from those the initial
    model misses (:func:`missed_photos`). ``label`` picks the hand class of a multi-class ``data``
    (:func:`~gesturekit.io.boxes.read_boxes`).
    """
    check_hard_share(hard_share, init)
    if hands is None and data is None:
        raise ValueError("train detector: nothing to train on; give --hands (YOLO-pose hand photos), "
                         "--data (box-labelled frames: EgoHands, YOLO, VOC, COCO or Open Images), or both")
    if hard_share and hands is None:
        raise ValueError("hard_share: draws from the hand photos, so it needs --hands")
    cfg = cfg or TrainConfig(monitor="score", out="runs/det")
    ego_train = ego_val = hands_c = None
    if data is not None:
        tr, va = split_frames(read_frames(data, label), data)
        ego_train = cache_frames(tr, threads=cfg.threads)
        ego_val = cache_frames(va, threads=cfg.threads)
    if hands is not None:
        hands_c = cache_hands26k(hands, threads=cfg.threads)
    hv = None
    if hands_val is not None:
        hv_full = cache_hands26k(hands_val, threads=cfg.threads)
        idx = np.sort(np.random.default_rng(cfg.seed).permutation(len(hv_full["images"]))[:hands_val_limit])
        hv = {"images": hv_full["images"][idx], "keypoints": hv_full["keypoints"][idx]}
    seed_everything(cfg.seed)  # the weights' initial draw too: a seed repeats a run
    model = create_model(arch, input_size=list(input_size), width=width)
    if init is not None:
        # a keypoint checkpoint lends its backbone; a detector checkpoint lends everything
        n = warm_start(model, init)
        print(f"init: {n} tensors from {init}")
    hard = None
    if hard_share:
        with torch_threads(cfg.threads, exclusive=False):
            hard = missed_photos(model.to(pick_device(cfg.device)).eval(), hands_c, input_size)
        print(f"hard: {len(hard)} of {len(hands_c['images'])} photos missed; {hard_share:.0%} of hand photos drawn from them")
    train_set = DetectionScenes(hands_c, ego_train, scenes_per_epoch, canvas, cfg.seed, hard=hard,
                                hard_share=hard_share)

    def loss_fn(m, batch):
        x, *t = batch
        return detector_loss(m(x.contiguous(memory_format=torch.channels_last)), *t)

    def on_epoch(epoch: int) -> None:
        train_set.epoch = epoch

    # a last.pt of other photos or frames is refused, not resumed
    key = data_key(np.asarray([scenes_per_epoch, *canvas]),
                   names=[*(hands_c["source"] if hands_c else []), *(ego_train["source"] if ego_train else [])])
    fit(model, train_set, loss_fn, lambda m: evaluate_detector(m, ego_val, hv, input_size), cfg, on_epoch=on_epoch,
        data_key=key)
    return Path(cfg.out) / "best.pt"


def export_detector(checkpoint: str | Path, out: str | Path) -> tuple[Path, Path]:
    """Export a detector training checkpoint (``best.pt``) to ``out``.pt/.onnx with its metadata."""
    from .export import export_model

    ckpt = torch.load(checkpoint, map_location="cpu", weights_only=True)
    arch = dict(ckpt["arch"])
    model = create_model(arch.pop("name"), **arch)
    model.load_state_dict(ckpt["model"])
    outputs = ["scores", "size", "offset"] + (["angle"] if model.has_angle else [])
    meta = {"task": "detector", "arch": ckpt["arch"], "input_size": list(model.input_size), "stride": model.stride,
            "outputs": outputs, "box_margin": BOX_MARGIN, "metrics": ckpt.get("metrics", {})}
    pt, onnx_path, diff = export_model(model, meta, out)
    print(f"torch vs ONNX Runtime max |diff| = {diff:.2e}")
    return pt, onnx_path
