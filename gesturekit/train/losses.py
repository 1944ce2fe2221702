"""Training losses for the keypoint heads."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def simcc_targets(xy_px: torch.Tensor, bins: int, input_size: int, sigma: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Gaussian label distributions over the x and y bins for points in crop pixels."""
    split = bins / input_size
    centres = (torch.arange(bins, device=xy_px.device, dtype=xy_px.dtype) + 0.5).view(1, 1, -1)
    out = []
    for a in range(2):
        mu = (xy_px[..., a] * split).unsqueeze(-1)
        g = torch.exp(-0.5 * ((centres - mu) / sigma) ** 2)
        out.append(g / g.sum(-1, keepdim=True).clamp_min(1e-8))
    return out[0], out[1]


def keypoint_loss(out: dict, xy_px: torch.Tensor, weight: torch.Tensor, input_size: int, sigma: float = 2.0):
    """SimCC: cross-entropy against Gaussian labels; coordinate head: L1 in [-1, 1] units."""
    w = weight / weight.sum().clamp_min(1.0)
    if "simcc_x" in out:
        tx, ty = simcc_targets(xy_px, out["simcc_x"].shape[-1], input_size, sigma)
        ce = -(tx * F.log_softmax(out["simcc_x"], -1)).sum(-1) - (ty * F.log_softmax(out["simcc_y"], -1)).sum(-1)
        return (ce * w).sum()
    target = xy_px / input_size * 2.0 - 1.0
    return ((out["coords"] - target).abs().sum(-1) * w).sum()
