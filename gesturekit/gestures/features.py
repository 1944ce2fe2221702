"""Hand-pose features from 21 pixel keypoints (MediaPipe / OpenPose hand layout).

Two families:

* :func:`hand_features` – interpretable finger states for the rule classifier.
  Everything is a ratio of distances or an angle, so it does not change with
  scale, in-plane rotation, hand side or palm/back facing. The one exception is
  :attr:`HandFeatures.thumb_dir`, the thumb's direction in *image* coordinates:
  thumbs-up vs thumbs-down is defined by the image "up", so it cannot be
  rotation invariant.
* :func:`canonicalize` / :func:`kinivi_normalize` / :func:`mlp_input` – the MLP
  input: points rotated so wrist→middle-MCP points up, left hands mirrored (so one
  model serves both hands), then the kinivi normalisation (wrist-relative,
  divided by the largest absolute value).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

WRIST = 0
THUMB = (1, 2, 3, 4)
INDEX = (5, 6, 7, 8)
MIDDLE = (9, 10, 11, 12)
RING = (13, 14, 15, 16)
LITTLE = (17, 18, 19, 20)
FINGERS = (THUMB, INDEX, MIDDLE, RING, LITTLE)
TIPS = (4, 8, 12, 16, 20)
FINGER_NAMES = ("thumb", "index", "middle", "ring", "little")


def check_keypoints(keypoints, name: str = "keypoints") -> np.ndarray:
    """Return ``keypoints`` as float64 (21, 2); ValueError on a wrong shape, NaN or inf.

    A missing point (NaN, as trackers mark unseen joints) is an error here: a
    gesture read from a partial hand would be a guess.
    """
    kp = np.asarray(keypoints, dtype=np.float64)
    if kp.shape != (21, 2):
        raise ValueError(f"{name}: shape {kp.shape}, expected (21, 2) pixel keypoints")
    bad = ~np.isfinite(kp).all(axis=1)
    if bad.any():
        raise ValueError(f"{name}: points {np.flatnonzero(bad).tolist()} are missing (NaN/inf)")
    if hand_size(kp) <= 1e-6:
        raise ValueError(f"{name}: degenerate hand (wrist and middle MCP coincide)")
    return kp


def hand_size(kp: np.ndarray) -> float:
    """Wrist → middle-finger MCP distance, the unit for every scaled distance."""
    return float(np.linalg.norm(kp[MIDDLE[0]] - kp[WRIST]))


def _angle(a: np.ndarray, b: np.ndarray) -> float:
    """Angle in degrees between two vectors (0 = same direction)."""
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na < 1e-9 or nb < 1e-9:
        return 0.0
    c = float(np.dot(a, b) / (na * nb))
    return float(np.degrees(np.arccos(np.clip(c, -1.0, 1.0))))


def _ramp(x: float, lo: float, hi: float) -> float:
    """0 at ``lo``, 1 at ``hi``, linear between (works for lo > hi too)."""
    return float(np.clip((x - lo) / (hi - lo), 0.0, 1.0))


@dataclass(frozen=True)
class HandFeatures:
    """Interpretable pose features of one hand (see module docstring)."""

    extended: np.ndarray    # (5,) thumb..little, 0 = curled, 1 = straight and out
    bend: np.ndarray        # (5, 2) bend angles (deg) at the two middle joints (PIP, DIP / MCP, IP)
    reach: np.ndarray       # (5,) |tip - wrist| / |pip - wrist| (thumb: |tip - little MCP| / |MCP - little MCP|)
    tip_dist: np.ndarray    # (5, 5) fingertip distances / hand size
    spread: float           # mean gap between adjacent extended-finger tips / hand size
    thumb_dir: np.ndarray   # (2,) unit vector thumb MCP → tip in image coordinates (y down)
    thumb_index_gap: float  # thumb tip to index PIP / hand size (thumb tucked alongside)
    size: float             # hand size in pixels
    fold: np.ndarray        # (5,) |tip - its finger's root joint (thumb: MCP)| / hand size; a fist folds it to ~0.2


def hand_features(keypoints) -> HandFeatures:
    """Finger states and distances of one hand (invariant except :attr:`thumb_dir`)."""
    kp = check_keypoints(keypoints)
    size = hand_size(kp)
    wrist = kp[WRIST]
    ext = np.zeros(5)
    bend = np.zeros((5, 2))
    reach = np.zeros(5)
    for f, (a, b, c, d) in enumerate(FINGERS):
        b1 = _angle(kp[b] - kp[a], kp[c] - kp[b])
        b2 = _angle(kp[c] - kp[b], kp[d] - kp[c])
        bend[f] = (b1, b2)
        if f == 0:
            # Thumb: out when its tip is further from the little MCP than its MCP is,
            # and its two joints are not folded.
            ref = kp[LITTLE[0]]
            r = np.linalg.norm(kp[d] - ref) / max(np.linalg.norm(kp[b] - ref), 1e-9)
            reach[f] = r
            straight = _ramp(b1 + b2, 90.0, 35.0)
            ext[f] = _ramp(r, 1.05, 1.45) * (0.4 + 0.6 * straight)
        else:
            r = np.linalg.norm(kp[d] - wrist) / max(np.linalg.norm(kp[b] - wrist), 1e-9)
            reach[f] = r
            straight = _ramp(b1 + b2, 110.0, 40.0)
            ext[f] = _ramp(r, 1.0, 1.35) * (0.3 + 0.7 * straight)
    tips = kp[list(TIPS)]
    tip_dist = np.linalg.norm(tips[:, None] - tips[None], axis=-1) / size
    gaps = [tip_dist[i, i + 1] for i in range(1, 4) if ext[i] > 0.5 and ext[i + 1] > 0.5]
    spread = float(np.mean(gaps)) if gaps else 0.0
    tv = kp[THUMB[3]] - kp[THUMB[1]]
    n = np.linalg.norm(tv)
    thumb_dir = tv / n if n > 1e-9 else np.zeros(2)
    gap = float(np.linalg.norm(kp[THUMB[3]] - kp[INDEX[1]]) / size)
    roots = [THUMB[1]] + [f[0] for f in FINGERS[1:]]
    fold = np.linalg.norm(tips - kp[roots], axis=1) / size
    return HandFeatures(ext, bend, reach, tip_dist, spread, thumb_dir, gap, size, fold)


# --- MLP input ---------------------------------------------------------------------------

def canonicalize(keypoints, handedness: str | None = None) -> np.ndarray:
    """Wrist at the origin, wrist→middle MCP pointing up (−y), unit hand size; left hands
    mirrored in x so they look like right hands. ``handedness`` None leaves x as is."""
    kp = check_keypoints(keypoints)
    rel = kp - kp[WRIST]
    v = rel[MIDDLE[0]]
    size = np.linalg.norm(v)
    # v is (0, -1) turned by ang (x right, y down); turning back by -ang makes it point up
    ang = np.arctan2(v[0], -v[1])
    c, s = np.cos(ang), np.sin(ang)
    rot = np.array([[c, s], [-s, c]])
    out = rel @ rot.T / size
    if handedness is not None:
        side = str(handedness).lower()
        if side not in ("left", "right"):
            raise ValueError(f"handedness: {handedness!r}, expected 'left', 'right' or None")
        if side == "left":
            out[:, 0] = -out[:, 0]
    return out


def kinivi_normalize(keypoints) -> np.ndarray:
    """kinivi's pre-processing: wrist-relative, flattened, divided by the largest |value|.

    Returns (42,) float32, the layout of ``gestures-kinivi/keypoint.csv``.
    """
    kp = np.asarray(keypoints, dtype=np.float64).reshape(21, 2)
    rel = (kp - kp[WRIST]).reshape(-1)
    m = np.abs(rel).max()
    return (rel / m if m > 0 else rel).astype(np.float32)


def mlp_input(keypoints, handedness: str | None = None, frame: str = "canonical") -> np.ndarray:
    """(42,) float32 MLP input. ``frame``: "canonical" (rotated + mirrored, then kinivi
    normalisation) or "kinivi" (kinivi normalisation only, as in kinivi's own model)."""
    if frame == "canonical":
        return kinivi_normalize(canonicalize(keypoints, handedness))
    if frame == "kinivi":
        return kinivi_normalize(check_keypoints(keypoints))
    raise ValueError(f"frame: {frame!r}, expected 'canonical' or 'kinivi'")


def mlp_inputs(keypoints: np.ndarray, handedness=None, frame: str = "canonical") -> np.ndarray:
    """Batch version of :func:`mlp_input`: (N, 21, 2) → (N, 42). ``handedness`` is
    None or a sequence of N values."""
    kps = np.asarray(keypoints, dtype=np.float64)
    if kps.ndim != 3 or kps.shape[1:] != (21, 2):
        raise ValueError(f"keypoints: shape {kps.shape}, expected (N, 21, 2)")
    hs = [None] * len(kps) if handedness is None else list(handedness)
    if len(hs) != len(kps):
        raise ValueError(f"handedness: {len(hs)} values for {len(kps)} hands")
    out = np.zeros((len(kps), 42), np.float32)
    for i, (k, h) in enumerate(zip(kps, hs)):
        out[i] = mlp_input(k, h, frame)
    return out
