"""LandmarkRegressor: warp hand crops, run the keypoint network, map points back to the frame.

The regressor was trained on upright crops whose side is :data:`CROP_SCALE` ×
the longer side of the hand's upright keypoint box (see
:func:`gesturekit.geometry.crop_from_keypoints`); the tracker builds its crops
the same way so that what it feeds matches what the network learned.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import cv2
import numpy as np

from .errors import LayoutMismatchError
from .geometry import Crop, crop_from_box, crop_from_keypoints
from .images import as_bgr_uint8
from .layouts import HAND_21, KeypointLayout

# Crop side as a multiple of the longer side of the hand's upright keypoint box.
# Shared by training (train/keypoint_data.py), the tracker and the detector adaptor.
CROP_SCALE = 1.5

DEFAULT_MODEL = "keypoints.onnx"
# crops per network call: a tracker's few crops are one call; a list of thousands is read in
# chunks instead of one (N, 3, S, S) array (100,000 crops at 128 px would be 19 GB)
MAX_BATCH = 64


def run_keypoint_net(runner, batch: np.ndarray, layout: KeypointLayout,
                     flip_test: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Crop batch ``(N, 3, S, S)`` → points ``(N, K, 2)`` in [-1, 1] crop coordinates and ``(N, K)``
    confidences. ``flip_test`` also reads the mirrored crops and averages the two (mmpose's flip
    test: more accurate, twice the network time)."""
    n = len(batch)
    flip_test = flip_test and n > 0
    # one call for the crops and their mirrors: a batch of 2N costs less than two of N
    out = runner(np.concatenate([batch, batch[..., ::-1]]) if flip_test else batch)
    xy, conf = out["xy"][:n].astype(np.float32), out["conf"][:n].astype(np.float32)
    if flip_test:
        # a mirrored crop mirrors x about the centre (exact in continuous coordinates) and swaps
        # the layout's left/right points
        fxy, fconf = out["xy"][n:].astype(np.float32), out["conf"][n:].astype(np.float32)
        fxy[..., 0] *= -1.0
        perm = list(layout.flip) if fxy.shape[1] == layout.num_points else list(range(fxy.shape[1]))
        xy, conf = (xy + fxy[:, perm]) / 2.0, (conf + fconf[:, perm]) / 2.0
    return xy, conf


class LandmarkRegressor:
    """21 (or K) keypoints per crop from the keypoint network.

    ``model_path`` None loads ``models/keypoints.onnx``. ``backend``/``device``/
    ``threads``/``spin_wait`` go to :meth:`gesturekit.runtime.Runner.load`.
    """

    def __init__(self, model_path: str | Path | None = None, backend: str = "auto", device: str = "auto",
                 threads: int | None = None, flip_test: bool = False, spin_wait: bool = True):
        from .runtime import Runner, default_model, require_outputs

        path = Path(model_path) if model_path is not None else default_model(DEFAULT_MODEL, backend, device)
        self.runner = Runner.load(path, backend=backend, device=device, threads=threads, task="keypoints",
                                  spin_wait=spin_wait)
        require_outputs(self.runner, {"xy", "conf"})
        size = self.runner.input_size
        self.input_size = int(size if isinstance(size, int) else size[0])
        lay = self.runner.meta.get("layout")
        self.layout: KeypointLayout = KeypointLayout.from_dict(lay, str(path)) if lay else HAND_21
        self.path = path
        self.flip_test = bool(flip_test)

    @property
    def num_points(self) -> int:
        return self.layout.num_points

    def crops_to_batch(self, frame: np.ndarray, crops: Sequence[Crop]) -> np.ndarray:
        """``(N, 3, S, S)`` float32 RGB 0..1 from a BGR uint8 frame."""
        s = self.input_size
        batch = np.empty((len(crops), 3, s, s), np.float32)
        for i, c in enumerate(crops):
            patch = cv2.cvtColor(c.warp(frame, s), cv2.COLOR_BGR2RGB)
            batch[i] = patch.transpose(2, 0, 1) * (1.0 / 255.0)
        return batch

    def predict(self, frame: np.ndarray, crops: Sequence[Crop]) -> tuple[np.ndarray, np.ndarray]:
        """Keypoints ``(N, K, 2)`` in frame pixels and confidences ``(N, K)`` for each crop.

        ``frame`` is any image :func:`gesturekit.images.as_bgr_uint8` accepts
        (BGR uint8 is the fast path). Crops run in batches of up to :data:`MAX_BATCH`.
        """
        frame = as_bgr_uint8(frame)
        if isinstance(crops, Crop):
            raise TypeError("crops: expected a sequence of Crop, got one Crop (wrap it in a list)")
        if crops is None or isinstance(crops, (str, bytes)) or not hasattr(crops, "__iter__"):
            raise TypeError(f"crops: expected a sequence of Crop, got {type(crops).__name__}")
        crops = list(crops)  # a generator or an object array is fine too (truth test, len, twice)
        k = self.num_points
        if not crops:
            return np.zeros((0, k, 2), np.float32), np.zeros((0, k), np.float32)
        for i, c in enumerate(crops):
            if not isinstance(c, Crop):
                raise TypeError(f"crops[{i}]: expected a gesturekit.geometry.Crop, got {type(c).__name__}")
            if not _usable(c):
                raise ValueError(f"crops[{i}]: not a usable crop {c} (needs finite numbers and size > 1 px)")
        parts = [run_keypoint_net(self.runner, self.crops_to_batch(frame, crops[i:i + MAX_BATCH]), self.layout,
                                  self.flip_test) for i in range(0, len(crops), MAX_BATCH)]
        xy, conf = (np.concatenate(a) for a in zip(*parts))
        if xy.shape[1] != k:
            raise LayoutMismatchError(f"{self.path}: model gave {xy.shape[1]} points, layout has {k}")
        s = self.input_size
        px = (xy + 1.0) * (s / 2.0)  # [-1, 1] → continuous crop pixels
        kps = np.stack([c.to_frame(p, s) for c, p in zip(crops, px)]).astype(np.float32)
        return kps, np.clip(conf, 0.0, 1.0).astype(np.float32)


def _usable(c: Crop) -> bool:
    """Finite numbers (a string field would reach numpy's isfinite as an object) and a side > 1 px."""
    v = (c.cx, c.cy, c.size, c.angle)
    if not all(np.ndim(x) == 0 and np.asarray(x).dtype.kind in "iuf" for x in v):
        return False
    return bool(np.isfinite(np.asarray(v, np.float64)).all() and c.size > 1)


Predict = Callable[[np.ndarray, Sequence[Crop]], tuple[np.ndarray, np.ndarray]]


# A first reading at the box's own angle less confident than this is read again at the other
# turns. On 300 hands26k val candidates the angle's reading was the best one for 84 %; below
# 0.3 mean confidence fall 20 % of them, and most of the other 16 %.
TURN_BELOW = 0.3
# ... unless it is below this: then no turn makes a hand of it, and skipping the search saves most
# of a hand-free frame's time. 0.1 was too high: upside-down hands (HaGRID thumbs_down, which
# hands26k lacks) often read below it upright and are found at a turn; at 0.05 thumbs_down through
# the recognizer went from 0.88 to 0.97 of held-out crops (bench/gestures_end_to_end.py).
HOPELESS_BELOW = 0.05


def acquire(predict: Predict, frame: np.ndarray, boxes: Sequence[np.ndarray], angles: Sequence[float],
            ratio: float, zooms: Sequence[float] = (1.0,), rotations: int = 1, refine: int = 1,
            crop_scale: float = CROP_SCALE, upright: bool = True,
            turn_every_zoom: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Keypoints ``(N, K, 2)`` and confidences ``(N, K)`` of hands known only by a box.

    Each box is read at every zoom (crop side = ``ratio`` × zoom × its longer side) at its own
    angle, in one batch, and the most confident reading kept. A hopeless reading (mean confidence
    < :data:`HOPELESS_BELOW`) is returned as it is. Where it is unsure (< :data:`TURN_BELOW`), the
    box is read again at every zoom (or, ``turn_every_zoom=False``, at the zoom that read best)
    and ``rotations`` - 1 more turns spread evenly from its angle:
    a box gives no reliable orientation
    (the detector's angle head is often off by 90° on fists and sideways thumbs), and a crop
    read far from upright confuses the fingers. Then ``refine`` passes on the upright crop that
    training used (21-point layouts, ``upright``), each kept unless clearly less confident.
    ``predict`` is :meth:`LandmarkRegressor.predict` or a wrapper of it.
    """
    if rotations < 1 or not zooms:
        raise ValueError("acquire: need rotations >= 1 and at least one zoom")
    nz = len(zooms)

    def most_confident(crops: list[Crop], per: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        k, c = predict(frame, crops)
        k, c = k.reshape(-1, per, *k.shape[1:]), c.reshape(-1, per, c.shape[-1])
        best = c.mean(2).argmax(1)
        rows = np.arange(len(k))
        return k[rows, best], c[rows, best], best

    kp, conf, best_zoom = most_confident(
        [crop_from_box(b, ratio * z, float(a)) for b, a in zip(boxes, angles) for z in zooms], nz)
    first = conf.mean(1)
    hopeful = np.flatnonzero(first >= HOPELESS_BELOW)
    unsure = hopeful[first[hopeful] < TURN_BELOW] if rotations > 1 else []
    if len(unsure):
        turns = [2.0 * np.pi * r / rotations for r in range(1, rotations)]
        widths = [zooms if turn_every_zoom else (zooms[best_zoom[i]],) for i in unsure]
        k2, c2, _ = most_confident([crop_from_box(boxes[i], ratio * z, float(angles[i]) + t)
                                    for i, zs in zip(unsure, widths) for z in zs for t in turns],
                                   len(widths[0]) * len(turns))
        won = c2.mean(1) > conf[unsure].mean(1)
        kp[unsure[won]], conf[unsure[won]] = k2[won], c2[won]
    for _ in range(refine if upright and len(hopeful) else 0):
        kp2, conf2 = predict(frame, [crop_from_keypoints(kp[i], crop_scale) for i in hopeful])
        better = conf2.mean(1) >= conf[hopeful].mean(1) - 0.05
        kp[hopeful[better]], conf[hopeful[better]] = kp2[better], conf2[better]
    return kp, conf
