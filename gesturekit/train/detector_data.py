"""Training scenes for the hand detector, synthesised from cached hand photos and backgrounds.

hands26k photos are 224×224 with one labelled hand; box-labelled frames (EgoHands,
or one's own in any format :func:`~gesturekit.io.boxes.read_boxes` reads) have
several boxed hands and are cached at ``EGO_SIZE``. A scene is a background (a
frame keeping its boxes, a plain/noise canvas, or one hands26k photo letterboxed)
with 1–4 hands26k tiles pasted at log-uniform scales, so small and multiple
hands are common; without hand photos, a scene is one frame alone. Images are
decoded once into ``.npy`` memmaps (the :mod:`gesturekit.train.cache` pattern).

The unlabelled second hand some hands26k photos show must not be taught as
background: tiles are cut tightly around the labelled hand (1.2–2.6× its
size), and inside a tile the negative heatmap loss is down-weighted to
``TILE_NEG_WEIGHT`` (outside the labelled hand's box), so a second hand that
survives the cut costs little.
"""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np

from ..errors import DataFormatError
from ..geometry import covered, hand_angle
from ..io.sample import Sample, boxes_from_keypoints
from ..io.yolo_pose import read_yolo_pose
from .cache import default_cache_dir

BOX_MARGIN = 0.10        # box = tight keypoint box grown by this × its longer side on every side
TILE_NEG_WEIGHT = 0.3    # negative-loss weight inside a pasted hands26k tile, outside its hand
MAX_OBJECTS = 24
EGO_VAL_FRAMES = 60      # frames held out for validation at most (EgoHands: 60 of 360)
EGO_SEED = 0
EGO_SIZE = (360, 640)    # (h, w) every box-labelled frame is cached at (letterboxed)
MIN_TRAIN_FRAMES = 2


def keypoint_box(kp: np.ndarray, margin: float = BOX_MARGIN, vis: np.ndarray | None = None) -> np.ndarray:
    """The detector's box convention: tight box of the (labelled) points, grown by ``margin`` × longer side."""
    b = boxes_from_keypoints(kp[None], None if vis is None else vis[None])[0]
    m = margin * max(b[2] - b[0], b[3] - b[1])
    return np.array([b[0] - m, b[1] - m, b[2] + m, b[3] + m], np.float32)


# ---------------------------------------------------------------- box-labelled frames


def fit_frame(w: int, h: int, shape: tuple[int, int] = EGO_SIZE) -> tuple[int, int, int, int]:
    """(new w, new h, dx, dy): a w×h frame resized keeping its aspect and centred in ``shape`` (h, w),
    as :func:`cache_frames` stores it (a 16:9 frame fills 640×360 exactly)."""
    H, W = shape
    s = min(W / w, H / h)
    nw, nh = max(1, min(W, round(w * s))), max(1, min(H, round(h * s)))
    return nw, nh, (W - nw) // 2, (H - nh) // 2


def read_frames(path: str | Path, label: str | None = None) -> list[Sample]:
    """Box-labelled frames from any format :func:`~gesturekit.io.boxes.read_boxes` reads (an EgoHands
    folder, YOLO ``images/`` + ``labels/``, VOC XML, COCO ``.json``, Open Images ``.csv``), sorted by
    image name, with boxes in pixels of the frame as :func:`cache_frames` stores it (``EGO_SIZE``);
    ``width`` and ``height`` stay the frame's own (checked against the image when it is decoded).
    ``label`` picks the hand class of a multi-class file (default: the hand-like one, as ``read_boxes``)."""
    from ..io.boxes import read_boxes

    frames: dict[str, Sample] = {}
    for s in read_boxes(path, label):
        name = Path(s.image).name
        if name in frames:  # the validation split goes by file name
            raise DataFormatError(f"{path}: two images named {name} ({frames[name].image} and {s.image})")
        if not Path(s.image).is_file():
            raise DataFormatError(f"{s.image}: image not found (named by the labels)")
        nw, nh, dx, dy = fit_frame(s.width, s.height)
        boxes = s.boxes * np.float32([nw / s.width, nh / s.height] * 2) + np.float32([dx, dy] * 2)
        frames[name] = Sample(Path(s.image), s.width, s.height, boxes.astype(np.float32), labels=s.labels)
    if not frames:
        raise DataFormatError(f"{path}: no labelled frames")
    return [frames[n] for n in sorted(frames)]


def val_frame_count(n: int) -> int:
    """Frames held out of ``n``: 20 %, at most ``EGO_VAL_FRAMES``, at least 1 (EgoHands: 60 of 360)."""
    return max(1, min(EGO_VAL_FRAMES, n // 5))


def frame_split(names: list[str], n_val: int | None = None, seed: int = EGO_SEED) -> tuple[list[str], list[str]]:
    """The fixed (train, val) split by image name: ``n_val`` (default :func:`val_frame_count`) names
    drawn with ``seed``. Training, ``eval detector --split`` and the presence gate all use it."""
    names = sorted(set(names))
    n_val = val_frame_count(len(names)) if n_val is None else n_val
    order = np.random.default_rng(seed).permutation(len(names))
    val = sorted(names[i] for i in order[:n_val])
    vs = set(val)
    return [n for n in names if n not in vs], val


def split_frames(frames: list[Sample], where: str | Path = "data") -> tuple[list[Sample], list[Sample]]:
    """``frames`` (from :func:`read_frames`) split by :func:`frame_split`; a clear error when fewer
    than ``MIN_TRAIN_FRAMES`` are left to train on."""
    tr, va = frame_split([Path(s.image).name for s in frames])
    if len(tr) < MIN_TRAIN_FRAMES:
        raise ValueError(f"data: {where} has {len(frames)} frames; {len(va)} held out for validation leave "
                         f"{len(tr)} to train on, and at least {MIN_TRAIN_FRAMES} are needed")
    vs = set(va)
    return ([s for s in frames if Path(s.image).name not in vs], [s for s in frames if Path(s.image).name in vs])


# ---------------------------------------------------------------- cache


def _open(cache_dir: Path):
    meta = json.loads((cache_dir / "meta.json").read_text())
    out = {"images": np.lib.format.open_memmap(cache_dir / "images.npy", mode="r"), **meta}
    for f in cache_dir.glob("*.npy"):
        if f.stem != "images":
            out[f.stem] = np.load(f)
    return out


def _decode_all(paths: list[Path], shape: tuple[int, int], out: Path, threads: int,
                sizes: list[tuple[int, int]] | None = None) -> None:
    """Decode ``paths`` into one (N, *shape, 3) memmap: resized to ``shape``, or with ``sizes`` (each
    image's labelled w, h, checked) letterboxed by :func:`fit_frame`, as the boxes were."""
    tmp = out.with_suffix(".tmp.npy")
    arr = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=(len(paths), *shape, 3))

    def work(i: int) -> None:
        img = cv2.imread(str(paths[i]), cv2.IMREAD_COLOR)
        if img is None:
            raise DataFormatError(f"{paths[i]}: cannot decode image")
        if sizes is not None:
            if (img.shape[1], img.shape[0]) != tuple(sizes[i]):  # the boxes would land off the hands
                raise DataFormatError(f"{paths[i]}: image is {img.shape[1]}×{img.shape[0]} but its labels "
                                      f"say {sizes[i][0]}×{sizes[i][1]}")
            nw, nh, dx, dy = fit_frame(img.shape[1], img.shape[0], shape)
            arr[i] = 114  # the detector's letterbox grey
            arr[i, dy:dy + nh, dx:dx + nw] = img if (nh, nw) == img.shape[:2] else cv2.resize(
                img, (nw, nh), interpolation=cv2.INTER_AREA)
            return
        if img.shape[:2] != shape:
            img = cv2.resize(img, (shape[1], shape[0]), interpolation=cv2.INTER_AREA)
        arr[i] = img

    with ThreadPoolExecutor(threads) as ex:
        list(ex.map(work, range(len(paths))))
    arr.flush()
    tmp.rename(out)


def cache_hands26k(root: str | Path, limit: int | None = None, cache_dir: str | Path | None = None,
                   threads: int = 2) -> dict:
    """Decode a YOLO-pose split of same-size photos; returns ``images`` memmap, ``keypoints``, ``source``."""
    samples = read_yolo_pose(root, sizes=(224, 224))
    if limit:
        samples = samples[:limit]
    # keyed by the images themselves: the same count of other images must not reuse these pixels
    h = hashlib.sha1("|".join(str(Path(s.image).resolve()) for s in samples).encode()).hexdigest()[:16]
    d = Path(cache_dir or default_cache_dir()) / f"det-h26-{h}"
    if not (d / "meta.json").exists():
        d.mkdir(parents=True, exist_ok=True)
        _decode_all([s.image for s in samples], (224, 224), d / "images.npy", threads)
        (d / "meta.json").write_text(json.dumps({"source": [str(s.image) for s in samples]}))
    out = _open(d)
    # the labels are read afresh (the cache keeps pixels): an edited label file counts, and a point
    # left unlabelled (stored at 0, 0) sits on its hand's labelled centroid, off every box and angle
    kp = np.stack([s.keypoints[0] for s in samples]).astype(np.float32)
    for k, v in zip(kp, (s.visible[0] for s in samples)):
        if v.any():
            k[~v] = k[v].mean(0)
    out["keypoints"] = kp
    return out


def cache_frames(frames: list[Sample], cache_dir: str | Path | None = None, threads: int = 2) -> dict:
    """Decode box-labelled frames (from :func:`read_frames`) letterboxed to ``EGO_SIZE``; returns
    ``images`` memmap, ``boxes`` (a list of (N, 4), in those pixels) and ``source``."""
    paths = [Path(s.image) for s in frames]
    h = hashlib.sha1("|".join(str(p.resolve()) for p in paths).encode()).hexdigest()[:16]
    d = Path(cache_dir or default_cache_dir()) / f"det-ego-{h}"
    if not (d / "meta.json").exists():
        d.mkdir(parents=True, exist_ok=True)
        _decode_all(paths, EGO_SIZE, d / "images.npy", threads, sizes=[(s.width, s.height) for s in frames])
        (d / "meta.json").write_text(json.dumps({"source": [str(p) for p in paths],
                                                 "boxes": [s.boxes.tolist() for s in frames]}))
    out = _open(d)
    out["boxes"] = [np.asarray(s.boxes, np.float32).reshape(-1, 4) for s in frames]  # afresh, as for hands26k
    return out


# ---------------------------------------------------------------- targets


def letterbox_params(h: int, w: int, out_h: int, out_w: int) -> tuple[float, float, float]:
    """Scale and (dx, dy) that fit an h×w frame centred into out_h×out_w."""
    s = min(out_w / w, out_h / h)
    return s, (out_w - w * s) / 2, (out_h - h * s) / 2


def make_targets(boxes: np.ndarray, angles: np.ndarray, has_angle: np.ndarray, neg_weight: np.ndarray,
                 stride: int = 4, max_objects: int = MAX_OBJECTS) -> tuple[np.ndarray, ...]:
    """Dense heatmap target + per-object regression targets on the stride grid.

    Returns heat (1,H,W), weight (1,H,W), ind (M,), size (M,2), offset (M,2),
    angle (M,2), mask (M,) and angle mask (M,).
    """
    H, W = neg_weight.shape
    heat = np.zeros((H, W), np.float32)
    ind = np.zeros(max_objects, np.int64)
    size = np.zeros((max_objects, 2), np.float32)
    off = np.zeros((max_objects, 2), np.float32)
    ang = np.zeros((max_objects, 2), np.float32)
    mask = np.zeros(max_objects, np.float32)
    amask = np.zeros(max_objects, np.float32)
    ys, xs = np.mgrid[0:H, 0:W].astype(np.float32)
    for j, (b, a, ha) in enumerate(zip(boxes[:max_objects], angles, has_angle)):
        bw, bh = (b[2] - b[0]) / stride, (b[3] - b[1]) / stride
        cx, cy = (b[0] + b[2]) / 2 / stride, (b[1] + b[3]) / 2 / stride
        ix, iy = int(np.clip(cx, 0, W - 1)), int(np.clip(cy, 0, H - 1))
        r = 0.15 * np.sqrt(bw * bh)          # ~ CenterNet's radius for IoU 0.7
        sigma = (2 * r + 1) / 6
        g = np.exp(-((xs - ix) ** 2 + (ys - iy) ** 2) / (2 * sigma**2))
        np.maximum(heat, g, out=heat)
        heat[iy, ix] = 1.0
        ind[j] = iy * W + ix
        size[j] = np.log(np.maximum([bw, bh], 0.5))
        off[j] = (cx - ix, cy - iy)
        mask[j] = 1
        if ha:
            ang[j] = (np.sin(a), np.cos(a))
            amask[j] = 1
    return heat[None], neg_weight[None].astype(np.float32), ind, size, off, ang, mask, amask


# ---------------------------------------------------------------- scenes


class DetectionScenes:
    """A torch-style dataset of synthetic scenes; item → (image CHW float, *targets).

    ``hands`` (:func:`cache_hands26k`) gives the pasted tiles and single photos, ``ego``
    (:func:`cache_frames`) the box-labelled frames; either may be None, not both. With frames alone,
    every scene is one frame keeping its boxes.
    """

    def __init__(self, hands: dict | None, ego: dict | None, length: int, canvas: tuple[int, int] = (160, 192),
                 seed: int = 0, stride: int = 4, max_size: float = 0.8, hard: np.ndarray | None = None,
                 hard_share: float = 0.0):
        if hands is None and ego is None:
            raise ValueError("DetectionScenes: needs hand photos, box-labelled frames, or both")
        self.hands, self.ego, self.length = hands, ego, length
        # hand photos are drawn from ``hard`` (indices) with probability ``hard_share``
        self.hard = np.asarray(hard if hard is not None else [], np.int64)
        self.hard_share = hard_share if len(self.hard) else 0.0
        self.canvas, self.seed, self.stride, self.max_size = canvas, seed, stride, max_size
        self.epoch = 0
        kp = hands["keypoints"] if hands is not None else []
        self.kp_boxes = np.array([keypoint_box(k) for k in kp], np.float32).reshape(-1, 4)
        self.angles = np.array([hand_angle(k) for k in kp], np.float32)

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i: int):
        rng = np.random.default_rng((self.seed, self.epoch, i))
        img, boxes, angles, has_angle, weight = self.scene(rng)
        t = make_targets(boxes, angles, has_angle, weight, self.stride)
        x = cv2.cvtColor(img, cv2.COLOR_BGR2RGB).transpose(2, 0, 1).astype(np.float32) / 255.0
        return (x, *t)

    # -- pieces
    def _background(self, rng):
        H, W = self.canvas
        sw, sh = W // self.stride, H // self.stride
        weight = np.ones((sh, sw), np.float32)
        u = rng.random()
        if self.ego is not None and (u < 0.5 or self.hands is None):
            return self._frame(rng, weight)
        if u < 0.85:  # big single hands are what webcams close up and hands26k val look like
            return self._single_photo(rng, self._pick(rng), weight)
        img = np.empty((H, W, 3), np.uint8)
        img[:] = rng.integers(0, 256, 3)
        if rng.random() < 0.5:  # a gradient or noise so 'plain' is not one colour
            g = np.linspace(0, 1, W, dtype=np.float32)[None, :, None] * rng.integers(-80, 80, 3)
            img = np.clip(img + g, 0, 255).astype(np.uint8)
        else:
            img = np.clip(img + rng.normal(0, rng.uniform(2, 25), img.shape), 0, 255).astype(np.uint8)
        return img, [], weight

    def _frame(self, rng, weight):
        """A box-labelled frame at a random scale and place, keeping its boxes (those cut off ignored)."""
        H, W = self.canvas
        k = int(rng.integers(len(self.ego["images"])))
        frame, fb = self.ego["images"][k], self.ego["boxes"][k]
        fh, fw = frame.shape[:2]
        s0, _, _ = letterbox_params(fh, fw, H, W)
        s = s0 * float(np.exp(rng.uniform(np.log(0.7), np.log(2.2))))
        dx = rng.uniform(min(0, W - fw * s), max(0, W - fw * s))
        dy = rng.uniform(min(0, H - fh * s), max(0, H - fh * s))
        M = np.array([[s, 0, dx], [0, s, dy]], np.float32)
        fill = tuple(int(v) for v in rng.integers(0, 256, 3))
        img = cv2.warpAffine(frame, M, (W, H), flags=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR,
                             borderValue=fill)
        b = fb * s + [dx, dy, dx, dy]
        keep = []
        for bb in b:
            c = np.clip(bb, [0, 0, 0, 0], [W, H, W, H])
            full = (bb[2] - bb[0]) * (bb[3] - bb[1])
            vis = (c[2] - c[0]) * (c[3] - c[1])
            if full > 0 and vis / full >= 0.5 and min(c[2] - c[0], c[3] - c[1]) >= 4:
                keep.append(c)
            elif vis > 0:  # cut off or tiny: neither hand nor background
                self._ignore(weight, c)
        return img, keep, weight

    def _pick(self, rng) -> int:
        """A hand photo's index: from ``hard`` with probability ``hard_share``, else any."""
        if self.hard_share and rng.random() < self.hard_share:
            return int(self.hard[rng.integers(len(self.hard))])
        return int(rng.integers(len(self.hands["images"])))

    def _single_photo(self, rng, k, weight):
        """One hands26k photo letterboxed (as the detector sees a 224×224 frame) at 0.6–1.0 fill, or
        zoomed past the canvas (a webcam close-up) with the hand kept inside."""
        H, W = self.canvas
        s = min(H, W) / 224 * (rng.uniform(0.6, 1.0) if rng.random() < 0.7 else rng.uniform(1.0, 1.5))
        kb = self.kp_boxes[k] * s
        # offsets that keep the photo covering the canvas where it can, and the hand always inside
        lo_x, hi_x = max(min(0, W - 224 * s), -kb[0]), min(max(0, W - 224 * s), W - kb[2])
        lo_y, hi_y = max(min(0, H - 224 * s), -kb[1]), min(max(0, H - 224 * s), H - kb[3])
        dx = rng.uniform(lo_x, hi_x) if lo_x <= hi_x else (W - kb[0] - kb[2]) / 2
        dy = rng.uniform(lo_y, hi_y) if lo_y <= hi_y else (H - kb[1] - kb[3]) / 2
        M = np.array([[s, 0, dx], [0, s, dy]], np.float32)
        fill = (114, 114, 114) if rng.random() < 0.5 else tuple(int(v) for v in rng.integers(0, 256, 3))
        img = cv2.warpAffine(self.hands["images"][k], M, (W, H), flags=cv2.INTER_AREA, borderValue=fill)
        self._photo_weight(weight, [dx, dy, dx + 224 * s, dy + 224 * s])
        self._pending = (self.kp_boxes[k] * s + [dx, dy, dx, dy], self.angles[k])
        return img, [], weight

    def _photo_weight(self, weight, region):
        st = self.stride
        x1, y1, x2, y2 = [round(v / st) for v in region]
        weight[max(0, y1):max(0, y2), max(0, x1):max(0, x2)] = np.minimum(
            weight[max(0, y1):max(0, y2), max(0, x1):max(0, x2)], TILE_NEG_WEIGHT)

    def _ignore(self, weight, box):
        st = self.stride
        x1, y1 = int(np.floor(box[0] / st)), int(np.floor(box[1] / st))
        x2, y2 = int(np.ceil(box[2] / st)), int(np.ceil(box[3] / st))
        weight[max(0, y1):max(0, y2), max(0, x1):max(0, x2)] = 0

    def scene(self, rng):
        """(image BGR uint8, boxes (N,4), angles (N,), has_angle (N,), negative weight map)."""
        H, W = self.canvas
        self._pending = None
        img, ego_boxes, weight = self._background(rng)
        img = img.copy()
        boxes, angles, has = [], [], []
        placed = []
        if self._pending is not None:
            b, a = self._pending
            placed.append(b)
            boxes.append(b), angles.append(a), has.append(True)
        if self.hands is None:  # frames alone: nothing to paste
            n_tiles = 0
        elif not placed:
            n_tiles = int(rng.choice([0, 1, 2, 3, 4], p=[0.1, 0.3, 0.3, 0.2, 0.1]))
        else:
            n_tiles = int(rng.integers(0, 2))
        for _ in range(n_tiles):
            k = self._pick(rng)
            kb = self.kp_boxes[k]
            L = max(kb[2] - kb[0], kb[3] - kb[1])
            side_px = float(np.exp(rng.uniform(np.log(9), np.log(self.max_size * min(H, W)))))
            s = side_px / L
            ctx = rng.uniform(1.15, 2.6)
            cx, cy = (kb[0] + kb[2]) / 2, (kb[1] + kb[3]) / 2
            half = ctx * L / 2
            sx1, sy1 = max(0.0, cx - half * rng.uniform(0.7, 1.3)), max(0.0, cy - half * rng.uniform(0.7, 1.3))
            sx2, sy2 = min(224.0, cx + half * rng.uniform(0.7, 1.3)), min(224.0, cy + half * rng.uniform(0.7, 1.3))
            tw, th = (sx2 - sx1) * s, (sy2 - sy1) * s
            if tw < 4 or th < 4 or tw > W or th > H:
                continue
            for _try in range(6):
                ox, oy = rng.uniform(0, W - tw), rng.uniform(0, H - th)
                nb = (kb - [sx1, sy1, sx1, sy1]) * s + [ox, oy, ox, oy]
                # the new tile's context must not hide a hand already placed
                if all(covered(p, (ox, oy, ox + tw, oy + th)) < 0.1 for p in placed):
                    break
            else:
                continue
            M = np.array([[s, 0, ox - sx1 * s], [0, s, oy - sy1 * s]], np.float32)
            x1, y1 = int(np.floor(ox)), int(np.floor(oy))
            x2, y2 = min(W, int(np.ceil(ox + tw))), min(H, int(np.ceil(oy + th)))
            M[:, 2] -= [x1, y1]
            patch = cv2.warpAffine(self.hands["images"][k], M, (x2 - x1, y2 - y1),
                                   flags=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
            img[y1:y2, x1:x2] = patch
            self._photo_weight(weight, [x1, y1, x2, y2])
            # boxes under the tile are hidden: drop them when mostly covered
            ego_boxes = [b for b in ego_boxes if covered(b, (x1, y1, x2, y2)) < 0.5]
            placed.append(nb)
            boxes.append(nb), angles.append(self.angles[k]), has.append(True)
        for b in ego_boxes:
            boxes.append(np.asarray(b, np.float32)), angles.append(0.0), has.append(False)
        boxes = np.array(boxes, np.float32).reshape(-1, 4)
        boxes = np.clip(boxes, 0, [W, H, W, H])
        angles = np.array(angles, np.float32)
        has = np.array(has, bool)
        for b in boxes:  # a hand's own cells are positives, never down-weighted negatives
            st = self.stride
            weight[int(b[1] // st):int(np.ceil(b[3] / st)), int(b[0] // st):int(np.ceil(b[2] / st))] = np.maximum(
                weight[int(b[1] // st):int(np.ceil(b[3] / st)), int(b[0] // st):int(np.ceil(b[2] / st))], 1.0)
        if rng.random() < 0.5:  # mirror: the hand angle (clockwise from up) changes sign
            img = img[:, ::-1]
            boxes = np.stack([W - boxes[:, 2], boxes[:, 1], W - boxes[:, 0], boxes[:, 3]], 1) if len(boxes) else boxes
            angles = -angles
            weight = weight[:, ::-1]
        img = _colour(np.ascontiguousarray(img), rng)
        return img, boxes, angles, has, np.ascontiguousarray(weight)


def _colour(img: np.ndarray, rng) -> np.ndarray:
    """Brightness/contrast/saturation/hue jitter, sometimes grey or blurred (webcam variety)."""
    f = img.astype(np.float32)
    f = f * rng.uniform(0.6, 1.4) + rng.uniform(-40, 40)
    img = np.clip(f, 0, 255).astype(np.uint8)
    if rng.random() < 0.5:
        hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV)
        hsv[..., 0] = ((hsv[..., 0].astype(np.int16) + int(rng.integers(-8, 9))) % 180).astype(np.uint8)
        hsv[..., 1] = np.clip(hsv[..., 1] * rng.uniform(0.5, 1.4), 0, 255).astype(np.uint8)
        img = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)
    if rng.random() < 0.1:
        img = cv2.cvtColor(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    if rng.random() < 0.15:
        img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.5, 1.5))
    return img
