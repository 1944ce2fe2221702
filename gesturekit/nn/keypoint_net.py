"""Keypoint regressors on a hand crop: a shared backbone with a SimCC or a coordinate head.

SimCC classifies each point's x and y over ``split × input`` bins: it keeps the
spatial precision of heatmaps at a fraction of their cost, which suits a CPU.
The coordinate head (global pool, FC, tanh, L1 loss) is kept as the measured
baseline.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .blocks import ConvBNAct, make_stages
from .registry import register_model

# (channels, blocks, stride, expand) after a plain stride-4 stem: 128 px in →
# 8×8 features (stride 16). Plain convs at full resolution train ~2× faster on
# a CPU than depthwise ones and cost little at inference (measured in bench/).
KP_STAGES = [(48, 2, 2, 3), (96, 3, 2, 3), (128, 2, 1, 3)]
# The same stages with more blocks, each stage's first blocks named as in KP_STAGES: a KP_STAGES
# checkpoint loads with the extra blocks at identity (see make_stages' zero_init_residual).
KP_STAGES_DEEP = [(48, 2, 2, 3), (96, 4, 2, 3), (128, 4, 1, 3)]
# The same blocks twice as wide inside (expansion 6) at stride 16, where an 8×8 map makes width
# cheap: a KP_STAGES checkpoint loads with the new hidden channels feeding nothing (see adapt_checkpoint).
KP_STAGES_WIDE = [(48, 2, 2, 3), (96, 3, 2, 6), (128, 2, 1, 6)]


class KeypointBackbone(nn.Module):
    def __init__(self, stages=KP_STAGES, stem: int = 16):
        super().__init__()
        self.stem = nn.Sequential(ConvBNAct(3, stem, 3, 2), ConvBNAct(stem, stem * 2, 3, 2))
        # a deeper layout's extra blocks must start as the identity for a KP_STAGES checkpoint to load
        # (a wider one's blocks are all overwritten by that checkpoint)
        self.stages, widths = make_stages(stem * 2, stages, zero_init_residual=list(stages) != KP_STAGES)
        self.out_channels = widths[-1]

    def forward(self, x):
        return self.stages(self.stem(x))

    def features(self, x) -> tuple[torch.Tensor, torch.Tensor]:
        """(stride-8 features of the first stage, the final stride-16 features)."""
        fine = self.stages[0](self.stem(x))
        return fine, self.stages[1:](fine)


class PointAttention(nn.Module):
    """One pre-norm transformer layer across a hand's point tokens, where RTMPose has its gated
    attention unit: where a point is hidden or unsure, the others say where it must be. Both
    residual branches end in a zero-initialised layer, so a head without it loads with its
    function unchanged."""

    def __init__(self, num_points: int, dim: int, heads: int = 4):
        super().__init__()
        self.heads, self.scale = heads, (dim // heads) ** -0.5
        self.point = nn.Parameter(torch.randn(num_points, dim) * 0.02)   # which point a token is
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.ff = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))
        for last in (self.proj, self.ff[-1]):
            nn.init.zeros_(last.weight)
            nn.init.zeros_(last.bias)

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        # constant shapes (-1 for the batch): a traced t.shape becomes a chain of small ONNX shape
        # ops per reshape, each a thread-pool round trip at run time
        k, d = self.point.shape
        q, key, v = self.qkv(self.norm1(t) + self.point).reshape(-1, k, 3, self.heads, d // self.heads) \
            .permute(2, 0, 3, 1, 4).unbind(0)
        a = torch.softmax(q @ key.transpose(-1, -2) * self.scale, dim=-1) @ v
        t = t + self.proj(a.transpose(1, 2).reshape(-1, k, d))
        return t + self.ff(self.norm2(t))


class SimCCHead(nn.Module):
    """Per-point tokens from a K-channel map, then 1-D classifiers for x and y.

    ``fine_cin`` > 0 adds per-point maps from stride-8 features to the stride-16 maps doubled in
    size (nearest), so the tokens come from a map twice as fine. Its last conv starts at zero, and
    :meth:`KeypointNet.adapt_checkpoint` spreads a coarse head's first MLP layer over the doubled
    map: a coarse checkpoint loads with its function unchanged, and training adds the detail.
    ``attention`` layers of :class:`PointAttention` then mix the tokens, each starting as the identity.
    """

    def __init__(self, cin: int, num_points: int, feat_hw: int, bins: int, hidden: int = 256, fine_cin: int = 0,
                 attention: int = 0):
        super().__init__()
        self.k = num_points
        self.to_points = nn.Sequential(ConvBNAct(cin, cin, 5, groups=cin), nn.Conv2d(cin, num_points, 1))
        self.fine = None
        if fine_cin:
            self.fine = nn.Sequential(ConvBNAct(fine_cin, fine_cin, 3, groups=fine_cin), nn.Conv2d(fine_cin, num_points, 1))
            nn.init.zeros_(self.fine[-1].weight)
            nn.init.zeros_(self.fine[-1].bias)
            feat_hw *= 4
        self.mlp = nn.Sequential(nn.Linear(feat_hw, hidden), nn.GELU())
        self.attention = (nn.Sequential(*(PointAttention(num_points, hidden) for _ in range(attention)))
                          if attention else None)
        self.fc_x = nn.Linear(hidden, bins)
        self.fc_y = nn.Linear(hidden, bins)

    def forward(self, f, fine=None):
        t = self.to_points(f)
        if self.fine is not None:
            t = F.interpolate(t, scale_factor=2.0, mode="nearest") + self.fine(fine)
        t = self.mlp(t.flatten(2))  # (B, K, H*W) → (B, K, hidden)
        if self.attention is not None:
            t = self.attention(t)
        return {"simcc_x": self.fc_x(t), "simcc_y": self.fc_y(t)}


class CoordHead(nn.Module):
    def __init__(self, cin: int, num_points: int):
        super().__init__()
        self.k = num_points
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Sequential(nn.Linear(cin, 256), nn.ReLU(inplace=True), nn.Linear(256, num_points * 2))

    def forward(self, f):
        return {"coords": torch.tanh(self.fc(self.pool(f).flatten(1))).view(-1, self.k, 2)}


class KeypointNet(nn.Module):
    """Crop → points. ``forward`` returns ``xy`` in [-1, 1] crop coordinates and ``conf``.

    The raw head outputs are returned too, for the training loss.
    """

    def __init__(self, num_points: int = 21, input_size: int = 128, head: str = "simcc", split: float = 2.0,
                 fine: bool = False, stages=KP_STAGES, attention: int = 0):
        super().__init__()
        if not isinstance(num_points, int) or isinstance(num_points, bool) or num_points < 1:
            raise ValueError(f"num_points: {num_points!r} must be an int >= 1")
        # the SimCC head's first layer is sized for an exact (input / 16)² map: any other size
        # would build, then fail on the first batch with a shape error deep in torch
        if (not isinstance(input_size, int) or isinstance(input_size, bool) or input_size < 16
                or (head == "simcc" and input_size % 16)):
            raise ValueError(f"input_size: {input_size!r} must be an int >= 16 (a multiple of 16 for the simcc head)")
        self.num_points, self.input_size, self.head_name, self.fine = num_points, input_size, head, fine
        self.backbone = KeypointBackbone(stages)
        feat = input_size // 16
        self.bins = int(input_size * split)
        if not isinstance(attention, int) or isinstance(attention, bool) or attention < 0:
            raise ValueError(f"attention: {attention!r} must be a number of layers >= 0")
        if (fine or attention) and head != "simcc":
            raise ValueError("fine, attention: only the simcc head has a fine map and point attention")
        if head == "simcc":
            self.head = SimCCHead(self.backbone.out_channels, num_points, feat * feat, self.bins,
                                  fine_cin=stages[0][0] if fine else 0, attention=attention)
        elif head == "coord":
            self.head = CoordHead(self.backbone.out_channels, num_points)
        else:
            raise ValueError(f"head: unknown head {head!r}; choose 'simcc' or 'coord'")
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1), persistent=False)

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        x = (images - self.mean) / self.std
        if self.fine:
            fine, coarse = self.backbone.features(x)
            out = self.head(coarse, fine)
        else:
            out = self.head(self.backbone(x))
        if "coords" in out:
            out["xy"] = out["coords"]
            out["conf"] = torch.ones_like(out["coords"][..., 0])
            return out
        out["xy"], out["conf"] = simcc_decode(out["simcc_x"], out["simcc_y"])
        return out

    def adapt_checkpoint(self, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """A smaller net's checkpoint made to fit this one with its function unchanged, to train on.

        A coarse SimCC head's first MLP layer is spread over a fine head's doubled map (each coarse
        cell's weight shared by its four copies). Backbone tensors smaller than this net's (fewer
        hidden channels in a block) are copied into this net's own initial tensors, and the
        channels they lack *as inputs* get zero weight: the new hidden channels feed nothing until
        trained (Net2Net's function-preserving widening, with zeros instead of copies)."""
        key = "head.mlp.0.weight"
        w = state.get(key)
        if self.fine and w is not None and w.shape[1] * 4 == self.head.mlp[0].in_features:
            side = round(w.shape[1] ** 0.5)
            w = w.view(w.shape[0], side, side) / 4.0
            w = w.repeat_interleave(2, dim=1).repeat_interleave(2, dim=2)
            state = {**state, key: w.reshape(w.shape[0], -1)}
        own = self.state_dict()
        grown = {}
        for k, v in state.items():
            mine = own.get(k)
            if (not k.startswith("backbone.stages.") or mine is None or mine.dim() != v.dim() or mine.shape == v.shape
                    or any(a < b for a, b in zip(mine.shape, v.shape))):
                continue
            t = mine.clone()
            if t.dim() > 1 and t.shape[1] > v.shape[1]:
                t[:, v.shape[1]:] = 0   # inputs the checkpoint lacks: new channels contribute nothing
            t[tuple(slice(0, n) for n in v.shape)] = v
            grown[k] = t
        return {**state, **grown}


def simcc_decode(lx: torch.Tensor, ly: torch.Tensor, window: int = 3):
    """Soft-argmax in a window around the peak: sub-bin precision, robust to far modes."""
    bins = lx.shape[-1]

    def axis(logits):
        p = torch.softmax(logits, dim=-1)
        peak = p.argmax(-1, keepdim=True)
        idx = torch.arange(bins, device=logits.device, dtype=p.dtype).view(1, 1, -1)
        w = p * ((idx - peak.to(p.dtype)).abs() <= window).to(p.dtype)
        mean = (w * idx).sum(-1) / w.sum(-1).clamp_min(1e-6)
        return (mean + 0.5) / bins * 2.0 - 1.0, w.sum(-1)

    x, cx = axis(lx)
    y, cy = axis(ly)
    return torch.stack([x, y], -1), torch.minimum(cx, cy)


@register_model
def kpnet_simcc(num_points: int = 21, input_size: int = 128) -> KeypointNet:
    return KeypointNet(num_points, input_size, head="simcc")


@register_model
def kpnet_simcc_fine(num_points: int = 21, input_size: int = 128) -> KeypointNet:
    return KeypointNet(num_points, input_size, head="simcc", fine=True)


@register_model
def kpnet_simcc_deep(num_points: int = 21, input_size: int = 128) -> KeypointNet:
    """``kpnet_simcc_fine`` with 3 more blocks at stride 16: a fine checkpoint loads into it with its function unchanged."""
    return KeypointNet(num_points, input_size, head="simcc", fine=True, stages=KP_STAGES_DEEP)


@register_model
def kpnet_simcc_wide(num_points: int = 21, input_size: int = 128) -> KeypointNet:
    """``kpnet_simcc_fine`` with twice the hidden channels in the stride-16 blocks: a fine checkpoint loads into it with its function unchanged."""
    return KeypointNet(num_points, input_size, head="simcc", fine=True, stages=KP_STAGES_WIDE)


@register_model
def kpnet_simcc_attn(num_points: int = 21, input_size: int = 128) -> KeypointNet:
    """``kpnet_simcc_wide`` with attention across the point tokens: a wide checkpoint loads into it with its function unchanged."""
    return KeypointNet(num_points, input_size, head="simcc", fine=True, stages=KP_STAGES_WIDE, attention=1)


@register_model
def kpnet_coord(num_points: int = 21, input_size: int = 128) -> KeypointNet:
    return KeypointNet(num_points, input_size, head="coord")
