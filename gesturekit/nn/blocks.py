"""Small CPU-friendly building blocks (MobileNetV2-style)."""

from __future__ import annotations

from torch import nn


class ConvBNAct(nn.Sequential):
    def __init__(self, cin: int, cout: int, k: int = 3, s: int = 1, groups: int = 1, act: bool = True):
        layers = [nn.Conv2d(cin, cout, k, s, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]
        if act:
            layers.append(nn.ReLU6(inplace=True))
        super().__init__(*layers)


class InvertedResidual(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, expand: int = 4, k: int = 3):
        super().__init__()
        mid = cin * expand
        self.use_res = stride == 1 and cin == cout
        self.block = nn.Sequential(
            ConvBNAct(cin, mid, 1) if expand != 1 else nn.Identity(),
            ConvBNAct(mid, mid, k, stride, groups=mid),
            ConvBNAct(mid, cout, 1, act=False),
        )

    def forward(self, x):
        y = self.block(x)
        return x + y if self.use_res else y


def make_stages(cin: int, stages: list[tuple[int, int, int, int]],
                zero_init_residual: bool = False) -> tuple[nn.Sequential, list[int]]:
    """Stages of inverted residuals from (channels, blocks, stride, expand); returns module and widths.

    ``zero_init_residual`` starts every residual block as the identity (its last BN scale at 0), so
    a shallower checkpoint with the same first blocks loads into a deeper net with its function unchanged.
    """
    mods, widths = [], []
    for cout, n, s, e in stages:
        blocks = [InvertedResidual(cin if i == 0 else cout, cout, s if i == 0 else 1, e) for i in range(n)]
        for b in blocks if zero_init_residual else ():
            if b.use_res:
                nn.init.zeros_(b.block[-1][1].weight)
        mods.append(nn.Sequential(*blocks))
        widths.append(cout)
        cin = cout
    return nn.Sequential(*mods), widths
