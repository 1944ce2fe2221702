"""Palm or back of the hand toward the camera, from the look of an upright hand crop.

The 21 points give a hand's chirality but not which way it faces: a left palm and a
right back are the same 2D shape. Nails, knuckles and palm creases tell them apart.
A small CNN on an 80 px crop reads them: four stride-2 depthwise-separable stages,
global pooling, one logit. :mod:`gesturekit.handedness` joins it with the chirality.
"""

from __future__ import annotations

import torch
from torch import nn

from .blocks import ConvBNAct
from .registry import register_model


class FacingNet(nn.Module):
    """``forward(images (B, 3, S, S))`` → ``{"logit": (B,), "p_back": (B,)}``: P(the back of the hand is seen)."""

    def __init__(self, input_size: int = 80, width: int = 24):
        super().__init__()
        self.input_size = input_size
        layers, cin = [], 3
        for cout in (width, 2 * width, 4 * width, 4 * width):
            layers += [ConvBNAct(cin, cout, 3, 2), ConvBNAct(cout, cout, 3, groups=cout), ConvBNAct(cout, cout, 1)]
            cin = cout
        self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Sequential(nn.Linear(cin, 64), nn.ReLU(inplace=True), nn.Dropout(0.2), nn.Linear(64, 1))

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        logit = self.head(self.features(images))[:, 0]
        return {"logit": logit, "p_back": torch.sigmoid(logit)}


@register_model
def facing_cnn(input_size: int = 80, width: int = 24) -> FacingNet:
    return FacingNet(input_size, width)
