"""The simplest labels: a folder of images and ONE points file, in pixels.

CSV, one row per hand (several rows may name the same image)::

    image,x0,y0,x1,y1,...
    photos/a.jpg,120.5,88.0,131.0,70.2,...

The header is optional; with one, columns are found by name (``image``,
``x<i>``, ``y<i>``; ``width``/``height`` save reading image sizes) and any
other column is ignored. A point left empty (both cells) is unlabelled.

JSON, one entry per image: a hand as a list of ``[x, y]`` (``null`` for an
unlabelled point), or a list of such hands::

    {"a.jpg": [[120.5, 88.0], [131.0, 70.2], ...],
     "b.jpg": [[[10, 20], ...], [[300, 40], ...]]}

Image paths are relative to the points file's folder. An unlabelled point
gets ``visible`` False and the position of its hand's labelled points' centroid.
"""

from __future__ import annotations

import csv
import json
import os
import re
from pathlib import Path

import numpy as np

from ..errors import DataFormatError
from .sample import Sample, boxes_from_keypoints, check_inside, check_pixels
from .yolo_pose import IMAGE_EXTS as _YOLO_EXTS
from .yolo_pose import image_size

POINT_EXTS = (".csv", ".json")
IMAGE_EXTS = _YOLO_EXTS + (".tif", ".tiff")
_XY = re.compile(r"^([xy])[_ ]?(\d+)$")  # x0, x_0 or x 0


def _is_number(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


def _xy_columns(names: list[str]) -> list[tuple[int, int]] | None:
    """Column indices of the (x_i, y_i) pairs named in a header row, or None.

    Points are numbered from 0 (``x0 y0 ...``, also ``x_0``) or from 1 (``x1 y1 ... xK yK``, K >= 3:
    ``x1 y1 x2 y2`` alone is a box's corners, not points)."""
    xs, ys = {}, {}
    for c, n in enumerate(names):
        m = _XY.match(n.strip().lower())
        if m:
            (xs if m.group(1) == "x" else ys)[int(m.group(2))] = c
    k = len(xs)
    for first in (0, 1):
        want = list(range(first, k + first))
        if k and sorted(xs) == want and sorted(ys) == want and (first == 0 or k >= 3):
            return [(xs[i], ys[i]) for i in want]
    return None


def _header_columns(header: list[str], path: Path) -> tuple[int, list[tuple[int, int]], int | None, int | None]:
    """Column indices of image, (x_i, y_i) pairs, width and height from a header row."""
    names = [h.strip().lower() for h in header]
    img = names.index("image") if "image" in names else 0
    pairs = _xy_columns(names)
    if pairs is None:
        raise DataFormatError(f"{path}:1: header needs columns x0, y0 ... x<K-1>, y<K-1> (or x1, y1 ... xK, yK); "
                              f"got {header}")
    w = names.index("width") if "width" in names else None
    h = names.index("height") if "height" in names else None
    return img, pairs, w, h


def sniff_points_csv(path: str | Path) -> bool:
    """Whether ``path`` looks like a points CSV (header with image/x0/y0, or image then an even count of numbers)."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            row = next(csv.reader(f), None)
    except (OSError, UnicodeDecodeError, csv.Error):
        return False
    if not row or len(row) < 3:
        return False
    if all(_is_number(v) for v in row[1:] if v.strip()):
        return (len(row) - 1) % 2 == 0
    return _xy_columns(row) is not None


def is_points_json(d: object) -> bool:
    """Whether parsed JSON is ``{image file name: hand or [hands]}`` (a layout JSON is not)."""
    return (isinstance(d, dict) and bool(d) and all(isinstance(v, list) for v in d.values())
            and all(Path(str(k)).suffix.lower() in IMAGE_EXTS for k in d))


class _Images:
    """Resolves image names against the points file's folder and remembers sizes."""

    def __init__(self, root: Path):
        self.root, self.sizes = root, {}

    def get(self, name: str, where: str) -> Path:
        # The name as written first (a file name may begin or end with a space), then without the
        # spaces a ", " separator leaves, then with a Windows path's backslashes as slashes.
        tries = [name, name.strip(), name.strip().replace("\\", "/")]
        for t in dict.fromkeys(tries):
            if t.strip() and (self.root / t).is_file():
                return self.root / t
        raise DataFormatError(f"{where}: image {name!r} not found under {self.root}")

    def size(self, p: Path) -> tuple[int, int]:
        if p not in self.sizes:
            self.sizes[p] = image_size(p)
        return self.sizes[p]


def _to_samples(hands: dict[Path, list], sizes: dict[Path, tuple[int, int]], path: Path) -> list[Sample]:
    out = []
    for img, hs in hands.items():
        kp = np.array([h[0] for h in hs], np.float32)
        vis = np.array([h[1] for h in hs], bool)
        for k, v in zip(kp, vis):
            # Unlabelled points sit on the labelled ones' centroid, never at (0, 0): code that
            # crops or boxes a hand from all its points then stays on the hand.
            k[~v] = k[v].mean(0)
        w, h = sizes[img]
        out.append(Sample(img, int(w), int(h), boxes_from_keypoints(kp, vis), kp, vis, ["hand"] * len(hs)))
    check_pixels(str(path), out)
    return out


def _read_csv(path: Path) -> list[Sample]:
    images = _Images(path.parent)
    hands: dict[Path, list] = {}
    sizes: dict[Path, tuple[int, int]] = {}
    try:
        text = path.read_text(encoding="utf-8-sig")  # spreadsheets often save a BOM
    except (OSError, UnicodeDecodeError) as e:
        raise DataFormatError(f"{path}: cannot read ({e})") from e
    reader = csv.reader(text.splitlines())
    cols = None
    try:
        for row in reader:
            ln = reader.line_num
            if not row or all(not v.strip() for v in row):
                continue
            if cols is None:
                if len(row) >= 2 and not _is_number(row[1]) and row[1].strip():
                    cols = _header_columns(row, path)
                    ncols = len(row)
                    continue
                if len(row) < 3 or (len(row) - 1) % 2:
                    sep = next((f" (separated by {c!r}? write commas)" for c in ";\t" if c in row[0]), "")
                    raise DataFormatError(f"{path}:{ln}: {len(row)} values, expected the image then "
                                          f"x y per point (an odd count of at least 3){sep}")
                k = (len(row) - 1) // 2
                cols = (0, [(1 + 2 * i, 2 + 2 * i) for i in range(k)], None, None)
                ncols = len(row)
            img_c, pairs, w_c, h_c = cols
            if len(row) != ncols:
                raise DataFormatError(f"{path}:{ln}: {len(row)} values, expected {ncols} "
                                      f"(image + 2×{len(pairs)} coordinates"
                                      f"{' + other columns' if ncols != 1 + 2 * len(pairs) else ''})")
            where = f"{path}:{ln}"
            img = images.get(row[img_c], where)
            kp = np.zeros((len(pairs), 2), np.float64)
            vis = np.ones(len(pairs), bool)
            for i, (xc, yc) in enumerate(pairs):
                xs, ys = row[xc].strip(), row[yc].strip()
                if not xs and not ys:
                    vis[i] = False
                    continue
                try:
                    kp[i] = float(xs), float(ys)
                except ValueError:
                    raise DataFormatError(f"{where}: point {i} ({xs!r}, {ys!r}) is not two numbers "
                                          "(leave both cells empty for an unlabelled point)") from None
                if not np.isfinite(kp[i]).all():
                    raise DataFormatError(f"{where}: point {i} is NaN or infinite")
            if not vis.any():
                raise DataFormatError(f"{where}: no labelled point in this row")
            if img not in sizes:
                if w_c is not None and h_c is not None and _is_number(row[w_c]) and _is_number(row[h_c]):
                    sizes[img] = (int(float(row[w_c])), int(float(row[h_c])))
                else:
                    sizes[img] = images.size(img)
            check_inside(where, kp, vis, *sizes[img])
            hands.setdefault(img, []).append((kp, vis))
    except csv.Error as e:
        raise DataFormatError(f"{path}:{reader.line_num}: {e}") from e
    if not hands:
        raise DataFormatError(f"{path}: no rows with points")
    return _to_samples(hands, sizes, path)


def _read_json_dict(d: object, path: Path) -> list[Sample]:
    if not is_points_json(d):
        raise DataFormatError(f"{path}: expected {{\"image.jpg\": [[x, y], ...]}} or a list of such hands per image")
    images = _Images(path.parent)
    hands: dict[Path, list] = {}
    sizes: dict[Path, tuple[int, int]] = {}
    k = None
    for name, entry in d.items():
        where = f"{path}: image {name!r}"
        img = images.get(name, where)
        # One hand is a list of points (each [x, y], null or [null, null]); several hands nest one
        # level deeper: a point holds numbers, a hand holds points.
        multi = any(isinstance(h, list) and any(isinstance(q, list) for q in h) for h in entry)
        for hi, hand in enumerate(entry if multi else [entry]):
            hw = f"{where} hand {hi}" if multi else where
            if not isinstance(hand, list):
                raise DataFormatError(f"{hw}: a hand must be a list of [x, y] points")
            if k is None:
                k = len(hand)
            if len(hand) != k:
                raise DataFormatError(f"{hw}: {len(hand)} points, expected {k} (as in the first hand)")
            kp = np.zeros((k, 2), np.float64)
            vis = np.ones(k, bool)
            for i, p in enumerate(hand):
                if p is None or p == [None, None]:
                    vis[i] = False
                    continue
                if not isinstance(p, list) or len(p) != 2:
                    raise DataFormatError(f"{hw} point {i}: {p!r} is not [x, y] (or null)")
                try:
                    kp[i] = [float(p[0]), float(p[1])]
                except (TypeError, ValueError):
                    raise DataFormatError(f"{hw} point {i}: {p!r} is not two numbers") from None
                if not np.isfinite(kp[i]).all():
                    raise DataFormatError(f"{hw} point {i}: NaN or infinite value")
            if not vis.any():
                raise DataFormatError(f"{hw}: no labelled point")
            if img not in sizes:
                sizes[img] = images.size(img)
            check_inside(hw, kp, vis, *sizes[img])
            hands.setdefault(img, []).append((kp, vis))
    if not hands:
        raise DataFormatError(f"{path}: no hands with points")
    return _to_samples(hands, sizes, path)


def _points_files(folder: Path) -> list[Path]:
    found = []
    for p in sorted(folder.iterdir()):
        if p.suffix.lower() == ".csv" and sniff_points_csv(p):
            found.append(p)
        elif p.suffix.lower() == ".json":
            try:
                if is_points_json(json.loads(p.read_text())):
                    found.append(p)
            except (OSError, UnicodeDecodeError, json.JSONDecodeError):
                pass
    return found


def read_points(folder_or_file: str | Path) -> list[Sample]:
    """Read a points CSV or JSON (or the one such file in a folder); one Sample per image."""
    path = Path(folder_or_file)
    if path.is_dir():
        found = _points_files(path)
        if len(found) != 1:
            what = "none" if not found else ", ".join(p.name for p in found)
            raise DataFormatError(f"{path}: expected exactly one points CSV or JSON, found {what}")
        path = found[0]
    if not path.exists():
        raise DataFormatError(f"{path}: no such file or folder")
    if path.suffix.lower() == ".csv":
        return _read_csv(path)
    if path.suffix.lower() == ".json":
        try:
            d = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise DataFormatError(f"{path}: cannot read JSON ({e})") from e
        return _read_json_dict(d, path)
    raise DataFormatError(f"{path}: expected a .csv or .json points file")


def write_points_csv(samples: list[Sample], csv_path: str | Path) -> None:
    """Write one row per hand, image paths relative to the CSV's folder; unlabelled points as empty cells."""
    path = Path(csv_path)
    ks = {s.keypoints.shape[1] for s in samples if len(s.keypoints)}
    if len(ks) != 1:
        raise ValueError(f"samples: need one number of points across all hands, got {sorted(ks)}")
    k = ks.pop()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["image"] + [f"{c}{i}" for i in range(k) for c in "xy"])
        for s in samples:
            rel = Path(os.path.relpath(Path(s.image).resolve(), path.parent.resolve())).as_posix()
            for kp, vis in zip(s.keypoints, s.visible):
                cells = []
                for (x, y), v in zip(kp, vis):
                    cells += [f"{x:.3f}", f"{y:.3f}"] if v else ["", ""]
                w.writerow([rel] + cells)
