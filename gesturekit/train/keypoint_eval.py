"""Score a keypoint model file on labelled hands (no torch needed with an ONNX model)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from ..geometry import apply_affine
from ..io import read_keypoints, seeded_subset
from ..landmarks import run_keypoint_net
from ..layouts import HAND_21, KeypointLayout
from ..runtime import Runner, default_model
from .cache import build_cache
from .keypoint_data import KeypointCrops, check_point_names, source_layout
from .metrics import keypoint_metrics


def evaluate_keypoint_model(data: str | Path, model: str | Path | None = None, backend: str = "auto",
                            limit: int | None = None, seed: int = 0, batch_size: int = 64,
                            threads: int | None = None, flip_test: bool = False) -> dict:
    """Crops around each labelled hand with a seeded detector-like jitter, then metrics in source pixels.

    Returns ``pck@0.05/0.1/0.2``, ``epe_px``, ``nme``, ``within_0.1``, ``within_0.01`` (crop coordinates
    scaled to [-1, 1]), ``images`` and ``hands``.
    """
    runner = Runner.load(model or default_model("keypoints.onnx", backend), backend, threads=threads, task="keypoints")
    layout = KeypointLayout.from_dict(runner.meta["layout"]) if runner.meta.get("layout") else HAND_21
    samples = read_keypoints(data)
    samples = seeded_subset(samples, limit, seed)
    check_point_names(samples, layout, f"{data} (model {runner.path})")
    src = source_layout(samples, layout, f"{data} (model {runner.path})")
    cache = build_cache(samples)
    ds = KeypointCrops(cache, layout, runner.input_size, None, seed, source_layout=src)
    size = ds.size
    preds, gts, vis, crop_preds, crop_gts = [], [], [], [], []
    for start in range(0, len(ds), batch_size):
        items = [ds.sample(i) for i in range(start, min(start + batch_size, len(ds)))]
        xys, _ = run_keypoint_net(runner, np.stack([it[0] for it in items]), layout, flip_test)
        for it, xy in zip(items, xys):
            p = (xy + 1.0) / 2.0 * size
            inv = cv2.invertAffineTransform(it[3])
            preds.append(apply_affine(inv, p))
            gts.append(apply_affine(inv, it[1]))
            vis.append(it[2] > 0)
            crop_preds.append(p)
            crop_gts.append(it[1])
    scales = cache["scales"][ds.indices][:, None, None]
    m = keypoint_metrics(np.stack(preds) * scales, np.stack(gts) * scales, np.stack(vis))
    c = keypoint_metrics(np.stack(crop_preds), np.stack(crop_gts), np.stack(vis), crop_size=size)
    m["within_0.1"], m["within_0.01"] = c["within_0.1"], c["within_0.01"]
    m["images"] = len({s.image for s in samples})
    m["hands"] = len(ds)
    m["model"] = str(runner.path)
    m["backend"] = runner.backend
    m["flip_test"] = flip_test
    return m
