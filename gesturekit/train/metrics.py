"""Keypoint metrics. Every function takes ``(N, K, 2)`` predictions and labels in the same pixels."""

from __future__ import annotations

import warnings

import numpy as np

PCK_ALPHAS = (0.05, 0.1, 0.2)


def label_sides(gt: np.ndarray, vis: np.ndarray) -> np.ndarray:
    """(N,) longer side of each hand's labelled points' box (1 where it has none): PCK's unit."""
    ext = np.where(vis[..., None], gt, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a hand with no labelled point: handled below
        side = np.nanmax(np.nanmax(ext, 1) - np.nanmin(ext, 1), -1)
    return np.where(np.isfinite(side) & (side > 0), side, 1.0)


def keypoint_metrics(pred: np.ndarray, gt: np.ndarray, vis: np.ndarray | None = None,
                     crop_size: float | None = None) -> dict[str, float]:
    """PCK@α (α × longer side of the labelled points' box), EPE and NME.

    With ``crop_size`` (points in crop pixels), also the shares of points within
    0.1 and 0.01 of the label in crop coordinates scaled to [-1, 1].
    """
    pred, gt = np.asarray(pred, np.float64), np.asarray(gt, np.float64)
    vis = np.ones(gt.shape[:2], bool) if vis is None else np.asarray(vis, bool)
    err = np.linalg.norm(pred - gt, axis=-1)
    norm = err / label_sides(gt, vis)[:, None]
    m = {f"pck@{a}": float((norm[vis] <= a).mean()) for a in PCK_ALPHAS}
    m["epe_px"] = float(err[vis].mean())
    m["nme"] = float(norm[vis].mean())
    if crop_size:
        d = err * 2.0 / crop_size  # Euclidean error in crop units scaled to [-1, 1]
        m["within_0.1"] = float((d[vis] <= 0.1).mean())
        m["within_0.01"] = float((d[vis] <= 0.01).mean())
    m["points"] = int(vis.sum())
    return m
