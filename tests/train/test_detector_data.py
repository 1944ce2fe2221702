"""Synthetic detector scenes: targets sit on the boxes, flips keep boxes and angles consistent."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

from gesturekit.geometry import hand_angle
from gesturekit.train.detector_data import (
    BOX_MARGIN,
    TILE_NEG_WEIGHT,
    DetectionScenes,
    frame_split,
    keypoint_box,
    make_targets,
)


def _hand_photo(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A 224×224 photo with a bright 'hand' blob and 21 points on it (wrist low, fingers up)."""
    img = rng.integers(0, 60, (224, 224, 3)).astype(np.uint8)
    img[60:170, 80:150] = 220
    kp = np.stack([np.full(21, 115.0), np.linspace(165, 65, 21)], 1).astype(np.float32)
    kp[:, 0] += np.linspace(-30, 30, 21)
    return img, kp


@pytest.fixture
def scenes() -> DetectionScenes:
    rng = np.random.default_rng(0)
    imgs, kps = zip(*[_hand_photo(rng) for _ in range(6)])
    hands = {"images": np.stack(imgs), "keypoints": np.stack(kps)}
    ego = {"images": rng.integers(0, 255, (2, 360, 640, 3)).astype(np.uint8),
           "boxes": [np.array([[100, 100, 200, 220]], np.float32), np.zeros((0, 4), np.float32)]}
    return DetectionScenes(hands, ego, length=32, canvas=(160, 192), seed=0)


def test_keypoint_box_margin():
    kp = np.array([[10, 20], [50, 100]] + [[30, 60]] * 19, np.float32)
    np.testing.assert_allclose(keypoint_box(kp), [10 - 8, 20 - 8, 50 + 8, 100 + 8])
    assert BOX_MARGIN == pytest.approx(0.1)


def test_targets_peak_at_box_centre():
    w = np.ones((40, 48), np.float32)
    heat, weight, ind, size, off, ang, mask, amask = make_targets(
        np.array([[40, 20, 80, 60]], np.float32), np.array([0.5]), np.array([True]), w)
    assert heat.shape == (1, 40, 48) and heat.max() == 1.0
    iy, ix = np.unravel_index(heat[0].argmax(), heat[0].shape)
    assert (iy, ix) == (10, 15) and ind[0] == 10 * 48 + 15
    np.testing.assert_allclose(np.exp(size[0]) * 4, [40, 40], rtol=1e-5)
    np.testing.assert_allclose(ang[0], [np.sin(0.5), np.cos(0.5)], rtol=1e-6)
    assert mask.sum() == 1 and amask.sum() == 1


def test_scenes_deterministic_and_consistent(scenes):
    a, b = scenes[3], scenes[3]
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    scenes.epoch = 1
    assert not np.array_equal(scenes[3][0], a[0])  # a new draw each epoch
    n_hands = 0
    for i in range(16):
        img, boxes, angles, has, weight = scenes.scene(np.random.default_rng(i))
        assert img.shape == (160, 192, 3) and img.dtype == np.uint8
        assert weight.shape == (40, 48) and weight.min() >= 0 and weight.max() <= 1
        assert ((boxes[:, 2] >= boxes[:, 0]) & (boxes[:, 3] >= boxes[:, 1])).all()
        assert (boxes >= 0).all() and (boxes[:, [0, 2]] <= 192).all() and (boxes[:, [1, 3]] <= 160).all()
        for box, a_, h in zip(boxes, angles, has):
            if not h:
                continue
            n_hands += 1
            # the synthetic hand points up: its angle survives only a mirror (sign change)
            assert abs(abs(a_) - abs(hand_angle(scenes.hands["keypoints"][0]))) < 1e-5
            # the labelled hand is bright in the scene (the pasted blob sits inside its box)
            x1, y1, x2, y2 = box.astype(int)
            if x2 - x1 > 6 and y2 - y1 > 6:
                assert img[y1:y2, x1:x2].mean() > img.mean() * 0.8
    assert n_hands > 10
    # tiles down-weight negatives somewhere, never below TILE_NEG_WEIGHT except ignored regions
    ws = np.concatenate([scenes.scene(np.random.default_rng(i))[4].ravel() for i in range(8)])
    assert (ws == TILE_NEG_WEIGHT).any()


def test_egohands_split_fixed():
    names = [f"f{i:03d}.jpg" for i in range(360)]
    tr, va = frame_split(names)
    assert len(va) == 60 and len(tr) == 300 and not set(tr) & set(va)
    assert frame_split(list(reversed(names)))[1] == va


def test_hand_photos_are_drawn_from_the_hard_ones_at_their_share(scenes):
    hands, ego = scenes.hands, scenes.ego
    picks = lambda s: [s._pick(np.random.default_rng(i)) for i in range(400)]  # noqa: E731
    assert picks(DetectionScenes(hands, ego, 8, hard=np.array([4]), hard_share=1.0)) == [4] * 400
    share = np.mean(np.array(picks(DetectionScenes(hands, ego, 8, hard=np.array([4]), hard_share=0.5))) == 4)
    assert 0.5 < share < 0.65                          # half drawn from hard, plus 1/6 of the rest
    assert len(set(picks(DetectionScenes(hands, ego, 8, hard=np.array([], np.int64), hard_share=0.5)))) == 6


def test_missed_photos_are_those_without_a_box_on_the_label(monkeypatch):
    from gesturekit.detector import Detections
    from gesturekit.train import detector as trd

    rng = np.random.default_rng(0)
    imgs, kps = zip(*[_hand_photo(rng) for _ in range(3)])
    hands = {"images": np.stack(imgs), "keypoints": np.stack(kps)}
    label = keypoint_box(kps[0])
    boxes = [label, label + [60, 0, 60, 0], label * [1, 1, 1.02, 1.02]]  # found, beside the hand, found

    def fake_predict(model, frames, *a, **k):
        return [Detections(b[None].astype(np.float32), np.array([0.9], np.float32), np.zeros(1, np.float32))
                for b in boxes[:len(frames)]]

    monkeypatch.setattr(trd, "predict_frames", fake_predict)
    assert trd.missed_photos(None, hands).tolist() == [1]


@pytest.mark.parametrize("kw,match", [({"hard_share": 0.3}, "needs init"),
                                      ({"hard_share": 1.5, "init": "x.pt"}, "hard_share")])
def test_train_detector_checks_hard_share_first(kw, match):
    from gesturekit.train.detector import train_detector

    with pytest.raises(ValueError, match=match):
        train_detector("nowhere", **kw)


# --- caches and folders of one's own ----------------------------------------------------------

def _pose_folder(root, lines_per_image):
    import cv2

    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    for i, line in enumerate(lines_per_image):
        cv2.imwrite(str(root / "images" / f"h{i}.png"), np.full((224, 224, 3), 90, np.uint8))
        (root / "labels" / f"h{i}.txt").write_text(line + "\n")
    return root


def _pose_line(kp, vis):
    pts = " ".join(f"{x / 224:.5f} {y / 224:.5f} {int(v)}" for (x, y), v in zip(kp, vis))
    return f"0 0.5 0.5 0.5 0.5 {pts}"


def test_hands_cache_keeps_unlabelled_points_on_the_hand_and_reads_labels_afresh(tmp_path):
    from gesturekit.train.detector_data import cache_hands26k

    _, kp = _hand_photo(np.random.default_rng(0))
    vis = np.ones(21, bool)
    vis[20] = False
    stored = kp.copy()
    stored[20] = 0.0  # how hands26k stores an unlabelled point
    root = _pose_folder(tmp_path / "hands", [_pose_line(stored, vis), _pose_line(kp, np.ones(21, bool))])
    c = cache_hands26k(root, cache_dir=tmp_path / "cache", threads=1)
    # the detector's box of that hand is the box of its labelled points, not one reaching to (0, 0)
    np.testing.assert_allclose(keypoint_box(c["keypoints"][0]), keypoint_box(kp[:20]), atol=0.01)
    moved = kp + [20, 0]
    (root / "labels" / "h1.txt").write_text(_pose_line(moved, np.ones(21, bool)) + "\n")
    np.testing.assert_allclose(cache_hands26k(root, cache_dir=tmp_path / "cache", threads=1)["keypoints"][1],
                               moved, atol=0.01)



def test_hands_cache_is_keyed_by_the_images_not_their_count(tmp_path):
    import cv2

    from gesturekit.train.detector_data import cache_hands26k

    _, kp = _hand_photo(np.random.default_rng(0))
    line = _pose_line(kp, np.ones(21, bool))
    root = _pose_folder(tmp_path / "hands", [line, line])
    cv2.imwrite(str(root / "images" / "h2.png"), np.full((224, 224, 3), 200, np.uint8))
    assert cache_hands26k(root, cache_dir=tmp_path / "cache", threads=1)["images"][1].mean() == 90
    (root / "labels" / "h1.txt").unlink()            # the same count of labelled photos, another one
    (root / "labels" / "h2.txt").write_text(line + "\n")
    c = cache_hands26k(root, cache_dir=tmp_path / "cache", threads=1)
    assert [Path(p).name for p in c["source"]] == ["h0.png", "h2.png"] and c["images"][1].mean() == 200


def _ego_folder(root, n, size=(1280, 720)):
    import cv2

    from gesturekit.io.boxes import EGO_HEADER

    (root / "images").mkdir(parents=True)
    rows = [",".join(EGO_HEADER)]
    for i in range(n):
        cv2.imwrite(str(root / "images" / f"f{i:03d}.jpg"), np.zeros((size[1], size[0], 3), np.uint8))
        w, h = size   # one square box from the middle, an eighth of the frame wide
        rows.append(f"f{i:03d}.jpg,{w},{h},hand,{w // 2},{h // 2},{w // 2 + w // 8},{h // 2 + w // 8}")
    (root / "boxes.csv").write_text("\n".join(rows) + "\n")
    return root


def test_egohands_frames_of_another_size_keep_their_boxes_on_the_hands(tmp_path):
    from gesturekit.train.detector_data import EGO_SIZE, cache_frames, read_frames

    root = _ego_folder(tmp_path / "ego", 2)
    frames = read_frames(root)
    # a 1280×720 frame is cached at 640×360: its boxes are halved with it
    np.testing.assert_allclose(frames[0].boxes, [[320, 180, 400, 260]])
    c = cache_frames(frames, cache_dir=tmp_path / "cache", threads=1)
    assert c["images"].shape[1:3] == EGO_SIZE
    np.testing.assert_allclose(c["boxes"][1], [[320, 180, 400, 260]])
    frames[1].boxes = frames[1].boxes + 10  # edited labels are used, not the cached ones
    c = cache_frames(frames, cache_dir=tmp_path / "cache", threads=1)
    np.testing.assert_allclose(c["boxes"][1], [[330, 190, 410, 270]])


def _boxed_frame(path, size, boxes):
    """A dark w×h frame with a bright rectangle on each box (pixels)."""
    import cv2

    img = np.full((size[1], size[0], 3), 20, np.uint8)
    for x1, y1, x2, y2 in np.round(boxes).astype(int):
        img[y1:y2, x1:x2] = 235
    cv2.imwrite(str(path), img)


def test_frames_of_several_sizes_and_shapes_keep_their_boxes_on_the_hands(tmp_path):
    from gesturekit.io.boxes import write_coco_boxes
    from gesturekit.io.sample import Sample
    from gesturekit.train.detector_data import EGO_SIZE, cache_frames, read_frames

    (tmp_path / "images").mkdir()
    sizes = {"wide.png": (1280, 720), "four3.png": (480, 360), "tall.png": (360, 640), "small.png": (200, 90)}
    samples, shape = [], {}
    for name, (w, h) in sizes.items():
        b = np.array([[0.1 * w, 0.2 * h, 0.4 * w, 0.5 * h], [0.6 * w, 0.55 * h, 0.9 * w, 0.95 * h]], np.float32)
        _boxed_frame(tmp_path / "images" / name, (w, h), b)
        samples.append(Sample(tmp_path / "images" / name, w, h, b))
        shape[name] = (b[:, 2] - b[:, 0]) / (b[:, 3] - b[:, 1])
    write_coco_boxes(samples, tmp_path / "ann.json")
    frames = read_frames(tmp_path / "ann.json")
    assert [f.image.name for f in frames] == sorted(sizes)  # each Sample's own image, by name
    c = cache_frames(frames, cache_dir=tmp_path / "cache", threads=1)
    assert c["images"].shape[1:3] == EGO_SIZE
    for img, boxes, f in zip(c["images"], c["boxes"], frames):
        bright = img[..., 0] > 128
        for x1, y1, x2, y2 in boxes:  # the bright rectangles sit exactly on the boxes
            inner = bright[int(np.ceil(y1)) + 1:int(y2) - 1, int(np.ceil(x1)) + 1:int(x2) - 1]
            assert inner.size and inner.all(), f.image.name
        inside = np.zeros_like(bright)
        for x1, y1, x2, y2 in boxes:
            inside[max(0, int(y1) - 1):int(np.ceil(y2)) + 1, max(0, int(x1) - 1):int(np.ceil(x2)) + 1] = True
        assert not (bright & ~inside).any(), f.image.name
        # letterboxed, not stretched: a box keeps its shape (w/h as in the frame)
        np.testing.assert_allclose((boxes[:, 2] - boxes[:, 0]) / (boxes[:, 3] - boxes[:, 1]), shape[f.image.name],
                                   rtol=0.02)
    assert (c["images"][0][:, :50] == 114).all()  # four3.png: the letterbox grey beside it


def test_a_frame_whose_labels_give_another_size_is_refused(tmp_path):
    from gesturekit.errors import DataFormatError
    from gesturekit.io.boxes import write_coco_boxes
    from gesturekit.io.sample import Sample
    from gesturekit.train.detector_data import cache_frames, read_frames

    _boxed_frame(tmp_path / "a.png", (320, 240), np.zeros((0, 4)))
    write_coco_boxes([Sample(tmp_path / "a.png", 640, 360, np.array([[10, 10, 50, 50]], np.float32))],
                     tmp_path / "ann.json")
    with pytest.raises(DataFormatError, match=r"a\.png: image is 320×240 but its labels say 640×360"):
        cache_frames(read_frames(tmp_path / "ann.json"), cache_dir=tmp_path / "cache", threads=1)


@pytest.mark.parametrize("n,n_val", [(3, 1), (8, 1), (10, 2), (100, 20), (299, 59), (360, 60), (1000, 60)])
def test_frame_split_holds_out_a_fifth_at_most_60(n, n_val):
    names = [f"x{i:04d}.png" for i in range(n)]
    tr, va = frame_split(names)
    assert len(va) == n_val and len(tr) == n - n_val and not set(tr) & set(va)
    assert frame_split(list(reversed(names))) == (tr, va)


def test_frame_split_is_egohands_split_on_360_frames():
    names = [f"f{i:03d}.jpg" for i in range(360)]
    # the 60 frames held out before box formats other than EgoHands were read (seed 0)
    order = np.random.default_rng(0).permutation(360)
    assert frame_split(names)[1] == sorted(names[i] for i in order[:60])


def test_scenes_from_frames_alone_keep_the_frames_boxes():
    frame = np.full((360, 640, 3), 20, np.uint8)
    frame[100:220, 100:200] = 235
    ego = {"images": frame[None], "boxes": [np.array([[100, 100, 200, 220]], np.float32)]}
    scenes = DetectionScenes(None, ego, length=8, canvas=(160, 192), seed=0)
    n_boxes = 0
    for i in range(24):
        img, boxes, angles, has, weight = scenes.scene(np.random.default_rng(i))
        assert img.shape == (160, 192, 3) and not has.any()  # no pasted hand photo: no angle
        assert len(boxes) <= 1
        for x1, y1, x2, y2 in boxes.astype(int):
            n_boxes += 1
            assert img[y1 + 2:y2 - 2, x1 + 2:x2 - 2].mean() > 1.5 * img.mean()
    assert n_boxes > 8
    x, *targets = scenes[0]
    assert x.shape == (3, 160, 192)
    with pytest.raises(ValueError, match="needs hand photos, box-labelled frames, or both"):
        DetectionScenes(None, None, length=8)


# --- train detector --data: one's own boxes in any format, through the command line ----------

def _tiny_train_args(out, *extra):
    return ["train", "detector", *extra, "--out", str(out), "--epochs", "1", "--scenes", "4", "--batch-size", "2",
            "--canvas", "64", "64", "--input-size", "64", "64", "--width", "8", "--lr", "1e-3",
            "--threads", "1", "--workers", "0"]


def _box_set(shared_data, root, fmt, n=6):
    """``n`` real EgoHands frames copied under ``root/images`` (one of them at half size, so a set of
    two sizes), labelled as a COCO .json or an Open Images .csv; returns the label file."""
    import cv2

    from gesturekit.io.boxes import read_boxes, write_coco_boxes, write_open_images_csv
    from gesturekit.io.sample import Sample

    (root / "images").mkdir(parents=True)
    samples = []
    for i, s in enumerate(read_boxes(shared_data / "egohands")[:n]):
        img, boxes = cv2.imread(str(s.image)), s.boxes
        if i == 0:
            img, boxes = cv2.resize(img, (img.shape[1] // 2, img.shape[0] // 2)), boxes / 2
        cv2.imwrite(str(root / "images" / Path(s.image).name), img)
        samples.append(Sample(root / "images" / Path(s.image).name, img.shape[1], img.shape[0], boxes))
    if fmt == "coco":
        write_coco_boxes(samples, root / "instances.json")
        return root / "instances.json"
    write_open_images_csv(samples, root / "boxes-oi.csv")
    return root / "boxes-oi.csv"


def _hands_folder(shared_data, root, n=3):
    """``n`` real hands26k val photos with their YOLO-pose labels."""
    import shutil

    src = shared_data / "hands26k" / "val"
    for sub in ("images", "labels"):
        (root / sub).mkdir(parents=True)
    for img in sorted((src / "images").iterdir())[:n]:
        shutil.copy(img, root / "images" / img.name)
        shutil.copy(src / "labels" / f"{img.stem}.txt", root / "labels" / f"{img.stem}.txt")
    return root


@pytest.mark.parametrize("fmt,with_hands", [("coco", False), ("open_images", True)])
def test_train_detector_on_a_box_set_of_ones_own(shared_data, tmp_path, monkeypatch, capsys, fmt, with_hands):
    import json

    from gesturekit.cli import main
    from gesturekit.train import detector_data

    monkeypatch.setattr(detector_data, "default_cache_dir", lambda: tmp_path / "cache")
    labels = _box_set(shared_data, tmp_path / fmt, fmt)
    hands = ["--hands", str(_hands_folder(shared_data, tmp_path / "hands"))] if with_hands else []
    out = tmp_path / "runs" / fmt
    assert main(_tiny_train_args(out, "--data", str(labels), *hands)) == 0
    assert (out / "last.pt").is_file() and (out / "best.pt").is_file()
    row = json.loads((out / "history.json").read_text())[0]
    # the held-out frame (1 of 6) is scored each epoch, and picks the best checkpoint
    assert np.isfinite(row["ap50"]) and "found@0.5" not in row and row["score"] == row["ap50"]
    # eval detector --split val scores the same held-out frame
    capsys.readouterr()
    assert main(["eval", "detector", "--data", str(labels), "--split", "val", "--json", "--threads", "1"]) == 0
    assert json.loads(capsys.readouterr().out)["images"] == 1


def test_train_detector_egohands_is_another_spelling_of_data():
    from gesturekit.cli import build_parser

    a = build_parser().parse_args(["train", "detector", "--egohands", "ego"])
    b = build_parser().parse_args(["train", "detector", "--data", "ego"])
    assert a.data == b.data == "ego" and a.hands is None


def test_train_detector_with_nothing_to_train_on_says_so(tmp_path, capsys):
    from gesturekit.cli import main

    assert main(_tiny_train_args(tmp_path / "run")) == 2
    assert "nothing to train on; give --hands" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_too_few_frames_to_train_on_is_a_clear_error(tmp_path, monkeypatch, capsys):
    from gesturekit.cli import main
    from gesturekit.train import detector_data

    monkeypatch.setattr(detector_data, "default_cache_dir", lambda: tmp_path / "cache")
    ego = _ego_folder(tmp_path / "ego", 2, (64, 36))
    assert main(_tiny_train_args(tmp_path / "run", "--data", str(ego))) == 2
    assert "has 2 frames; 1 held out for validation leave 1 to train on, and at least 2" in capsys.readouterr().err
    ego = _ego_folder(tmp_path / "ego3", 3, (64, 36))
    frames = detector_data.read_frames(ego)
    tr, va = detector_data.split_frames(frames)
    assert (len(tr), len(va)) == (2, 1)
