"""Training scenes for the hand detector, synthesised from cached hand photos and backgrounds.

hands26k photos are 224×224 with one labelled hand; EgoHands frames are
640×360 with several boxed hands. A scene is a background (an EgoHands frame
keeping its boxes, a plain/noise canvas, or one hands26k photo letterboxed)
with 1–4 hands26k tiles pasted at log-uniform scales, so small and multiple
hands are common. Images are decoded once into ``.npy`` memmaps (the
:mod:`gesturekit.train.cache` pattern).

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
from ..io.sample import boxes_from_keypoints
from ..io.yolo_pose import read_yolo_pose
from .cache import default_cache_dir

BOX_MARGIN = 0.10        # box = tight keypoint box grown by this × its longer side on every side
TILE_NEG_WEIGHT = 0.3    # negative-loss weight inside a pasted hands26k tile, outside its hand
MAX_OBJECTS = 24
EGO_VAL_FRAMES = 60
EGO_SEED = 0
EGO_SIZE = (360, 640)    # (h, w) every EgoHands-style frame is cached at


def keypoint_box(kp: np.ndarray, margin: float = BOX_MARGIN, vis: np.ndarray | None = None) -> np.ndarray:
    """The detector's box convention: tight box of the (labelled) points, grown by ``margin`` × longer side."""
    b = boxes_from_keypoints(kp[None], None if vis is None else vis[None])[0]
    m = margin * max(b[2] - b[0], b[3] - b[1])
    return np.array([b[0] - m, b[1] - m, b[2] + m, b[3] + m], np.float32)


# ---------------------------------------------------------------- egohands


def read_egohands(root: str | Path) -> tuple[list[str], dict[str, np.ndarray]]:
    """Image names (sorted) and their (N, 4) boxes, in pixels of the frame resized to ``EGO_SIZE``
    (as :func:`cache_egohands` stores it), from an EgoHands-style ``boxes.csv``."""
    from ..io.boxes import read_boxes

    root = Path(root)
    samples = read_boxes(root / "boxes.csv")
    # frames are cached at EGO_SIZE whatever their own size: the boxes go along
    boxes = {Path(s.image).name: s.boxes * np.float32([EGO_SIZE[1] / s.width, EGO_SIZE[0] / s.height] * 2)
             for s in samples}
    return sorted(boxes), boxes


def egohands_split(names: list[str], n_val: int = EGO_VAL_FRAMES, seed: int = EGO_SEED) -> tuple[list[str], list[str]]:
    """The fixed (train, val) split by image: ``n_val`` frames drawn with ``seed``."""
    names = sorted(names)
    order = np.random.default_rng(seed).permutation(len(names))
    val = sorted(names[i] for i in order[:n_val])
    vs = set(val)
    return [n for n in names if n not in vs], val


# ---------------------------------------------------------------- cache


def _open(cache_dir: Path):
    meta = json.loads((cache_dir / "meta.json").read_text())
    out = {"images": np.lib.format.open_memmap(cache_dir / "images.npy", mode="r"), **meta}
    for f in cache_dir.glob("*.npy"):
        if f.stem != "images":
            out[f.stem] = np.load(f)
    return out


def _decode_all(paths: list[Path], shape: tuple[int, int], out: Path, threads: int) -> None:
    tmp = out.with_suffix(".tmp.npy")
    arr = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=(len(paths), *shape, 3))

    def work(i: int) -> None:
        img = cv2.imread(str(paths[i]), cv2.IMREAD_COLOR)
        if img is None:
            raise DataFormatError(f"{paths[i]}: cannot decode image")
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
    h = hashlib.sha1(f"{Path(root).resolve()}-{len(samples)}".encode()).hexdigest()[:16]
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


def cache_egohands(root: str | Path, names: list[str], boxes: dict[str, np.ndarray],
                   cache_dir: str | Path | None = None, threads: int = 2) -> dict:
    """Decode EgoHands frames (640×360); ``boxes`` is an object array of (N, 4) per frame."""
    root = Path(root)
    h = hashlib.sha1(("|".join(names) + str(root.resolve())).encode()).hexdigest()[:16]
    d = Path(cache_dir or default_cache_dir()) / f"det-ego-{h}"
    if not (d / "meta.json").exists():
        d.mkdir(parents=True, exist_ok=True)
        _decode_all([root / "images" / n for n in names], EGO_SIZE, d / "images.npy", threads)
        (d / "meta.json").write_text(json.dumps({"source": names,
                                                 "boxes": [boxes[n].tolist() for n in names]}))
    out = _open(d)
    out["boxes"] = [np.asarray(boxes[n], np.float32).reshape(-1, 4) for n in names]  # afresh, as for hands26k
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
    """A torch-style dataset of synthetic scenes; item → (image CHW float, *targets)."""

    def __init__(self, hands: dict, ego: dict | None, length: int, canvas: tuple[int, int] = (160, 192),
                 seed: int = 0, stride: int = 4, max_size: float = 0.8, hard: np.ndarray | None = None,
                 hard_share: float = 0.0):
        self.hands, self.ego, self.length = hands, ego, length
        # hand photos are drawn from ``hard`` (indices) with probability ``hard_share``
        self.hard = np.asarray(hard if hard is not None else [], np.int64)
        self.hard_share = hard_share if len(self.hard) else 0.0
        self.canvas, self.seed, self.stride, self.max_size = canvas, seed, stride, max_size
        self.epoch = 0
        kp = hands["keypoints"]
        self.kp_boxes = np.stack([keypoint_box(k) for k in kp])
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
        if self.ego is not None and u < 0.5:
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
        n_tiles = int(rng.choice([0, 1, 2, 3, 4], p=[0.1, 0.3, 0.3, 0.2, 0.1])) if not placed else int(rng.integers(0, 2))
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
