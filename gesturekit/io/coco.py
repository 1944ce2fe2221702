"""COCO keypoint JSON: ``images``, ``annotations`` and ``categories`` with ``keypoints``.

Each annotation holds ``keypoints`` as K × ``x y v`` in pixels (``v`` 0: not
labelled, 1: labelled but hidden, 2: labelled and visible), ``bbox`` as
``x y w h`` and ``num_keypoints``. The category lists the point ``keypoints``
names and a 1-based ``skeleton``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from ..errors import DataFormatError
from ..layouts import KeypointLayout
from .sample import Sample, boxes_from_keypoints, check_inside, check_pixels
from .yolo_pose import image_size


def _load(json_path: Path) -> dict:
    try:
        d = json.loads(Path(json_path).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DataFormatError(f"{json_path}: cannot read COCO JSON ({e})") from e
    return d


def is_coco(d: object) -> bool:
    """Whether parsed JSON looks like a COCO annotation file."""
    return isinstance(d, dict) and isinstance(d.get("annotations"), list) and isinstance(d.get("images"), list)


def _keypoint_categories(d: dict, path: Path) -> dict[int, dict]:
    cats = {}
    for c in d.get("categories") or []:
        if isinstance(c, dict) and c.get("keypoints"):
            cats[c.get("id")] = c
    if not cats:
        raise DataFormatError(f"{path}: no category with a 'keypoints' list (not a COCO keypoint file)")
    ks = {len(c["keypoints"]) for c in cats.values()}
    if len(ks) > 1:
        raise DataFormatError(f"{path}: keypoint categories disagree on the number of points: {sorted(ks)}")
    return cats


def coco_layout(json_path: str | Path) -> KeypointLayout:
    """The layout (names, 0-based edges; identity flip) of a COCO file's keypoint category."""
    path = Path(json_path)
    d = _load(path)
    if not is_coco(d):
        raise DataFormatError(f"{path}: not a COCO file (needs 'images' and 'annotations' lists)")
    cat = next(iter(_keypoint_categories(d, path).values()))
    k = len(cat["keypoints"])
    try:
        edges = tuple((int(a) - 1, int(b) - 1) for a, b in cat.get("skeleton") or ())
        return KeypointLayout(str(cat.get("name", "coco")), tuple(cat["keypoints"]), edges)
    except (TypeError, ValueError) as e:
        raise DataFormatError(f"{path}: category {cat.get('id')!r} with {k} points: {e}") from e


def _image_base(images: list[dict], json_dir: Path, images_dir: Path | None) -> Path:
    if images_dir is not None:
        return images_dir
    # Exports put file names either beside the JSON or under images/; the first image decides.
    first = next((im.get("file_name") for im in images if im.get("file_name")), None)
    for base in (json_dir, json_dir / "images", json_dir.parent / "images"):
        if first is not None and (base / first).exists():
            return base
    return json_dir


def read_coco(json_path: str | Path, images_dir: str | Path | None = None,
              check_images: bool = True) -> list[Sample]:
    """Read a COCO keypoint file into one :class:`Sample` per image that has keypoint annotations.

    ``images_dir`` defaults to the JSON's folder (or its ``images/`` subfolder
    when the files are there). Points with ``v`` 0 get ``visible`` False and
    the centroid of the labelled points as position (COCO stores them at 0, 0,
    which would stretch any crop or box taken around all points). ``check_images`` raises when an image file
    is missing.
    """
    path = Path(json_path)
    d = _load(path)
    return _read_coco_dict(d, path, None if images_dir is None else Path(images_dir), check_images)


def _read_coco_dict(d: dict, path: Path, images_dir: Path | None, check_images: bool = True) -> list[Sample]:
    if not is_coco(d):
        raise DataFormatError(f"{path}: not a COCO file (needs 'images' and 'annotations' lists)")
    cats = _keypoint_categories(d, path)
    k = len(next(iter(cats.values()))["keypoints"])
    named = {tuple(str(n) for n in c["keypoints"]) for c in cats.values()}
    names = named.pop() if len(named) == 1 else None  # the points' names, where the categories agree
    images = {}
    for im in d["images"]:
        if not isinstance(im, dict) or "id" not in im or not im.get("file_name"):
            raise DataFormatError(f"{path}: image entry {im!r:.80} needs 'id' and 'file_name'")
        images[im["id"]] = im
    if images_dir is not None and not images_dir.is_dir():
        raise DataFormatError(f"{path}: images folder {images_dir} does not exist")
    base = _image_base(d["images"], path.parent, images_dir)
    per_image: dict[object, list] = {}
    for a in d["annotations"]:
        aid = a.get("id", "?") if isinstance(a, dict) else "?"
        where = f"{path}: annotation {aid}"
        if not isinstance(a, dict):
            raise DataFormatError(f"{where}: not an object")
        if a.get("category_id") not in cats:
            continue  # boxes of other categories (people, cars, ...) are not ours
        if a.get("image_id") not in images:
            raise DataFormatError(f"{where}: image_id {a.get('image_id')!r} is not in 'images'")
        raw = a.get("keypoints")
        if not isinstance(raw, list) or len(raw) != 3 * k:
            n = len(raw) if isinstance(raw, list) else "no"
            raise DataFormatError(f"{where}: {n} keypoint values, expected 3×{k} = {3 * k}")
        try:
            v = np.array(raw, np.float64).reshape(k, 3)
        except (TypeError, ValueError) as e:
            raise DataFormatError(f"{where}: non-numeric keypoint value ({e})") from e
        if not np.isfinite(v).all():
            raise DataFormatError(f"{where}: NaN or infinite keypoint value")
        vis = v[:, 2] > 0
        if not vis.any():
            continue  # box-only or crowd annotation: nothing to learn keypoints from
        box = a.get("bbox")
        if box is not None:
            try:
                bx = np.array(box, np.float64)
            except (TypeError, ValueError) as e:
                raise DataFormatError(f"{where}: non-numeric bbox ({e})") from e
            if bx.shape != (4,) or not np.isfinite(bx).all() or (bx[2:] < 0).any():
                raise DataFormatError(f"{where}: bbox {box!r} is not [x, y, w, h] with w, h >= 0")
            box = [bx[0], bx[1], bx[0] + bx[2], bx[1] + bx[3]]
        if box is None or box[2] <= box[0] or box[3] <= box[1]:
            box = boxes_from_keypoints(v[None, :, :2], vis[None])[0]
        cat = cats[a["category_id"]]
        pts = v[:, :2].copy()
        pts[~vis] = pts[vis].mean(0)  # v 0 points are stored at (0, 0): keep them on the hand
        per_image.setdefault(a["image_id"], []).append((box, pts, vis, str(cat.get("name", "hand")), where))
    samples = []
    missing = []
    for iid, anns in per_image.items():
        im = images[iid]
        file = base / im["file_name"]
        if check_images and not file.exists():
            missing.append(file)
            continue
        w, h = im.get("width"), im.get("height")
        if not w or not h:
            w, h = image_size(file)
        for a in anns:
            check_inside(a[4], a[1], a[2], w, h)
        samples.append(Sample(file, int(w), int(h), np.array([a[0] for a in anns], np.float32),
                              np.array([a[1] for a in anns], np.float32), np.array([a[2] for a in anns], bool),
                              [a[3] for a in anns], names))
    if missing:
        raise DataFormatError(f"{path}: {len(missing)} image file(s) missing under {base}, "
                              f"first {missing[0]} (file_name is looked up beside the JSON, in images/ there, or in "
                              "../images; read_coco(..., images_dir=...) names another folder)")
    if not samples:
        raise DataFormatError(f"{path}: no annotation with keypoints found")
    check_pixels(str(path), samples)
    return samples


def write_coco(samples: list[Sample], json_path: str | Path, layout: KeypointLayout,
               category: str = "hand") -> None:
    """Write ``samples`` as a COCO keypoint file; image paths are stored relative to the JSON's folder.

    Unlabelled points (``visible`` False) are written with ``v`` 0 at their
    position, which COCO tools ignore.
    """
    path = Path(json_path)
    images, anns = [], []
    for i, s in enumerate(samples, 1):
        layout.check(s.keypoints, f"{s.image}: keypoints")
        rel = os.path.relpath(Path(s.image).resolve(), path.parent.resolve())
        images.append({"id": i, "file_name": Path(rel).as_posix(), "width": int(s.width), "height": int(s.height)})
        for b, kp, v in zip(s.boxes, s.keypoints, s.visible):
            flat = []
            for (x, y), vi in zip(kp, v):
                flat += [round(float(x), 3), round(float(y), 3), 2 if vi else 0]
            x1, y1, x2, y2 = (float(t) for t in b)
            anns.append({"id": len(anns) + 1, "image_id": i, "category_id": 1, "iscrowd": 0,
                         "bbox": [round(x1, 3), round(y1, 3), round(x2 - x1, 3), round(y2 - y1, 3)],
                         "area": round((x2 - x1) * (y2 - y1), 3), "num_keypoints": int(np.sum(v)),
                         "keypoints": flat})
    cat = {"id": 1, "name": category, "supercategory": category, "keypoints": list(layout.names),
           "skeleton": [[a + 1, b + 1] for a, b in layout.edges]}  # COCO skeletons are 1-based
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"images": images, "annotations": anns, "categories": [cat]}))
