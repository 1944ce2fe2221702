"""HandDetector: frame → hand boxes, scores and angles (pre/post-processing around a Runner).

The shipped network (``handdet_s4``, CenterNet-style) sees the frame
letterboxed to its input size (192×256 H×W: a 640×480 webcam frame fits
exactly, 16:9 is padded). Peaks of its centre heatmap (3×3 local maxima) become boxes, then ``cv2.dnn.NMSBoxes`` removes
duplicates. :class:`TFSavedModelDetector` puts a TF Object Detection API
SavedModel behind the same ``detect``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from .errors import ModelFileError, missing_extra
from .geometry import box_iou
from .images import as_bgr_uint8
from .runtime import Runner, check_threads, default_model, require_outputs

PAD_VALUE = 114  # letterbox grey, as in training


def _is_number(v: object) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))


@dataclass
class DetectorOptions:
    """Options of :class:`HandDetector` (validated on creation)."""

    model_path: str | Path | None = None  # None: the shipped detector (.pt for backend "torch")
    backend: str = "auto"          # auto (by suffix) | onnx | torch
    device: str = "auto"           # auto | cpu | cuda
    threads: int | None = 2
    score_threshold: float = 0.2   # shipped model's peaks are modest: at 0.3 most hands26k hands fell below
    nms_iou: float = 0.45
    max_hands: int = 4
    spin_wait: bool = True         # ONNX Runtime threads spin between runs (Runner.load; the tracker turns it off)

    def __post_init__(self) -> None:
        if self.backend not in ("auto", "onnx", "torch"):
            raise ValueError(f"backend: {self.backend!r} is not one of 'auto', 'onnx', 'torch'")
        if self.device not in ("auto", "cpu", "cuda"):
            raise ValueError(f"device: {self.device!r} is not one of 'auto', 'cpu', 'cuda'")
        check_threads(self.threads)
        # a string or None would pass float() here (or fail there unnamed) and break the first detect
        if not _is_number(self.score_threshold) or not 0.0 <= self.score_threshold <= 1.0:
            raise ValueError(f"score_threshold: must be a number in [0, 1], got {self.score_threshold!r}")
        if not _is_number(self.nms_iou) or not 0.0 < self.nms_iou <= 1.0:
            raise ValueError(f"nms_iou: must be a number in (0, 1], got {self.nms_iou!r}")
        if not isinstance(self.max_hands, int) or isinstance(self.max_hands, bool) or self.max_hands < 1:
            raise ValueError(f"max_hands: must be an int >= 1, got {self.max_hands!r}")
        if not isinstance(self.spin_wait, bool):
            raise ValueError(f"spin_wait: must be True or False, got {self.spin_wait!r}")
        if self.model_path is not None and not isinstance(self.model_path, (str, os.PathLike)):
            raise ValueError(f"model_path: must be a path or None, got {type(self.model_path).__name__}")
        self.model_path = Path(self.model_path) if self.model_path is not None else default_model(
            "detector.onnx", self.backend, self.device)


@dataclass
class Detections:
    """Hands found in one frame, best first. ``boxes`` x1 y1 x2 y2 in frame pixels."""

    boxes: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.float32))
    scores: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    angles: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))  # radians, NaN: unknown

    def __len__(self) -> int:
        return len(self.scores)


def letterbox(frame: np.ndarray, out_h: int, out_w: int) -> tuple[np.ndarray, tuple[float, float], float, float]:
    """Fit ``frame`` centred into out_h×out_w with grey padding; returns image, (x, y) scale, dx, dy.

    The scale is per axis: rounding to whole pixels (and the halving steps dropping an odd last
    row or column) stretches x and y differently, by up to several pixels on a tall phone frame."""
    h, w = frame.shape[:2]
    s = min(out_w / w, out_h / h)
    nw, nh = max(1, round(w * s)), max(1, round(h * s))
    dx, dy = (out_w - nw) // 2, (out_h - nh) // 2
    out = np.full((out_h, out_w, 3), PAD_VALUE, np.uint8)
    # INTER_AREA at a non-integer factor costs ~1.5 ms for a 640×480 frame; exact 2× area steps
    # (a fast path in OpenCV) and one linear step of at most 2× give nearly its pixels in ~0.25 ms.
    halved = 1
    while frame.shape[0] >= 2 * nh and frame.shape[1] >= 2 * nw:
        h2, w2 = frame.shape[0] // 2, frame.shape[1] // 2
        frame = cv2.resize(frame[:2 * h2, :2 * w2], (w2, h2), interpolation=cv2.INTER_AREA)
        halved *= 2
    out[dy:dy + nh, dx:dx + nw] = cv2.resize(frame, (nw, nh), interpolation=cv2.INTER_LINEAR)
    return out, (nw / (frame.shape[1] * halved), nh / (frame.shape[0] * halved)), float(dx), float(dy)


def to_batch(img: np.ndarray) -> np.ndarray:
    """BGR uint8 H×W×3 → (1, 3, H, W) float32 RGB in 0..1."""
    return cv2.dnn.blobFromImage(img, 1.0 / 255.0, swapRB=True)  # 3× faster than numpy here


def decode(out: dict[str, np.ndarray], stride: int, scale: tuple[float, float], dx: float, dy: float, frame_w: int,
           frame_h: int, score_threshold: float, nms_iou: float, max_hands: int, index: int = 0,
           top_k: int = 100) -> Detections:
    """Peaks of one image's maps (``index`` in the batch) → boxes in frame pixels, NMS'd."""
    scores = out["scores"][index, 0]
    # a hand is a local maximum of its 3×3 neighbourhood (CenterNet's max-pool "NMS")
    scores = scores * (scores >= cv2.dilate(scores, np.ones((3, 3), np.uint8)))
    flat = scores.ravel()
    cand = np.flatnonzero(flat >= score_threshold)
    if cand.size == 0:
        return Detections()
    if cand.size > top_k:
        cand = cand[np.argpartition(-flat[cand], top_k)[:top_k]]
    W = scores.shape[1]
    iy, ix = np.divmod(cand, W)
    off = out["offset"][index][:, iy, ix]
    size = np.exp(np.clip(out["size"][index][:, iy, ix], -4, 8)) * stride
    cx, cy = (ix + off[0]) * stride, (iy + off[1]) * stride
    b = np.stack([cx - size[0] / 2, cy - size[1] / 2, cx + size[0] / 2, cy + size[1] / 2], 1)
    sx, sy = scale
    b = (b - [dx, dy, dx, dy]) / [sx, sy, sx, sy]
    b = np.clip(b, 0, [frame_w, frame_h, frame_w, frame_h]).astype(np.float32)
    sc = flat[cand].astype(np.float32)
    if "angle" in out:
        a = out["angle"][index][:, iy, ix]
        ang = np.arctan2(a[0], a[1]).astype(np.float32)
    else:
        ang = np.full(len(cand), np.nan, np.float32)
    # the cap applies to what NMS keeps: as OpenCV's top_k it would cap what takes part, and two
    # peaks on one hand could push another hand out
    keep = nms(b, sc, score_threshold, nms_iou)[:max_hands]
    return Detections(b[keep], sc[keep], ang[keep])


def nms(boxes: np.ndarray, scores: np.ndarray, score_threshold: float, iou: float, top_k: int = 0) -> np.ndarray:
    """Indices of the boxes (x1 y1 x2 y2) that ``cv2.dnn.NMSBoxes`` keeps, best first (``top_k`` > 0:
    only the ``top_k`` best boxes take part, as OpenCV does it)."""
    # OpenCV takes top_k as a C int: max_hands=10**10 overflowed there; no more than all boxes can be kept
    top_k = min(int(top_k), len(boxes))
    keep = cv2.dnn.NMSBoxes([[float(x1), float(y1), float(x2 - x1), float(y2 - y1)] for x1, y1, x2, y2 in boxes],
                            np.asarray(scores, np.float32).tolist(), score_threshold, iou, top_k=top_k)
    keep = np.array(keep, np.int64).reshape(-1)
    return keep[np.argsort(-np.asarray(scores)[keep], kind="stable")]


class HandDetector:
    """Finds hands in frames of any size: ``HandDetector(DetectorOptions()).detect(frame)``."""

    def __init__(self, options: DetectorOptions | None = None):
        self.options = options or DetectorOptions()
        o = self.options
        self.runner = Runner.load(o.model_path, o.backend, o.device, o.threads, task="detector",
                                  spin_wait=o.spin_wait)
        size = self.runner.input_size
        self.input_h, self.input_w = (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
        self.stride = int(self.runner.meta.get("stride", 4))
        require_outputs(self.runner, {"scores", "size", "offset"})

    def detect(self, frame: np.ndarray) -> Detections:
        """Boxes (x1 y1 x2 y2 px), scores and angles of the hands in ``frame`` (BGR, gray, BGRA, float)."""
        img = as_bgr_uint8(frame)
        h, w = img.shape[:2]
        lb, s, dx, dy = letterbox(img, self.input_h, self.input_w)
        out = self.runner(to_batch(lb))
        o = self.options
        return decode(out, self.stride, s, dx, dy, w, h, o.score_threshold, o.nms_iou, o.max_hands)

    def detect_batch(self, frames: Iterable[np.ndarray] | np.ndarray) -> list[Detections]:
        """Several frames in one network call (each letterboxed on its own); ``frames`` is a
        sequence of images or an N×H×W×C array."""
        if frames is None or (isinstance(frames, np.ndarray) and frames.ndim != 4):
            # one frame iterated would be read as H images of its rows
            got = "None" if frames is None else f"an array of shape {frames.shape}"
            raise ValueError(f"frames: expected a list of images or an N×H×W×C array, got {got}")
        frames = list(frames)  # a generator would be spent by the first pass and give no results
        if not frames:
            return []
        prep = [letterbox(as_bgr_uint8(f, f"frames[{i}]"), self.input_h, self.input_w) for i, f in enumerate(frames)]
        out = self.runner(np.concatenate([to_batch(p[0]) for p in prep]))
        o = self.options
        return [decode(out, self.stride, s, dx, dy, f.shape[1], f.shape[0], o.score_threshold, o.nms_iou,
                       o.max_hands, index=i) for i, (f, (_, s, dx, dy)) in enumerate(zip(frames, prep))]


def detect_tiles(detector, frame: np.ndarray, grid: int = 2, overlap: float = 0.25,
                 nms_iou: float = 0.45) -> Detections:
    """``detector.detect`` on ``grid`` × ``grid`` overlapping tiles of ``frame``, boxes mapped back to
    the frame and merged by NMS, best first.

    Each tile is seen at the detector's full input size, so a hand ``grid`` times too small for the
    whole frame (a far hand, a big photo) is seen at a size it finds. ``overlap`` is how much wider
    than ``1 / grid`` of the frame each tile is, so a hand on a seam is whole in some tile.
    """
    if not isinstance(grid, int) or isinstance(grid, bool) or grid < 1:
        raise ValueError(f"grid: must be an int >= 1, got {grid!r}")
    if not 0.0 <= overlap < 1.0:
        raise ValueError(f"overlap: must lie in [0, 1), got {overlap}")
    img = as_bgr_uint8(frame)
    h, w = img.shape[:2]
    tw, th = min(w, round(w / grid * (1 + overlap))), min(h, round(h / grid * (1 + overlap)))
    if grid == 1 or min(tw, th) < 2:  # a frame too small to cut is read whole
        return as_detections(detector.detect(img))
    # one call per tile: on this CPU a batch of 4 took as long (20 ms)
    found = [as_detections(detector.detect(img[y0:y0 + th, x0:x0 + tw]), (x0, y0))
             for y0 in np.linspace(0, h - th, grid).round().astype(int)
             for x0 in np.linspace(0, w - tw, grid).round().astype(int)]
    b, s, a = (np.concatenate(x) for x in zip(*((d.boxes, d.scores, d.angles) for d in found)))
    keep = nms(b, s, 0.0, nms_iou)
    return Detections(b[keep], s[keep], a[keep])


def as_detections(d, offset: tuple[float, float] = (0.0, 0.0)) -> Detections:
    """Any detector's output (``boxes``, ``scores``, ``angles`` or none) as :class:`Detections`,
    boxes moved by ``offset`` (x, y); unknown angles are NaN.

    ValueError when the output is not N boxes of 4 numbers with N scores (and N angles): a
    detector of your own that gets this wrong would otherwise fail deep inside OpenCV's NMS."""
    try:
        boxes = np.asarray(d.boxes, np.float32)
        scores = np.asarray(d.scores, np.float32).reshape(-1)
        angles = getattr(d, "angles", None)
        angles = np.full(len(scores), np.nan, np.float32) if angles is None else np.asarray(angles, np.float32).reshape(-1)
    except (AttributeError, TypeError, ValueError) as e:
        raise ValueError(f"detector output: expected .boxes (N, 4), .scores (N,) and optional .angles (N,) "
                         f"of numbers ({e})") from None
    if boxes.size == 0 or boxes.shape == (4,):  # no box, or one box as a flat list
        boxes = boxes.reshape(-1, 4)
    if boxes.ndim != 2 or boxes.shape[1] != 4 or len(scores) != len(boxes) or len(angles) != len(boxes):
        raise ValueError(f"detector output: boxes of shape {boxes.shape}, {len(scores)} scores and {len(angles)} "
                         "angles; expected boxes (N, 4) x1 y1 x2 y2 with N scores and N angles")
    return Detections(boxes + np.float32([*offset, *offset]), scores, angles)


class TFSavedModelDetector:
    """A TF Object Detection API SavedModel behind :meth:`HandDetector.detect`.

    The signature must return ``detection_boxes`` ([ymin, xmin, ymax, xmax] normalised),
    ``detection_scores``, ``detection_classes`` and ``num_detections``, and take a
    uint8 RGB batch. ``hand_classes`` None keeps every class.
    """

    def __init__(self, path: str | Path, options: DetectorOptions | None = None,
                 hand_classes: tuple[int, ...] | None = None, signature: str = "serving_default"):
        try:
            import tensorflow as tf
        except ImportError as e:
            raise missing_extra("tf", "tensorflow") from e
        self.options = options or DetectorOptions()
        self.path, self.hand_classes = Path(path), hand_classes
        if not (self.path / "saved_model.pb").is_file():
            raise ModelFileError(f"{self.path}: not a TF SavedModel folder (no saved_model.pb)")
        try:
            loaded = tf.saved_model.load(str(self.path))
        except Exception as e:  # tf raises many types for a damaged folder
            raise ModelFileError(f"{self.path}: cannot load SavedModel: {e}") from None
        if signature not in loaded.signatures:
            raise ModelFileError(f"{self.path}: no signature {signature!r} (has {list(loaded.signatures)})")
        self._tf, self._loaded, self._fn = tf, loaded, loaded.signatures[signature]
        self._input = next(iter(self._fn.structured_input_signature[1]))
        for k in ("detection_boxes", "detection_scores", "num_detections"):
            if k not in self._fn.structured_outputs:
                raise ModelFileError(f"{self.path}: signature lacks output {k!r}")

    def detect(self, frame: np.ndarray) -> Detections:
        img = as_bgr_uint8(frame)
        h, w = img.shape[:2]
        rgb = np.ascontiguousarray(img[None, :, :, ::-1])
        res = self._fn(**{self._input: self._tf.constant(rgb)})
        n = int(np.asarray(res["num_detections"]).reshape(-1)[0])
        boxes = np.asarray(res["detection_boxes"])[0, :n]
        scores = np.asarray(res["detection_scores"])[0, :n].astype(np.float32)
        keep = scores >= self.options.score_threshold
        if self.hand_classes is not None and "detection_classes" in res:
            cls = np.asarray(res["detection_classes"])[0, :n].astype(int)
            keep &= np.isin(cls, self.hand_classes)
        b = boxes[keep][:, [1, 0, 3, 2]] * [w, h, w, h]
        s = scores[keep]
        order = np.argsort(-s)[: self.options.max_hands]
        b, s = b[order].astype(np.float32), s[order]
        return Detections(b, s, np.full(len(s), np.nan, np.float32))


# ---------------------------------------------------------------- metrics (numpy; used by eval and training)


def average_precision(preds: list[Detections], gts: list[np.ndarray], iou: float) -> tuple[float, float]:
    """COCO-style (101-point) AP and the recall at ``iou`` over all images."""
    n_gt = sum(len(g) for g in gts)
    if n_gt == 0:
        return float("nan"), float("nan")
    recs = []
    for d, g in zip(preds, gts):
        order = np.argsort(-d.scores)
        ious = box_iou(d.boxes[order], g) if len(g) else np.zeros((len(order), 0))
        used = np.zeros(len(g), bool)
        for r, i in enumerate(order):
            j = -1
            if ious.shape[1]:
                cand = np.where(~used, ious[r], -1)
                j = int(cand.argmax()) if cand.max() >= iou else -1
            if j >= 0:
                used[j] = True
            recs.append((float(d.scores[i]), j >= 0))
    if not recs:
        return 0.0, 0.0
    recs.sort(key=lambda t: -t[0])
    tp = np.cumsum([t[1] for t in recs])
    fp = np.cumsum([not t[1] for t in recs])
    recall, precision = tp / n_gt, tp / np.maximum(tp + fp, 1)
    precision = np.maximum.accumulate(precision[::-1])[::-1]
    grid = np.linspace(0, 1, 101)
    idx = np.searchsorted(recall, grid, side="left")
    ap = float(np.mean([precision[i] if i < len(precision) else 0.0 for i in idx]))
    return ap, float(recall[-1])


def detection_metrics(preds: list[Detections], gts: list[np.ndarray]) -> dict[str, float]:
    """``ap50``, ``ap50_95`` (mean over IoU .50:.05:.95), ``recall@0.5``."""
    ap50, rec = average_precision(preds, gts, 0.5)
    aps = [average_precision(preds, gts, t)[0] for t in np.arange(0.5, 0.96, 0.05)]
    return {"ap50": round(ap50, 4), "ap50_95": round(float(np.mean(aps)), 4), "recall@0.5": round(rec, 4)}


def found_rate(preds: list[Detections], gts: list[np.ndarray], iou: float = 0.5) -> float:
    """Share of labelled boxes overlapped by some detection with IoU ≥ ``iou`` (unlabelled extras not penalised)."""
    hit = total = 0
    for d, g in zip(preds, gts):
        total += len(g)
        if len(g) and len(d):
            hit += int((box_iou(g, d.boxes).max(1) >= iou).sum())
    return hit / max(total, 1)
