"""Single-stage, anchor-free hand detector (CenterNet-style) for a CPU.

A MobileNetV2-like backbone to stride 32, a light top-down path back to
stride 4, and one head predicting per cell: a hand-centre heatmap, the box
size (log of pixels / stride), the sub-cell offset of the centre and the hand
angle as (sin, cos). Stride 4 keeps ~12 px hands (a 30 px hand in a 640×480
frame letterboxed to 256 wide) a few cells across.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .blocks import ConvBNAct, make_stages
from .keypoint_net import KeypointBackbone
from .registry import register_model

# (channels, blocks, stride, expand) after a plain stride-4 stem → strides 8, 16, 32.
DET_STAGES = [(32, 1, 2, 4), (64, 2, 2, 4), (96, 2, 2, 4)]  # sized for CPU training in minutes
STRIDE = 4


class _Smooth(nn.Sequential):
    """Depthwise 3×3 then pointwise: mixes an upsampled map with its lateral at little cost."""

    def __init__(self, c: int):
        super().__init__(ConvBNAct(c, c, 3, groups=c), ConvBNAct(c, c, 1))


class HandDetNet(nn.Module):
    """Frame (letterboxed to ``input_size`` = (h, w)) → dense maps at stride 4.

    ``forward`` returns ``heat`` (logits, training), ``scores`` (sigmoid of the
    heat), ``size`` (log box w, h in
    units of the stride), ``offset`` (0..1 of a cell) and ``angle`` ((sin, cos),
    unit length).
    """

    def __init__(self, input_size: tuple[int, int] | list[int] = (192, 256), width: int = 48, angle: bool = True,
                 backbone: str = "mnv2"):
        super().__init__()
        # (0, 0) passed a bare modulo test and failed in the first conv
        if (not isinstance(input_size, (tuple, list)) or len(input_size) != 2
                or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 32 and not v % 32
                           for v in input_size)):
            raise ValueError(f"input_size: {input_size!r} must be (h, w), multiples of 32")
        h, w = input_size
        self.input_size, self.stride, self.has_angle = (h, w), STRIDE, angle
        if backbone == "mnv2":
            self.stem = nn.Sequential(ConvBNAct(3, 16, 3, 2), ConvBNAct(16, 24, 3, 2))
            self.stages, widths = make_stages(24, DET_STAGES)
            widths = [24, *widths]
        elif backbone == "kp":
            # the keypoint regressor's backbone (strides 4, 8, 16, 16): it can start from that
            # model's weights, which already know hands
            self.backbone = KeypointBackbone()
            self.stem, self.stages = self.backbone.stem, self.backbone.stages
            widths = [self.stem[-1][0].out_channels] + [st[-1].block[-1][0].out_channels for st in self.stages]
        else:
            raise ValueError(f"backbone: unknown backbone {backbone!r}; choose 'mnv2' or 'kp'")
        self.lateral = nn.ModuleList(nn.Conv2d(c, width, 1) for c in widths)
        self.smooth = nn.ModuleList(_Smooth(width) for _ in range(3))
        self.head = _Smooth(width)  # a full 3×3 here was most of the FLOPs at stride 4
        self.out_heat = nn.Conv2d(width, 1, 1)
        self.out_size = nn.Conv2d(width, 2, 1)
        self.out_offset = nn.Conv2d(width, 2, 1)
        self.out_angle = nn.Conv2d(width, 2, 1) if angle else None
        nn.init.constant_(self.out_heat.bias, -4.6)  # prior 1%: focal loss starts stable
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1), persistent=False)

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        x = self.stem((images - self.mean) / self.std)
        feats = [x]
        for stage in self.stages:
            x = stage(x)
            feats.append(x)
        y = self.lateral[3](feats[3])
        for i in (2, 1, 0):  # top-down: stride 32 → 16 → 8 → 4
            lat = self.lateral[i](feats[i])
            if y.shape[-1] != lat.shape[-1]:  # stages that keep the stride need no upsampling
                y = F.interpolate(y, scale_factor=2.0, mode="nearest")
            y = y + lat
            y = self.smooth[i](y)
        f = self.head(y)
        heat = self.out_heat(f)
        # peaks are picked after the graph (3×3 max-pool in numpy): a comparison inside it would
        # flip on float noise between torch and ONNX Runtime
        out = {"heat": heat, "scores": torch.sigmoid(heat),
               "size": self.out_size(f), "offset": torch.sigmoid(self.out_offset(f))}
        if self.out_angle is not None:
            a = self.out_angle(f)
            out["angle_raw"] = a
            out["angle"] = a / a.norm(dim=1, keepdim=True).clamp_min(1e-6)
        return out


@register_model
def handdet_s4(input_size: tuple[int, int] | list[int] = (192, 256), width: int = 48, angle: bool = True) -> HandDetNet:
    return HandDetNet(tuple(input_size), width, angle)


@register_model
def handdet_kp(input_size: tuple[int, int] | list[int] = (192, 256), width: int = 48, angle: bool = True) -> HandDetNet:
    """The detector on the keypoint regressor's backbone (warm-started from a keypoint checkpoint)."""
    return HandDetNet(tuple(input_size), width, angle, backbone="kp")
