"""YOLO-pose folders: ``images/<stem>.<ext>`` beside ``labels/<stem>.txt``.

Each label line: ``class cx cy w h`` then K × ``x y v``, normalised to 0..1.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from ..errors import DataFormatError
from .sample import Sample, check_inside, finite_floats

IMAGE_EXTS = (".webp", ".jpg", ".jpeg", ".png", ".bmp")


def image_size(path: Path) -> tuple[int, int]:
    """(width, height) of the image as ``cv2.imread`` gives it, i.e. turned upright by its EXIF
    orientation (a phone's portrait photo is stored landscape); from the header when Pillow is
    installed (no full decode)."""
    try:
        from PIL import Image

        with Image.open(path) as im:
            w, h = im.size
            try:
                turned = im.getexif().get(0x0112) in (5, 6, 7, 8)  # a quarter turn, as cv2.imread applies
            except Exception:  # a broken EXIF block: cv2 ignores it too
                turned = False
            return (h, w) if turned else (w, h)
    except ImportError:
        pass
    except OSError as e:
        raise DataFormatError(f"{path}: cannot read image ({e})") from e
    img = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)  # not IMREAD_UNCHANGED: that ignores the EXIF orientation
    if img is None:
        raise DataFormatError(f"{path}: cannot decode image")
    return img.shape[1], img.shape[0]


def read_yolo_pose(root: str | Path, num_points: int | None = 21, limit: int | None = None,
                   sizes: tuple[int, int] | None = None) -> list[Sample]:
    """Read a YOLO-pose split folder (the one holding ``images/`` and ``labels/``).

    ``sizes`` skips decoding to learn image sizes when all images share one size.
    """
    root = Path(root)
    img_dir, lbl_dir = root / "images", root / "labels"
    if not img_dir.is_dir() or not lbl_dir.is_dir():
        raise DataFormatError(f"{root}: not a YOLO-pose folder (needs images/ and labels/)")
    images = {p.stem: p for p in sorted(img_dir.iterdir()) if p.suffix.lower() in IMAGE_EXTS}
    samples = []
    given = num_points
    for stem, img in images.items():
        if limit is not None and len(samples) >= limit:
            break
        lbl = lbl_dir / f"{stem}.txt"
        if not lbl.exists():
            continue
        w, h = sizes or image_size(img)
        boxes, kps, vis = [], [], []
        for ln, line in enumerate(lbl.read_text().splitlines(), 1):
            vals = line.split()
            if not vals:
                continue
            n = len(vals) - 5
            k = n // 3
            if n <= 0 or n % 3 or (num_points is not None and k != num_points):
                want = f"5 + 3×{num_points} = {5 + 3 * num_points}" if num_points else "5 + 3×K"
                first = " (as the folder's first label line)" if num_points and num_points != given else ""
                raise DataFormatError(f"{lbl}:{ln}: {len(vals)} values, expected {want}{first}")
            num_points = k   # the first line sets K for the whole folder when none was given
            v = finite_floats(lbl, ln, vals)
            cx, cy, bw, bh = v[1:5]
            boxes.append([(cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h])
            p = v[5:].reshape(k, 3)
            check_inside(f"{lbl}:{ln}", p[:, :2], p[:, 2] > 0)  # still normalised
            kps.append(p[:, :2] * [w, h])
            vis.append(p[:, 2] > 0)
        if not boxes:
            continue
        samples.append(Sample(img, w, h, np.array(boxes, np.float32), np.array(kps, np.float32),
                              np.array(vis, bool), ["hand"] * len(boxes)))
    if not samples:
        raise DataFormatError(f"{root}: no labelled images found")
    return samples


def write_yolo_pose(samples: list[Sample], root: str | Path) -> None:
    """Write label files for ``samples`` (images are not copied)."""
    lbl_dir = Path(root) / "labels"
    lbl_dir.mkdir(parents=True, exist_ok=True)
    for s in samples:
        lines = []
        for b, kp, v in zip(s.boxes, s.keypoints, s.visible):
            cx, cy = (b[0] + b[2]) / 2 / s.width, (b[1] + b[3]) / 2 / s.height
            bw, bh = (b[2] - b[0]) / s.width, (b[3] - b[1]) / s.height
            pts = " ".join(f"{x / s.width:.5f} {y / s.height:.5f} {int(vi)}" for (x, y), vi in zip(kp, v))
            lines.append(f"0 {cx:.5f} {cy:.5f} {bw:.5f} {bh:.5f} {pts}")
        (lbl_dir / f"{Path(s.image).stem}.txt").write_text("\n".join(lines) + "\n")
