"""Box converters: every format round-trips, dispatch by content, bad rows name file and line."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from gesturekit.errors import DataFormatError
from gesturekit.io.boxes import (
    HAND_MID,
    read_boxes,
    read_egohands_csv,
    read_open_images_csv,
    read_voc,
    read_yolo_boxes,
    write_coco_boxes,
    write_egohands_csv,
    write_open_images_csv,
    write_voc,
    write_yolo_boxes,
)
from gesturekit.io.sample import Sample


@pytest.fixture
def samples(tmp_path: Path) -> list[Sample]:
    img_dir = tmp_path / "images"
    img_dir.mkdir()
    out = []
    for i, (w, h) in enumerate([(64, 48), (80, 40)]):
        p = img_dir / f"im{i}.jpg"
        cv2.imwrite(str(p), np.zeros((h, w, 3), np.uint8))
        boxes = np.array([[2.0, 3.0, 20.5, 30.0], [30.0, 5.0, 60.0, 35.0]][: i + 1], np.float32)
        boxes[:, [1, 3]] = np.minimum(boxes[:, [1, 3]], h)
        out.append(Sample(p, w, h, boxes, labels=["hand"] * len(boxes)))
    return out


def _same(a: list[Sample], b: list[Sample], atol: float = 0.02) -> None:
    assert len(a) == len(b)
    for x, y in zip(sorted(a, key=lambda s: Path(s.image).name), sorted(b, key=lambda s: Path(s.image).name)):
        assert Path(x.image).name == Path(y.image).name
        assert (x.width, x.height) == (y.width, y.height)
        np.testing.assert_allclose(x.boxes, y.boxes, atol=atol)


def test_egohands_round_trip(samples, tmp_path):
    write_egohands_csv(samples, tmp_path / "boxes.csv")
    _same(samples, read_egohands_csv(tmp_path / "boxes.csv"))
    _same(samples, read_boxes(tmp_path))  # the folder dispatches on boxes.csv


def test_coco_round_trip(samples, tmp_path):
    write_coco_boxes(samples, tmp_path / "images" / "ann.json")
    got = read_boxes(tmp_path / "images" / "ann.json")
    _same(samples, got)
    assert got[0].labels == ["hand"]


def test_voc_round_trip(samples, tmp_path):
    write_voc(samples, tmp_path / "voc")
    _same(samples, read_boxes(tmp_path / "voc"))
    _same(samples[:1], read_voc(tmp_path / "voc" / "im0.xml"))


def test_yolo_round_trip(samples, tmp_path):
    write_yolo_boxes(samples, tmp_path)
    _same(samples, read_yolo_boxes(tmp_path), atol=0.01)
    _same(samples, read_boxes(tmp_path), atol=0.01)


def test_open_images_round_trip_and_label_names(samples, tmp_path):
    write_open_images_csv(samples, tmp_path / "oi.csv")
    assert HAND_MID in (tmp_path / "oi.csv").read_text()
    _same(samples, read_boxes(tmp_path / "oi.csv"), atol=0.01)
    # the readable label name is accepted as well as the MID; other classes are skipped
    text = ("ImageID,Source,LabelName,Confidence,XMin,XMax,YMin,YMax\n"
            "im0,human,Human hand,1,0.1,0.5,0.2,0.6\n"
            "im0,human,/m/01g317,1,0.0,1.0,0.0,1.0\n")
    (tmp_path / "oi2.csv").write_text(text)
    got = read_open_images_csv(tmp_path / "oi2.csv")
    assert len(got) == 1 and len(got[0].boxes) == 1
    np.testing.assert_allclose(got[0].boxes[0], [0.1 * 64, 0.2 * 48, 0.5 * 64, 0.6 * 48], atol=1e-3)


@pytest.mark.parametrize("row, problem", [
    ("im0.jpg,64,48,hand,1,2,x,4", "non-numeric"),
    ("im0.jpg,64,48,hand,1,2,3", "fields"),
    ("im0.jpg,64,48,hand,10,2,3,4", "max < min"),
    ("im0.jpg,64,48,hand,1,2,nan,4", "NaN"),
])
def test_egohands_corrupt_row_names_file_and_line(tmp_path, row, problem):
    f = tmp_path / "boxes.csv"
    f.write_text("image,width,height,label,xmin,ymin,xmax,ymax\nim0.jpg,64,48,hand,1,2,3,4\n" + row + "\n")
    with pytest.raises(DataFormatError, match=rf"boxes\.csv:3: .*{problem}"):
        read_boxes(f)


def test_open_images_corrupt_row_and_unnormalised(tmp_path):
    f = tmp_path / "oi.csv"
    f.write_text("ImageID,LabelName,XMin,XMax,YMin,YMax\na,/m/0k65p,0.1,0.2,0.1,0.2\na,/m/0k65p,12,40,3,9\n")
    with pytest.raises(DataFormatError, match=r"oi\.csv:3: .*normalised"):
        read_boxes(f)


def test_yolo_corrupt_line(tmp_path, samples):
    write_yolo_boxes(samples, tmp_path)
    (tmp_path / "labels" / "im1.txt").write_text("0 0.5 0.5 0.2 0.2\n0 0.5 oops 0.1 0.1\n")
    with pytest.raises(DataFormatError, match=r"im1\.txt:2: non-numeric"):
        read_boxes(tmp_path)


def test_coco_bad_bbox_and_bad_json(tmp_path):
    f = tmp_path / "a.json"
    f.write_text(json.dumps({"images": [{"id": 1, "file_name": "a.jpg", "width": 4, "height": 4}],
                             "annotations": [{"image_id": 1, "bbox": [1, 2, 3]}]}))
    with pytest.raises(DataFormatError, match=r"a\.json: annotations\[0\]: bbox"):
        read_boxes(f)
    f.write_text("{\n  'images': oops\n}")
    with pytest.raises(DataFormatError, match=r"a\.json:2: invalid JSON"):
        read_boxes(f)


def test_voc_broken_xml_and_unknown_formats(tmp_path):
    (tmp_path / "x.xml").write_text("<annotation><size><width>4</width></annotation")
    with pytest.raises(DataFormatError, match=r"x\.xml:1: invalid XML"):
        read_boxes(tmp_path / "x.xml")
    (tmp_path / "y.csv").write_text("a,b,c\n1,2,3\n")
    with pytest.raises(DataFormatError, match=r"y\.csv:1: unknown CSV header"):
        read_boxes(tmp_path / "y.csv")
    with pytest.raises(FileNotFoundError, match="nope"):
        read_boxes(tmp_path / "nope.json")
    (tmp_path / "z.txt").write_text("")
    with pytest.raises(DataFormatError, match="unknown box label format"):
        read_boxes(tmp_path / "z.txt")


def test_coco_export_with_annotations_folder_and_no_sizes(samples, tmp_path):
    # CVAT and others: annotations/instances_default.json beside images/, width/height optional
    write_coco_boxes(samples, tmp_path / "ann.json")
    d = json.loads((tmp_path / "ann.json").read_text())
    for im in d["images"]:
        del im["width"], im["height"]
    (tmp_path / "annotations").mkdir()
    (tmp_path / "annotations" / "instances_default.json").write_text(json.dumps(d))
    got = read_boxes(tmp_path / "annotations" / "instances_default.json")
    _same(samples, got)
    assert all(Path(s.image).is_file() for s in got)
    d["images"][1] = {"id": 2}
    (tmp_path / "bad.json").write_text(json.dumps(d))
    with pytest.raises(DataFormatError, match=r"bad\.json: images\[1\] needs 'id' and 'file_name'"):
        read_boxes(tmp_path / "bad.json")


def _eval_detector(data, capsys):
    from gesturekit.cli import main

    rc = main(["eval", "detector", "--data", str(data), "--json", "--threads", "1"])
    out, err = capsys.readouterr()
    return rc, (json.loads(out) if rc == 0 else err)


def test_eval_detector_reads_a_yolo_box_folder_and_prints_strict_json(samples, tmp_path, capsys):
    write_yolo_boxes(samples, tmp_path)  # class cx cy w h: a box folder, not YOLO-pose
    rc, res = _eval_detector(tmp_path, capsys)
    assert rc == 0 and res["images"] == 2 and res["boxes"] == 3
    # no labelled box at all: AP is undefined, and JSON has no NaN (null instead)
    write_voc([Sample(s.image, s.width, s.height) for s in samples], tmp_path / "images")  # XML beside
    rc, res = _eval_detector(tmp_path / "images", capsys)
    assert rc == 0 and res["boxes"] == 0 and res["ap50"] is None


def test_eval_detector_with_no_images_or_a_missing_one_says_so(samples, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "boxes.csv").write_text("image,width,height,label,xmin,ymin,xmax,ymax\n")
    rc, err = _eval_detector(tmp_path / "empty", capsys)
    assert rc == 2 and "no labelled images to score" in err
    write_egohands_csv(samples, tmp_path / "boxes.csv")
    (tmp_path / "images" / "im1.jpg").unlink()
    rc, err = _eval_detector(tmp_path, capsys)
    assert rc == 2 and "im1.jpg: image not found" in err
