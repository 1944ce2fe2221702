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
    is_hand_class,
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
    ("im0.jpg,64,48,hand,0.1,0.2,0.3,0.4", "looks normalised"),   # pixels expected
    ("im0.jpg,64,48,hand,100,2,130,40", "outside the 64×48 image"),
])
def test_egohands_corrupt_row_names_file_and_line(tmp_path, row, problem):
    f = tmp_path / "boxes.csv"
    f.write_text("image,width,height,label,xmin,ymin,xmax,ymax\nim0.jpg,64,48,hand,1,2,3,4\n" + row + "\n")
    with pytest.raises(DataFormatError, match=rf"boxes\.csv:3: .*{problem}"):
        read_boxes(f)


def test_box_csvs_name_the_files_own_line_and_take_excels_bom(tmp_path):
    f = tmp_path / "oi.csv"
    # a blank line, which csv readers skip, must not shift the line named
    f.write_text("\ufeffImageID,LabelName,XMin,XMax,YMin,YMax,ImageWidth,ImageHeight\n"
                 "a,/m/0k65p,0.1,0.2,0.1,0.2,64,48\n\na,/m/0k65p,0.1,oops,0.1,0.2,64,48\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"oi\.csv:4: non-numeric"):
        read_boxes(f)
    f.write_text("\ufeffimage,width,height,label,xmin,ymin,xmax,ymax\nim0.jpg,64,48,hand,1,2,3,4\n", encoding="utf-8")
    assert len(read_boxes(f)[0].boxes) == 1


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


def test_yolo_boxes_in_pixels_are_refused_and_unlabelled_images_are_background(tmp_path, samples):
    write_yolo_boxes(samples, tmp_path)
    (tmp_path / "labels" / "im1.txt").unlink()       # YOLO's convention: no label file, no hand
    got = {Path(s.image).name: len(s.boxes) for s in read_boxes(tmp_path)}
    assert got == {"im0.jpg": 1, "im1.jpg": 0}
    (tmp_path / "labels" / "im1.txt").write_text("0 32 24 10 8\n")
    with pytest.raises(DataFormatError, match=r"im1\.txt:1: .*normalised"):
        read_boxes(tmp_path)


def test_coco_bad_bbox_and_bad_json(tmp_path):
    f = tmp_path / "a.json"
    f.write_text(json.dumps({"images": [{"id": 1, "file_name": "a.jpg", "width": 4, "height": 4}],
                             "annotations": [{"image_id": 1, "bbox": [1, 2, 3]}]}))
    with pytest.raises(DataFormatError, match=r"a\.json: annotations\[0\]: bbox"):
        read_boxes(f)
    f.write_text(json.dumps({"images": [{"id": 1, "file_name": "a.jpg", "width": 4, "height": 4}],
                             "annotations": [{"image_id": 1, "bbox": [1, None, 3, 2]}]}))
    with pytest.raises(DataFormatError, match=r"a\.json: annotations\[0\]:bbox: non-numeric"):
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


# --- multi-class files: one class is kept, the hand one by default ----------------------------


def _two_class_samples(samples: list[Sample], other: str = "person", hand: str = "hand") -> list[Sample]:
    """``samples`` with a box of class ``other`` added to each, and im0's one hand box relabelled
    ``other``: im0 holds 2 ``other`` boxes and no hand, im1 2 ``hand`` boxes and 1 ``other``."""
    out = []
    for i, s in enumerate(samples):
        labels = [other if i == 0 else hand] + [hand] * (len(s.boxes) - 1) + [other]
        boxes = np.concatenate([s.boxes, [[1.0, 1.0, 9.0, 9.0]]]).astype(np.float32)
        out.append(Sample(s.image, s.width, s.height, boxes, labels=labels))
    return out


def _boxes_by_image(got: list[Sample]) -> dict[str, tuple[int, set[str]]]:
    return {Path(s.image).name: (len(s.boxes), set(s.labels)) for s in got}


def test_coco_with_person_and_hand_keeps_the_hands(samples, tmp_path):
    write_coco_boxes(_two_class_samples(samples), tmp_path / "images" / "ann.json")
    got = read_boxes(tmp_path / "images" / "ann.json")
    # im0 holds a person alone: kept, as an image with no hand
    assert _boxes_by_image(got) == {"im0.jpg": (0, set()), "im1.jpg": (2, {"hand"})}
    np.testing.assert_allclose(got[1].boxes, samples[1].boxes, atol=1e-4)
    got = read_boxes(tmp_path / "images" / "ann.json", label="PERSON")  # any case
    assert _boxes_by_image(got) == {"im0.jpg": (2, {"person"}), "im1.jpg": (1, {"person"})}
    with pytest.raises(DataFormatError, match=r"ann\.json: no class 'cat'; classes found: 'hand', 'person'"):
        read_boxes(tmp_path / "images" / "ann.json", label="cat")


def test_coco_declared_hand_category_with_no_hand_box_keeps_none(samples, tmp_path):
    write_coco_boxes([Sample(s.image, s.width, s.height, s.boxes, labels=["person"] * len(s.boxes))
                      for s in samples], tmp_path / "a.json")
    d = json.loads((tmp_path / "a.json").read_text())
    d["categories"].append({"id": 9, "name": "Hand"})
    (tmp_path / "a.json").write_text(json.dumps(d))
    assert sum(len(s.boxes) for s in read_boxes(tmp_path / "a.json")) == 0


def test_voc_hand_like_names_any_case(samples, tmp_path):
    write_voc(_two_class_samples(samples, other="face", hand="Hand"), tmp_path / "voc")
    got = read_boxes(tmp_path / "voc")
    assert _boxes_by_image(got) == {"im0.jpg": (0, set()), "im1.jpg": (2, {"Hand"})}


def test_left_and_right_hand_classes_are_both_hands(samples, tmp_path):
    two = _two_class_samples(samples, other="handbag", hand="left_hand")
    two[1].labels[1] = "Right-Hand"
    write_voc(two, tmp_path / "voc")
    got = read_boxes(tmp_path / "voc")  # "handbag" is not a hand, both sides are
    assert _boxes_by_image(got) == {"im0.jpg": (0, set()), "im1.jpg": (2, {"left_hand", "Right-Hand"})}



@pytest.mark.parametrize("name,hand", [("hand", True), ("Human hand", True), ("/m/0k65p", True),
                                       ("left_hand", True), ("Right-Hand", True), ("hands", True),
                                       ("Hand dryer", False), ("hand truck", False), ("handbag", False),
                                       ("person", False)])
def test_hand_class_names(name, hand):
    assert is_hand_class(name) is hand


def test_a_label_may_name_several_classes(samples, tmp_path):
    write_yolo_boxes(_two_class_samples(samples, other="1", hand="0"), tmp_path)
    got = read_boxes(tmp_path, label="0, 1")   # left and right hands as two YOLO classes
    assert sum(len(s.boxes) for s in got) == 5
    with pytest.raises(DataFormatError, match="no class '2'"):
        read_boxes(tmp_path, label="0,2")


def test_yolo_two_class_ids_need_a_label(samples, tmp_path):
    write_yolo_boxes(_two_class_samples(samples, other="1", hand="0"), tmp_path)
    with pytest.raises(DataFormatError, match=rf"{tmp_path.name}: boxes of 2 classes \('0', '1'\) "
                                              r"and none is a hand; pick .*--label"):
        read_boxes(tmp_path)
    got = read_boxes(tmp_path, label="0")
    assert _boxes_by_image(got) == {"im0.jpg": (0, set()), "im1.jpg": (2, {"0"})}
    assert sum(len(s.boxes) for s in read_yolo_boxes(tmp_path, label="1")) == 3


def test_a_single_class_is_kept_whatever_its_name(samples, tmp_path):
    write_yolo_boxes([Sample(s.image, s.width, s.height, s.boxes, labels=["3"] * len(s.boxes))
                      for s in samples], tmp_path)
    _same(samples, read_boxes(tmp_path), atol=0.01)


def test_egohands_keeps_every_row_of_its_hand_labels(samples, tmp_path):
    names = iter(["myleft", "yourright", "myright"])
    write_egohands_csv([Sample(s.image, s.width, s.height, s.boxes, labels=[next(names) for _ in s.boxes])
                        for s in samples], tmp_path / "boxes.csv")
    _same(samples, read_boxes(tmp_path))
    got = read_boxes(tmp_path, label="myleft")  # picked explicitly: that one alone
    assert _boxes_by_image(got) == {"im0.jpg": (1, {"myleft"}), "im1.jpg": (0, set())}


def test_shared_egohands_keeps_every_row(shared_data):
    csv_file = shared_data / "egohands" / "boxes.csv"
    rows = len([ln for ln in csv_file.read_text().splitlines()[1:] if ln.strip()])
    assert sum(len(s.boxes) for s in read_boxes(shared_data / "egohands")) == rows


def test_open_images_other_classes_and_label(samples, tmp_path):
    write_coco_boxes(samples, tmp_path / "unused.json")  # images/ beside the CSVs
    text = ("ImageID,LabelName,XMin,XMax,YMin,YMax\n"
            "im0,/m/01g317,0.0,1.0,0.0,1.0\n"
            "im1,/m/0k65p,0.1,0.5,0.2,0.6\n"
            "im1,/m/01g317,0.0,0.5,0.0,0.5\n")
    (tmp_path / "oi.csv").write_text(text)
    got = read_boxes(tmp_path / "oi.csv")  # the MID is the hand; im0 holds no hand box, so is left out
    assert _boxes_by_image(got) == {"im1.jpg": (1, {"Human hand"})}
    assert _boxes_by_image(read_boxes(tmp_path / "oi.csv", label="human hand")) == {"im1.jpg": (1, {"Human hand"})}
    assert _boxes_by_image(read_boxes(tmp_path / "oi.csv", label="/m/01g317")) == {
        "im0.jpg": (1, {"/m/01g317"}), "im1.jpg": (1, {"/m/01g317"})}
    (tmp_path / "oi2.csv").write_text(text.replace("/m/0k65p", "/m/02p0tk3"))
    with pytest.raises(DataFormatError, match=r"oi2\.csv: boxes of 2 classes \('/m/01g317', '/m/02p0tk3'\)"):
        read_boxes(tmp_path / "oi2.csv")


def test_open_images_missing_image_is_an_error_unless_the_csv_gives_sizes(samples, tmp_path):
    # the boxes are fractions of the image: without it (or sizes in the CSV) they cannot be pixels
    oi = tmp_path / "oi" / "oi.csv"
    oi.parent.mkdir()
    write_open_images_csv(samples, oi)  # no images/ beside it
    with pytest.raises(DataFormatError, match=r"oi\.csv:2: image .*oi[/\\]images[/\\]im0\.jpg not found"):
        read_boxes(oi)
    (tmp_path / "elsewhere").mkdir()
    cv2.imwrite(str(tmp_path / "elsewhere" / "im0.png"), np.zeros((48, 64, 3), np.uint8))
    with pytest.raises(DataFormatError, match=r"oi\.csv:3: image .*elsewhere[/\\]im1\.jpg not found"):
        read_open_images_csv(oi, image_dir=tmp_path / "elsewhere")
    # ImageWidth/ImageHeight columns: sizes from the CSV, no image needed
    lines = oi.read_text().splitlines()
    sizes = {"im0": "64,48", "im1": "80,40"}
    (oi.parent / "sized.csv").write_text("\n".join([lines[0] + ",ImageWidth,ImageHeight"]
                                                   + [f"{ln},{sizes[ln.split(',')[0]]}" for ln in lines[1:]]) + "\n")
    got = read_boxes(oi.parent / "sized.csv")
    _same(samples, got, atol=0.01)
    assert not Path(got[0].image).exists()
