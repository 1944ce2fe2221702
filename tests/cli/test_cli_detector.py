"""``eval detector`` / ``train detector --data`` on multi-class box files: the hand class, or ``--label``."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from gesturekit.cli import main
from gesturekit.io.boxes import write_coco_boxes, write_yolo_boxes
from gesturekit.io.sample import Sample


@pytest.fixture
def two_classes(tmp_path: Path) -> list[Sample]:
    """Two images: im0 with a ``person`` box, im1 with two ``hand`` boxes and a ``person`` one."""
    (tmp_path / "images").mkdir()
    out = []
    for i, labels in enumerate([["person"], ["hand", "hand", "person"]]):
        p = tmp_path / "images" / f"im{i}.jpg"
        cv2.imwrite(str(p), np.zeros((48, 64, 3), np.uint8))
        boxes = np.array([[2, 3, 20, 30], [30, 5, 60, 35], [1, 1, 9, 9]][: len(labels)], np.float32)
        out.append(Sample(p, 64, 48, boxes, labels=labels))
    return out


def _eval(data: Path, capsys, *extra: str):
    rc = main(["eval", "detector", "--data", str(data), "--json", "--threads", "1", *extra])
    out, err = capsys.readouterr()
    return rc, (json.loads(out) if rc == 0 else err)


def test_eval_detector_scores_the_hand_class_of_a_coco_file(two_classes, tmp_path, capsys):
    write_coco_boxes(two_classes, tmp_path / "ann.json")
    rc, res = _eval(tmp_path / "ann.json", capsys)
    assert rc == 0 and (res["images"], res["boxes"]) == (2, 2)  # the person boxes are no hands
    rc, res = _eval(tmp_path / "ann.json", capsys, "--label", "Person")
    assert rc == 0 and res["boxes"] == 2


def test_eval_detector_yolo_class_ids_need_label(two_classes, tmp_path, capsys):
    ids = [Sample(s.image, s.width, s.height, s.boxes, labels=["1" if lab == "hand" else "0" for lab in s.labels])
           for s in two_classes]
    write_yolo_boxes(ids, tmp_path)
    rc, err = _eval(tmp_path, capsys)
    assert rc == 2 and "boxes of 2 classes ('0', '1') and none is a hand" in err and "--label" in err
    rc, res = _eval(tmp_path, capsys, "--label", "1")
    assert rc == 0 and res["boxes"] == 2
    rc, err = _eval(tmp_path, capsys, "--label", "hand")
    assert rc == 2 and "no class 'hand'; classes found: '0', '1'" in err


def test_train_detector_label_picks_the_frames_boxes(two_classes, tmp_path, monkeypatch, capsys):
    from gesturekit.train import detector
    from gesturekit.train.detector_data import read_frames

    seen = {}

    def fake_train(hands, data, *args, label=None):  # what train_detector reads of --data
        seen["boxes"] = [set(s.labels) for s in read_frames(data, label)]
        return tmp_path / "best.pt"

    monkeypatch.setattr(detector, "train_detector", fake_train)
    write_coco_boxes(two_classes, tmp_path / "ann.json")
    assert main(["train", "detector", "--data", str(tmp_path / "ann.json")]) == 0
    assert seen["boxes"] == [set(), {"hand"}]
    assert main(["train", "detector", "--data", str(tmp_path / "ann.json"), "--label", "person"]) == 0
    assert seen["boxes"] == [{"person"}, {"person"}]
    write_coco_boxes([Sample(s.image, s.width, s.height, s.boxes, labels=["cat" if lab == "hand" else lab
                                                                           for lab in s.labels])
                      for s in two_classes], tmp_path / "no-hand.json")
    capsys.readouterr()
    assert main(["train", "detector", "--data", str(tmp_path / "no-hand.json")]) == 2
    assert "no-hand.json: boxes of 2 classes ('cat', 'person') and none is a hand" in capsys.readouterr().err
