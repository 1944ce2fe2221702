"""Synthetic hands for the gesture tests: a right hand, palm to the camera, fingers up."""

from __future__ import annotations

import numpy as np
import pytest

# finger base (MCP) positions and directions in hand units (wrist at 0, up = -y)
_MCP = {1: (-0.35, -0.25), 2: (-0.25, -0.8), 3: (0.0, -1.0), 4: (0.22, -0.95), 5: (0.42, -0.85)}
_LEN = {1: (0.45, 0.35, 0.3), 2: (0.45, 0.28, 0.22), 3: (0.5, 0.3, 0.24), 4: (0.46, 0.28, 0.22),
        5: (0.36, 0.22, 0.2)}


def _chain(base, direction_deg, lengths, bends_deg):
    pts, p, a = [], np.array(base, float), np.radians(direction_deg)
    for seg, bend in zip(lengths, bends_deg):
        p = p + seg * np.array([np.cos(a), np.sin(a)])
        pts.append(p.copy())
        a += np.radians(bend)
    return pts


def synth_hand(pose: str, angle: float = 0.0, scale: float = 100.0, mirror: bool = False,
               center=(320.0, 240.0)) -> np.ndarray:
    """(21, 2) pixel keypoints of a named pose, rotated by ``angle`` degrees (image plane),
    scaled to ``scale`` px per hand unit, optionally mirrored (a left hand)."""
    ext = {"open_palm": "11111", "stop": "01111", "fist": "00000", "point": "01000",
           "victory": "01100", "thumbs_up": "10000", "call": "10001", "rock": "01001",
           "i_love_you": "11001", "ok": "00111", "pinch": "00000"}[pose]
    together = pose == "stop"
    kp = np.zeros((21, 2))
    up = -90.0
    spread = {2: -12, 3: -3, 4: 6, 5: 15} if not together else {2: -3, 3: -1, 4: 1, 5: 3}
    for f in range(2, 6):
        base = _MCP[f] if not together else (_MCP[f][0] * 0.6, _MCP[f][1])
        kp[(f - 1) * 4 + 1] = base
        bends = (0, 0) if ext[f - 1] == "1" else (110, 80)
        first = up + spread[f]
        pts = _chain(base, first, _LEN[f], (bends[0], bends[1], 0))
        kp[(f - 1) * 4 + 2:(f - 1) * 4 + 5] = pts
    # thumb: CMC, then MCP, IP, TIP
    kp[1] = _MCP[1]
    if ext[0] == "1":
        kp[2:5] = _chain(_MCP[1], -150, _LEN[1], (0, 0, 0))
    elif pose in ("ok", "pinch"):
        # index bent towards the thumb, thumb tip on the index tip
        kp[6:9] = _chain(kp[5], -110, _LEN[2], (-60, -50, 0))
        kp[2] = _chain(_MCP[1], -120, _LEN[1][:1], (0,))[0]
        kp[4] = kp[8] + np.array([-0.03, 0.03])
        kp[3] = (kp[2] + kp[4]) / 2
    else:
        # thumb folded across the palm
        kp[2:5] = _chain(_MCP[1], -60, _LEN[1], (60, 40, 0))
    if mirror:
        kp[:, 0] = -kp[:, 0]
    if pose == "thumbs_up":
        angle += 60.0 if not mirror else -60.0   # the thumb (at -150 deg) points straight up
    a = np.radians(angle)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return (kp @ rot.T) * scale + np.asarray(center)


@pytest.fixture
def make_hand():
    return synth_hand
