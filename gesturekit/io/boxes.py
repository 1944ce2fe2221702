"""Box annotations: COCO JSON, YOLO txt folders, Pascal VOC XML, Open Images CSV, EgoHands CSV.

Every reader returns a list of :class:`Sample` with ``boxes`` (N, 4) x1 y1 x2 y2
in pixels and ``labels``. :func:`read_boxes` picks the reader from the content.
A malformed row raises :class:`DataFormatError` naming the file and line.

Each reader keeps the boxes of one class (:func:`pick_classes`): ``label`` when given, else the
file's only class, else its hand classes; EgoHands CSVs hold hands alone and keep every row.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable
from dataclasses import replace
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
OI_SIZE_COLUMNS = ["ImageWidth", "ImageHeight"]  # optional: sizes in pixels, so images need not be at hand
HAND_WORDS = frozenset({"hand", "hands"})
# words that may stand beside "hand" in a hand class's name ("Hand dryer", "hand truck" are not hands)
HAND_MODIFIERS = frozenset({"human", "person", "left", "right", "l", "r", "my", "your", "other", "own"})


def _check_box(path, line, b):
    if b[2] < b[0] or b[3] < b[1]:
        raise DataFormatError(f"{path}:{line}: box {np.asarray(b).tolist()} has max < min")


def _check_normalised(path, line, v) -> None:
    if (v < -0.01).any() or (v > 1.01).any():
        raise DataFormatError(f"{path}:{line}: coordinates must be normalised to 0..1, got {np.asarray(v).tolist()}")


def _check_pixels(path, line, b, w: float, h: float) -> None:
    """A pixel box must overlap its image; one within 0..1 in a larger image was written normalised."""
    if max(w, h) > 4 and np.abs(b).max() <= 1.0 and b[2] > b[0]:
        raise DataFormatError(f"{path}:{line}: box {np.asarray(b).tolist()} looks normalised; expected pixels of a {w:g}×{h:g} image")
    if b[2] < 0 or b[3] < 0 or b[0] > w or b[1] > h:
        raise DataFormatError(f"{path}:{line}: box {np.asarray(b).tolist()} lies outside the {w:g}×{h:g} image")


def is_hand_class(name: str) -> bool:
    """Whether a class name means a hand: the word ``hand`` or ``hands``, with at most a side or an
    owner beside it (``Human hand``, ``left_hand``, ``Right-Hand``; any case; not ``Hand dryer``),
    or Open Images' ``/m/0k65p``."""
    k = name.strip().casefold()
    words = {w for w in re.split(r"[^a-z0-9]+", k) if w}
    return k == HAND_MID or (not HAND_WORDS.isdisjoint(words) and words <= HAND_WORDS | HAND_MODIFIERS)


def _class_key(name: str) -> str:
    # Open Images' MID and its readable name are one class
    k = name.strip().casefold()
    return HAND_NAME.casefold() if k == HAND_MID else k


def pick_classes(found: Iterable[str], label: str | None, where: str | Path) -> set[str]:
    """The classes of ``found`` (names in ``where``) whose boxes are kept.

    ``label`` given: the classes it names (case-insensitive; several separated by commas, as
    ``left,right``). Else the only class, or the hand classes (:func:`is_hand_class`) of several. A :class:`DataFormatError` naming ``where`` and the
    classes when ``label`` names none of them, or when several classes hold no hand class.
    """
    found = set(found)
    names = ", ".join(repr(c) for c in sorted(found))
    if label is not None:
        wanted = {_class_key(n) for n in label.split(",") if n.strip()}
        keep = {c for c in found if _class_key(c) in wanted}
        missing = wanted - {_class_key(c) for c in keep}
        if found and missing:
            raise DataFormatError(f"{where}: no class {', '.join(sorted(map(repr, missing)))}; classes found: {names}")
        return keep
    if len(found) <= 1:
        return found
    keep = {c for c in found if is_hand_class(c)}
    if not keep:
        raise DataFormatError(f"{where}: boxes of {len(found)} classes ({names}) and none is a hand; "
                              "pick the hand class with --label NAME (label= in Python; YOLO: the class id)")
    return keep


def select_class(samples: list[Sample], label: str | None, where: str | Path) -> list[Sample]:
    """``samples`` with only the boxes of the classes :func:`pick_classes` keeps; an image left with
    none stays, as one with no hand."""
    keep = pick_classes({lab for s in samples for lab in s.labels}, label, where)
    return [_only(s, keep) for s in samples]


def _only(s: Sample, keep: set[str]) -> Sample:
    mask = np.array([lab in keep for lab in s.labels], bool)
    if mask.all():
        return s
    return replace(s, boxes=s.boxes[mask], labels=[lab for lab, m in zip(s.labels, mask) if m])


def _group(rows: dict[str, dict], order: list[str]) -> list[Sample]:
    out = []
    for k in order:
        r = rows[k]
        out.append(Sample(Path(r["image"]), int(r["w"]), int(r["h"]), np.array(r["boxes"], np.float32).reshape(-1, 4),
                          labels=list(r["labels"])))
    return out


# ---------------------------------------------------------------- EgoHands CSV


def read_egohands_csv(path: str | Path, label: str | None = None) -> list[Sample]:
    """``image,width,height,label,xmin,ymin,xmax,ymax`` in pixels; images resolved under ``images/``.

    Every row is kept: its labels (``myleft``, ``yourright``, ...) all name hands. ``label`` keeps that one.
    """
    path = Path(path)
    rows: dict[str, dict] = {}
    with open(path, newline="", encoding="utf-8-sig") as f:   # -sig: Excel's "CSV UTF-8" starts with a BOM
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None or [h.strip() for h in header] != EGO_HEADER:
            raise DataFormatError(f"{path}:1: expected header {','.join(EGO_HEADER)}, got {header}")
        for row in reader:
            ln = reader.line_num   # the file's line (a quoted cell may span several)
            if not row:
                continue
            if len(row) != 8:
                raise DataFormatError(f"{path}:{ln}: {len(row)} fields, expected 8")
            v = finite_floats(path, ln, row[1:3] + row[4:8])
            _check_box(path, ln, v[2:])
            _check_pixels(path, ln, v[2:], v[0], v[1])
            img = path.parent / "images" / row[0]
            r = rows.setdefault(row[0], {"image": img, "w": v[0], "h": v[1], "boxes": [], "labels": []})
            r["boxes"].append(v[2:].tolist())
            r["labels"].append(row[3])
    out = _group(rows, list(rows))
    return out if label is None else select_class(out, label, path)


def write_egohands_csv(samples: list[Sample], path: str | Path) -> None:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(EGO_HEADER)
        for s in samples:
            for b, lab in zip(s.boxes, s.labels or ["hand"] * len(s.boxes)):
                w.writerow([Path(s.image).name, s.width, s.height, lab, *[f"{x:.2f}" for x in b]])


# ---------------------------------------------------------------- Open Images CSV


def read_open_images_csv(path: str | Path, image_dir: str | Path | None = None,
                         label: str | None = None) -> list[Sample]:
    """Open Images box CSV (normalised XMin/XMax/YMin/YMax); keeps the rows :func:`pick_classes`
    keeps: ``label``'s, else ``Human hand`` (MID ``/m/0k65p``, named so) among several classes,
    else the file's only class, whatever it is.

    Pixel sizes come from ``ImageWidth``/``ImageHeight`` columns when the CSV has them, else from
    ``image_dir/<ImageID>.jpg`` (default ``images/`` beside the CSV); a missing image is then a
    :class:`DataFormatError`. Images with no box of the class are left out: Open Images boxes a
    class on only some images.
    """
    path = Path(path)
    image_dir = Path(image_dir) if image_dir else path.parent / "images"
    # two passes over the file, not its rows held in memory: Open Images' own CSVs run to millions of rows
    with open(path, newline="", encoding="utf-8-sig") as f:
        keep = pick_classes({_oi_name(row["LabelName"]) for row in _oi_rows(f, path)}, label, path)
    rows: dict[str, dict] = {}
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = _oi_rows(f, path)
        for row in reader:
            ln = reader.line_num   # DictReader skips blank lines: counting rows would name the wrong line
            name = _oi_name(row["LabelName"])
            if name not in keep:
                continue
            v = finite_floats(path, ln, [row[c] for c in ("XMin", "YMin", "XMax", "YMax")])
            _check_normalised(path, ln, v)
            _check_box(path, ln, v)
            r = rows.setdefault(row["ImageID"], {"line": ln, "row": row, "boxes": [], "labels": []})
            r["boxes"].append(v)
            r["labels"].append(name)
    # sizes once every row is read, so the CSV's own errors come before a missing image
    for iid, r in rows.items():
        r["image"] = next((image_dir / f"{iid}{e}" for e in IMAGE_EXTS + (".JPG",)
                           if (image_dir / f"{iid}{e}").exists()), image_dir / f"{iid}.jpg")
        r["w"], r["h"] = _oi_size(path, r["line"], r["row"], r["image"])
        r["boxes"] = [(v * [r["w"], r["h"], r["w"], r["h"]]).tolist() for v in r["boxes"]]
    return _group(rows, list(rows))


def _oi_rows(f, path: Path) -> csv.DictReader:
    reader = csv.DictReader(f)
    missing = [c for c in OI_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise DataFormatError(f"{path}:1: missing columns {missing}")
    return reader


def _oi_name(label_name: str) -> str:
    return HAND_NAME if label_name == HAND_MID else label_name


def _oi_size(path: Path, line: int, row: dict, img: Path) -> tuple[int, int]:
    """An image's (width, height): the row's ``ImageWidth``/``ImageHeight``, else read from ``img``."""
    cells = [row.get(c) for c in OI_SIZE_COLUMNS]
    if all(cells):
        w, h = finite_floats(path, line, cells, "image size")
        if w < 1 or h < 1:
            raise DataFormatError(f"{path}:{line}: image size {w:g}×{h:g} must be at least 1×1 pixels")
        return int(w), int(h)
    if not img.is_file():
        # the boxes are fractions of the image: without its size they cannot become pixels
        raise DataFormatError(f"{path}:{line}: image {img} not found, and its size is needed for the boxes "
                              f"(put the images there, or give the CSV {'/'.join(OI_SIZE_COLUMNS)} columns)")
    return image_size(img)


def write_open_images_csv(samples: list[Sample], path: str | Path) -> None:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(OI_COLUMNS)
        for s in samples:
            for b in s.boxes:
                w.writerow([Path(s.image).stem, HAND_MID, f"{b[0] / s.width:.6f}", f"{b[2] / s.width:.6f}",
                            f"{b[1] / s.height:.6f}", f"{b[3] / s.height:.6f}"])


# ---------------------------------------------------------------- COCO JSON


def read_coco_boxes(path: str | Path, image_dir: str | Path | None = None,
                    label: str | None = None) -> list[Sample]:
    """COCO detection JSON (``bbox`` = x, y, w, h in pixels); keeps the boxes of one category
    (:func:`pick_classes`, by ``name``, among the declared ``categories`` too)."""
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
        cid = a.get("category_id")
        # no categories at all: a hand-only file; an undeclared id is a class of its own
        rows[a["image_id"]]["labels"].append(cats.get(cid, str(cid) if cats else "hand"))
    out = _group(rows, order)
    # declared categories count even without boxes: [person, hand] with no hand box yet means no hands
    keep = pick_classes({*cats.values(), *(lab for s in out for lab in s.labels)}, label, path)
    return [_only(s, keep) for s in out]


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


def read_voc(path: str | Path, label: str | None = None) -> list[Sample]:
    """One VOC XML file, or a folder of them (``Annotations/`` or the folder itself); keeps the boxes
    of one object ``name`` (:func:`pick_classes`)."""
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
    return select_class(out, label, path)


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


def read_yolo_boxes(root: str | Path, label: str | None = None) -> list[Sample]:
    """YOLO detection folder: ``images/`` + ``labels/<stem>.txt`` with ``class cx cy w h`` normalised.

    An image with no label file is a background image (no boxes), as in YOLO's own tools.
    YOLO-pose lines (box then points) are read too; only the box is kept. Labels are the class ids
    (``"0"``, ``"1"``, ...): one class is kept, ``label`` when several (:func:`pick_classes`).
    """
    root = Path(root)
    img_dir, lbl_dir = root / "images", root / "labels"
    if not img_dir.is_dir() or not lbl_dir.is_dir():
        raise DataFormatError(f"{root}: not a YOLO folder (needs images/ and labels/)")
    out = []
    for img in sorted(p for p in img_dir.iterdir() if p.suffix.lower() in IMAGE_EXTS):
        lbl = lbl_dir / f"{img.stem}.txt"
        boxes, labels = [], []
        w = h = None
        # an image without a label file is a background image (YOLO's convention): no boxes
        for ln, line in enumerate(lbl.read_text().splitlines() if lbl.exists() else [], 1):
            vals = line.split()
            if not vals:
                continue
            if len(vals) < 5:
                raise DataFormatError(f"{lbl}:{ln}: {len(vals)} values, expected class cx cy w h")
            v = finite_floats(lbl, ln, vals[:5])
            _check_normalised(lbl, ln, v[1:])
            if w is None:
                w, h = image_size(img)
            cx, cy, bw, bh = v[1:]
            boxes.append([(cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h])
            labels.append(str(int(v[0])))
        if w is None:
            w, h = image_size(img)
        out.append(Sample(img, w, h, np.array(boxes, np.float32).reshape(-1, 4), labels=labels))
    return select_class(out, label, root)


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


def read_boxes(path: str | Path, label: str | None = None) -> list[Sample]:
    """Read box labels from any supported format, chosen by content.

    A folder: ``boxes.csv`` inside (EgoHands), ``images/`` + ``labels/`` (YOLO), or VOC XML files.
    A file: ``.json`` (COCO), ``.xml`` (VOC), ``.csv`` (EgoHands or Open Images, by header).
    The boxes of one class are kept (:func:`pick_classes`): ``label`` (a name, case-insensitive; for
    YOLO the class id) when given, else the file's only class, else its hand classes (``hand``,
    ``Human hand``, ...); several classes and none a hand is a :class:`DataFormatError`. EgoHands
    CSVs hold hands alone and keep every row unless ``label`` is given.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or folder")
    if path.is_dir():
        if (path / "boxes.csv").is_file():
            return read_egohands_csv(path / "boxes.csv", label)
        if (path / "images").is_dir() and (path / "labels").is_dir():
            return read_yolo_boxes(path, label)
        if (path / "Annotations").is_dir() or any(path.glob("*.xml")):
            return read_voc(path, label)
        raise DataFormatError(f"{path}: no box labels found (boxes.csv, images/+labels/, or VOC XML)")
    suffix = path.suffix.lower()
    if suffix == ".json":
        return read_coco_boxes(path, label=label)
    if suffix == ".xml":
        return read_voc(path, label)
    if suffix == ".csv":
        with open(path, newline="", encoding="utf-8-sig") as f:
            header = [h.strip() for h in next(csv.reader(f), [])]
        if header == EGO_HEADER:
            return read_egohands_csv(path, label)
        if all(c in header for c in OI_COLUMNS):
            return read_open_images_csv(path, label=label)
        raise DataFormatError(f"{path}:1: unknown CSV header {header}; expected EgoHands or Open Images columns")
    raise DataFormatError(f"{path}: unknown box label format {suffix!r}")
