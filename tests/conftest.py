"""Shared fixtures."""

from __future__ import annotations

import types
from pathlib import Path

import cv2
import numpy as np
import pytest

# The real data lives beside the repository, never in it (absent on a user's machine).
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture
def shared_data() -> Path:
    """Path to /work/shared/data (beside the repo); skips the test when it is absent."""
    if not SHARED_DATA.exists():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


# --- dots: check that keypoints follow the pixels through a warp ------------------------------

def render_dots(points: np.ndarray, size: int, sigma: float = 1.2) -> np.ndarray:
    """Gray Gaussian dots centred on continuous-coordinate points (pixel i spans [i, i+1))."""
    yy, xx = np.mgrid[0:size, 0:size] + 0.5
    img = np.zeros((size, size), np.float64)
    for x, y in points:
        img = np.maximum(img, np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * sigma**2)))
    return np.repeat((img * 255).round().astype(np.uint8)[:, :, None], 3, 2)


def dot_centres(img: np.ndarray, threshold: int = 25) -> np.ndarray:
    """Intensity-weighted centroid of each separate dot, in continuous coordinates."""
    g = img[:, :, 0] if img.ndim == 3 else img
    n, lab = cv2.connectedComponents((g > threshold).astype(np.uint8))
    yy, xx = np.mgrid[0 : g.shape[0], 0 : g.shape[1]] + 0.5
    out = []
    for i in range(1, n):
        w = np.where(lab == i, g.astype(np.float64), 0.0)
        out.append([(xx * w).sum() / w.sum(), (yy * w).sum() / w.sum()])
    return np.array(out).reshape(-1, 2)


def match_error(found: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """Per expected point, the distance to the nearest found dot (one dot each)."""
    assert len(found) == len(expected), f"found {len(found)} dots, expected {len(expected)}"
    d = np.linalg.norm(found[None] - expected[:, None], axis=-1)
    assert len(set(d.argmin(1))) == len(expected), "two points matched the same dot"
    return d.min(1)


def spread_points(rng, n, lo, hi, min_dist=10.0):
    pts = []
    while len(pts) < n:
        p = rng.uniform(lo, hi, 2)
        if all(np.linalg.norm(p - q) >= min_dist for q in pts):
            pts.append(p)
    return np.array(pts)


@pytest.fixture
def dots() -> types.SimpleNamespace:
    """Helpers to draw dots at points, find them again after a warp and compare."""
    return types.SimpleNamespace(render_dots=render_dots, dot_centres=dot_centres,
                                 match_error=match_error, spread_points=spread_points)
