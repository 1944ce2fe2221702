"""Box annotations: COCO JSON, YOLO txt folders, Pascal VOC XML, Open Images CSV, EgoHands CSV.

Every reader returns a list of :class:`Sample` with ``boxes`` (N, 4) x1 y1 x2 y2
in pixels and ``labels``. :func:`read_boxes` picks the reader from the content.
A malformed row raises :class:`DataFormatError` naming the file and line.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from xml.etree import ElementTree as ET

import numpy as np

from ..errors import DataFormatError
from .coco import _image_base
from .sample import Sample, finite_floats
from .yolo_pose import IMAGE_EXTS, image_size

HAND_MID = "/m/0k65p"          # Open Images' machine id for "Human hand"
HAND_NAME = "Human hand"
EGO_HEADER = ["image", "width", "height", "label", "xmin", "ymin", "xmax", "ymax"]
OI_COLUMNS = ["ImageID", "LabelName", "XMin", "XMax", "YMin", "YMax"]


def _check_box(path, line, b):
    if b[2] < b[0] or b[3] < b[1]:
        raise DataFormatError(f"{path}:{line}: box {list(b)} has max < min")


def _group(rows: dict[str, dict], order: list[str]) -> list[Sample]:
    out = []
    for k in order:
        r = rows[k]
        out.append(Sample(Path(r["image"]), int(r["w"]), int(r["h"]), np.array(r["boxes"], np.float32).reshape(-1, 4),
                          labels=list(r["labels"])))
    return out


# ---------------------------------------------------------------- EgoHands CSV


def read_egohands_csv(path: str | Path) -> list[Sample]:
    """``image,width,height,label,xmin,ymin,xmax,ymax`` in pixels; images resolved under ``images/``."""
    path = Path(path)
    rows: dict[str, dict] = {}
    with open(path, newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None or [h.strip() for h in header] != EGO_HEADER:
            raise DataFormatError(f"{path}:1: expected header {','.join(EGO_HEADER)}, got {header}")
        for ln, row in enumerate(reader, 2):
            if not row:
                continue
            if len(row) != 8:
                raise DataFormatError(f"{path}:{ln}: {len(row)} fields, expected 8")
            v = finite_floats(path, ln, row[1:3] + row[4:8])
            _check_box(path, ln, v[2:])
            img = path.parent / "images" / row[0]
            r = rows.setdefault(row[0], {"image": img, "w": v[0], "h": v[1], "boxes": [], "labels": []})
            r["boxes"].append(v[2:].tolist())
            r["labels"].append(row[3])
    return _group(rows, list(rows))


def write_egohands_csv(samples: list[Sample], path: str | Path) -> None:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(EGO_HEADER)
        for s in samples:
            for b, lab in zip(s.boxes, s.labels or ["hand"] * len(s.boxes)):
                w.writerow([Path(s.image).name, s.width, s.height, lab, *[f"{x:.2f}" for x in b]])


# ---------------------------------------------------------------- Open Images CSV


def read_open_images_csv(path: str | Path, image_dir: str | Path | None = None,
                         labels: tuple[str, ...] = (HAND_NAME, HAND_MID)) -> list[Sample]:
    """Open Images box CSV (normalised XMin/XMax/YMin/YMax); keeps rows whose label is in ``labels``.

    Image sizes are read from ``image_dir/<ImageID>.jpg`` when it exists, else 1×1 (boxes stay normalised).
    """
    path = Path(path)
    image_dir = Path(image_dir) if image_dir else path.parent / "images"
    rows: dict[str, dict] = {}
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in OI_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise DataFormatError(f"{path}:1: missing columns {missing}")
        for ln, row in enumerate(reader, 2):
            if row["LabelName"] not in labels:
                continue
            v = finite_floats(path, ln, [row[c] for c in ("XMin", "YMin", "XMax", "YMax")])
            if (v < -0.01).any() or (v > 1.01).any():
                raise DataFormatError(f"{path}:{ln}: coordinates must be normalised to 0..1, got {list(v)}")
            _check_box(path, ln, v)
            iid = row["ImageID"]
            if iid not in rows:
                img = next((image_dir / f"{iid}{e}" for e in IMAGE_EXTS + (".JPG",) if (image_dir / f"{iid}{e}").exists()),
                           image_dir / f"{iid}.jpg")
                w, h = image_size(img) if img.exists() else (1, 1)
                rows[iid] = {"image": img, "w": w, "h": h, "boxes": [], "labels": []}
            r = rows[iid]
            r["boxes"].append((v * [r["w"], r["h"], r["w"], r["h"]]).tolist())
            r["labels"].append(HAND_NAME if row["LabelName"] == HAND_MID else row["LabelName"])
    return _group(rows, list(rows))


def write_open_images_csv(samples: list[Sample], path: str | Path) -> None:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(OI_COLUMNS)
        for s in samples:
            for b in s.boxes:
                w.writerow([Path(s.image).stem, HAND_MID, f"{b[0] / s.width:.6f}", f"{b[2] / s.width:.6f}",
                            f"{b[1] / s.height:.6f}", f"{b[3] / s.height:.6f}"])


# ---------------------------------------------------------------- COCO JSON


def read_coco_boxes(path: str | Path, image_dir: str | Path | None = None) -> list[Sample]:
    """COCO detection JSON (``bbox`` = x, y, w, h in pixels)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise DataFormatError(f"{path}:{e.lineno}: invalid JSON ({e.msg})") from None
    for key in ("images", "annotations"):
        if key not in data:
            raise DataFormatError(f"{path}: COCO file has no '{key}'")
    # exports put the images beside the JSON or in an images/ folder beside it or its annotations/ folder
    image_dir = Path(image_dir) if image_dir else _image_base(data["images"], path.parent, None)
    cats = {c.get("id"): c.get("name", str(c.get("id"))) for c in data.get("categories", []) if isinstance(c, dict)}
    rows, order = {}, []
    for i, im in enumerate(data["images"]):
        if not isinstance(im, dict) or "id" not in im or not im.get("file_name"):
            raise DataFormatError(f"{path}: images[{i}] needs 'id' and 'file_name', got {im!r:.80}")
        file = image_dir / im["file_name"]
        w, h = im.get("width"), im.get("height")
        if not w or not h:  # optional in COCO: read them from the image
            if not file.is_file():
                raise DataFormatError(f"{path}: images[{i}] has no width/height and {file} is not there to read them")
            w, h = image_size(file)
        rows[im["id"]] = {"image": file, "w": w, "h": h, "boxes": [], "labels": []}
        order.append(im["id"])
    for i, a in enumerate(data["annotations"]):
        where = f"{path}: annotations[{i}]"
        if not isinstance(a, dict):
            raise DataFormatError(f"{where}: not an object")
        if a.get("image_id") not in rows:
            raise DataFormatError(f"{where}: unknown image_id {a.get('image_id')!r}")
        bb = a.get("bbox")
        if not isinstance(bb, list) or len(bb) != 4:
            raise DataFormatError(f"{where}: bbox must be [x, y, w, h], got {bb!r}")
        v = finite_floats(where, "bbox", bb)
        if v[2] < 0 or v[3] < 0:
            raise DataFormatError(f"{where}: negative bbox size {bb}")
        rows[a["image_id"]]["boxes"].append([v[0], v[1], v[0] + v[2], v[1] + v[3]])
        rows[a["image_id"]]["labels"].append(cats.get(a.get("category_id"), "hand"))
    return _group(rows, order)


def write_coco_boxes(samples: list[Sample], path: str | Path) -> None:
    names = sorted({lab for s in samples for lab in (s.labels or ["hand"] * len(s.boxes))}) or ["hand"]
    cid = {n: i + 1 for i, n in enumerate(names)}
    images, anns = [], []
    for i, s in enumerate(samples, 1):
        images.append({"id": i, "file_name": Path(s.image).name, "width": s.width, "height": s.height})
        for b, lab in zip(s.boxes, s.labels or ["hand"] * len(s.boxes)):
            x1, y1, x2, y2 = [float(v) for v in b]
            anns.append({"id": len(anns) + 1, "image_id": i, "category_id": cid[lab],
                         "bbox": [x1, y1, x2 - x1, y2 - y1], "area": (x2 - x1) * (y2 - y1), "iscrowd": 0})
    Path(path).write_text(json.dumps({"images": images, "annotations": anns,
                                      "categories": [{"id": v, "name": k} for k, v in cid.items()]}))


# ---------------------------------------------------------------- Pascal VOC


def read_voc(path: str | Path) -> list[Sample]:
    """One VOC XML file, or a folder of them (``Annotations/`` or the folder itself)."""
    path = Path(path)
    files = [path] if path.is_file() else sorted((path / "Annotations" if (path / "Annotations").is_dir() else path).glob("*.xml"))
    out = []
    for f in files:
        try:
            root = ET.parse(f).getroot()
        except ET.ParseError as e:
            raise DataFormatError(f"{f}:{e.position[0]}: invalid XML ({e})") from None
        size = root.find("size")
        try:
            w, h = int(size.findtext("width")), int(size.findtext("height"))
        except (AttributeError, TypeError, ValueError):
            raise DataFormatError(f"{f}: <size> needs integer <width> and <height>") from None
        boxes, labels = [], []
        for obj in root.iter("object"):
            bb = obj.find("bndbox")
            vals = [bb.findtext(k) if bb is not None else None for k in ("xmin", "ymin", "xmax", "ymax")]
            if None in vals:
                raise DataFormatError(f"{f}: object {obj.findtext('name')!r} has no complete <bndbox>")
            v = finite_floats(f, "bndbox", vals)
            _check_box(f, "bndbox", v)
            boxes.append(v.tolist())
            labels.append(obj.findtext("name") or "hand")
        img = f.parent.parent / "JPEGImages" / (root.findtext("filename") or f.stem + ".jpg")
        if not img.parent.is_dir():
            img = f.parent / (root.findtext("filename") or f.stem + ".jpg")
        out.append(Sample(img, w, h, np.array(boxes, np.float32).reshape(-1, 4), labels=labels))
    return out


def write_voc(samples: list[Sample], folder: str | Path) -> None:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for s in samples:
        root = ET.Element("annotation")
        ET.SubElement(root, "filename").text = Path(s.image).name
        size = ET.SubElement(root, "size")
        for k, v in (("width", s.width), ("height", s.height), ("depth", 3)):
            ET.SubElement(size, k).text = str(v)
        for b, lab in zip(s.boxes, s.labels or ["hand"] * len(s.boxes)):
            obj = ET.SubElement(root, "object")
            ET.SubElement(obj, "name").text = lab
            bb = ET.SubElement(obj, "bndbox")
            for k, v in zip(("xmin", "ymin", "xmax", "ymax"), b):
                ET.SubElement(bb, k).text = f"{float(v):.2f}"
        ET.ElementTree(root).write(folder / f"{Path(s.image).stem}.xml")


# ---------------------------------------------------------------- YOLO txt


def read_yolo_boxes(root: str | Path) -> list[Sample]:
    """YOLO detection folder: ``images/`` + ``labels/<stem>.txt`` with ``class cx cy w h`` normalised.

    YOLO-pose lines (box then points) are read too; only the box is kept.
    """
    root = Path(root)
    img_dir, lbl_dir = root / "images", root / "labels"
    if not img_dir.is_dir() or not lbl_dir.is_dir():
        raise DataFormatError(f"{root}: not a YOLO folder (needs images/ and labels/)")
    out = []
    for img in sorted(p for p in img_dir.iterdir() if p.suffix.lower() in IMAGE_EXTS):
        lbl = lbl_dir / f"{img.stem}.txt"
        if not lbl.exists():
            continue
        boxes, labels = [], []
        w = h = None
        for ln, line in enumerate(lbl.read_text().splitlines(), 1):
            vals = line.split()
            if not vals:
                continue
            if len(vals) < 5:
                raise DataFormatError(f"{lbl}:{ln}: {len(vals)} values, expected class cx cy w h")
            v = finite_floats(lbl, ln, vals[:5])
            if w is None:
                w, h = image_size(img)
            cx, cy, bw, bh = v[1:]
            boxes.append([(cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h])
            labels.append(str(int(v[0])))
        if w is None:
            w, h = image_size(img)
        out.append(Sample(img, w, h, np.array(boxes, np.float32).reshape(-1, 4), labels=labels))
    return out


def write_yolo_boxes(samples: list[Sample], root: str | Path) -> None:
    lbl_dir = Path(root) / "labels"
    lbl_dir.mkdir(parents=True, exist_ok=True)
    for s in samples:
        lines = []
        for b, lab in zip(s.boxes, s.labels or ["0"] * len(s.boxes)):
            cls = lab if str(lab).isdigit() else "0"
            cx, cy = (b[0] + b[2]) / 2 / s.width, (b[1] + b[3]) / 2 / s.height
            lines.append(f"{cls} {cx:.6f} {cy:.6f} {(b[2] - b[0]) / s.width:.6f} {(b[3] - b[1]) / s.height:.6f}")
        (lbl_dir / f"{Path(s.image).stem}.txt").write_text("\n".join(lines) + ("\n" if lines else ""))


# ---------------------------------------------------------------- dispatch


def read_boxes(path: str | Path) -> list[Sample]:
    """Read box labels from any supported format, chosen by content.

    A folder: ``boxes.csv`` inside (EgoHands), ``images/`` + ``labels/`` (YOLO), or VOC XML files.
    A file: ``.json`` (COCO), ``.xml`` (VOC), ``.csv`` (EgoHands or Open Images, by header).
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or folder")
    if path.is_dir():
        if (path / "boxes.csv").is_file():
            return read_egohands_csv(path / "boxes.csv")
        if (path / "images").is_dir() and (path / "labels").is_dir():
            return read_yolo_boxes(path)
        if (path / "Annotations").is_dir() or any(path.glob("*.xml")):
            return read_voc(path)
        raise DataFormatError(f"{path}: no box labels found (boxes.csv, images/+labels/, or VOC XML)")
    suffix = path.suffix.lower()
    if suffix == ".json":
        return read_coco_boxes(path)
    if suffix == ".xml":
        return read_voc(path)
    if suffix == ".csv":
        with open(path, newline="") as f:
            header = [h.strip() for h in next(csv.reader(f), [])]
        if header == EGO_HEADER:
            return read_egohands_csv(path)
        if all(c in header for c in OI_COLUMNS):
            return read_open_images_csv(path)
        raise DataFormatError(f"{path}:1: unknown CSV header {header}; expected EgoHands or Open Images columns")
    raise DataFormatError(f"{path}: unknown box label format {suffix!r}")
