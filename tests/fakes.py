"""Stand-ins for the detector and the keypoint regressor: the tracker's logic without models."""

from dataclasses import dataclass

import cv2
import numpy as np
import pytest

from gesturekit.geometry import Crop, box_of
from gesturekit.layouts import HAND_21


def write_clip(path, n: int = 12, size: tuple[int, int] = (64, 48), fps: float = 30.0, codec: str = "MJPG",
               start: int = 10, step: int = 20):
    """A small video of ``n`` flat frames (frame i filled with ``start + step * i``); returns ``path``."""
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*codec), fps, size)
    assert w.isOpened(), f"cannot write {path} with {codec}"
    for i in range(n):
        w.write(np.full((size[1], size[0], 3), start + step * i, np.uint8))
    w.release()
    return path


# A left hand, fingers up, palm to the camera (thumb on the image's left), in a unit box (x right, y down).
_TEMPLATE = np.array([
    [0.50, 1.00], [0.30, 0.90], [0.18, 0.75], [0.10, 0.62], [0.02, 0.52],
    [0.38, 0.55], [0.36, 0.35], [0.35, 0.20], [0.34, 0.06],
    [0.52, 0.52], [0.52, 0.30], [0.52, 0.15], [0.52, 0.00],
    [0.65, 0.55], [0.67, 0.35], [0.68, 0.20], [0.69, 0.08],
    [0.78, 0.60], [0.82, 0.45], [0.84, 0.35], [0.86, 0.25]], np.float32)


def hand_at(cx, cy, size=60.0):
    return (_TEMPLATE - 0.5) * size + np.array([cx, cy], np.float32)


@dataclass
class Dets:
    boxes: np.ndarray
    scores: np.ndarray
    angles: np.ndarray


class FakeDetector:
    """Boxes around the true hands of the current frame (keypoint box + 10% margin)."""

    def __init__(self):
        self.truth: list[np.ndarray] = []
        self.calls = 0

    def detect(self, frame):
        self.calls += 1
        boxes = []
        for kp in self.truth:
            b = box_of(kp)
            m = 0.1 * max(b[2] - b[0], b[3] - b[1])
            boxes.append(b + np.array([-m, -m, m, m]))
        n = len(boxes)
        return Dets(np.array(boxes, np.float32).reshape(n, 4), np.full(n, 0.9, np.float32), np.full(n, np.nan))


class BlobDetector:
    """Boxes the white rectangles of a frame, but only those at least ``min_frac`` of its longer side:
    like a real detector, it misses hands that are small in the image it is given."""

    def __init__(self, min_frac=0.07):
        self.min_frac, self.calls = min_frac, 0

    def detect(self, frame):
        self.calls += 1
        gray = frame if frame.ndim == 2 else frame.max(2)
        n, _, stats, _ = cv2.connectedComponentsWithStats((gray > 127).astype(np.uint8))
        need = self.min_frac * max(frame.shape[:2])
        boxes = [[x, y, x + w, y + h] for x, y, w, h, _ in stats[1:] if max(w, h) >= need]
        k = len(boxes)
        return Dets(np.array(boxes, np.float32).reshape(k, 4), np.full(k, 0.9, np.float32), np.full(k, np.nan))


class FakeRegressor:
    """Returns the true hand nearest to each crop's centre, if it lies inside the crop."""

    layout = HAND_21

    def __init__(self, noise=0.0, seed=0):
        self.truth: list[np.ndarray] = []
        self.noise = noise
        self.rng = np.random.default_rng(seed)
        self.calls = 0

    def predict(self, frame, crops):
        self.calls += 1
        kps, confs = [], []
        for c in crops:
            assert isinstance(c, Crop)
            best, dist = None, np.inf
            for kp in self.truth:
                d = float(np.linalg.norm(kp.mean(0) - [c.cx, c.cy]))
                if d < dist:
                    best, dist = kp, d
            if best is None or dist > c.size / 2:
                kps.append(np.full((21, 2), [c.cx, c.cy], np.float32))
                confs.append(np.full(21, 0.05, np.float32))
            else:
                kps.append(best + self.rng.normal(0, self.noise, best.shape).astype(np.float32))
                confs.append(np.full(21, 0.9, np.float32))
        return np.array(kps, np.float32).reshape(-1, 21, 2), np.array(confs, np.float32).reshape(-1, 21)


def set_truth(det, reg, hands):
    det.truth = reg.truth = [np.asarray(h, np.float32) for h in hands]


def pretend_gpu(monkeypatch, *, driver: bool = True, ort_cuda: bool = False, torch_cuda: bool = True):
    """Make this CPU machine look, to gesturekit.runtime, like one with an NVIDIA driver, ONNX Runtime
    with or without CUDA, and torch with or without CUDA; returns torch."""
    torch = pytest.importorskip("torch")
    import onnxruntime as ort

    from gesturekit import runtime

    providers = ["CUDAExecutionProvider", "CPUExecutionProvider"] if ort_cuda else ["CPUExecutionProvider"]
    monkeypatch.setattr(runtime, "_nvidia_driver", lambda: driver)
    monkeypatch.setattr(ort, "get_available_providers", lambda: providers)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: torch_cuda)
    monkeypatch.setattr(runtime, "_torch_has_cuda_build", lambda: torch_cuda)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    return torch
