"""Synthetic detector scenes: targets sit on the boxes, flips keep boxes and angles consistent."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

from gesturekit.geometry import hand_angle
from gesturekit.train.detector_data import (
    BOX_MARGIN,
    TILE_NEG_WEIGHT,
    DetectionScenes,
    egohands_split,
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
    tr, va = egohands_split(names)
    assert len(va) == 60 and len(tr) == 300 and not set(tr) & set(va)
    assert egohands_split(list(reversed(names)))[1] == va


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


def _ego_folder(root, n, size=(1280, 720)):
    import cv2

    from gesturekit.io.boxes import EGO_HEADER

    (root / "images").mkdir(parents=True)
    rows = [",".join(EGO_HEADER)]
    for i in range(n):
        cv2.imwrite(str(root / "images" / f"f{i:03d}.jpg"), np.zeros((size[1], size[0], 3), np.uint8))
        rows.append(f"f{i:03d}.jpg,{size[0]},{size[1]},hand,640,360,800,520")
    (root / "boxes.csv").write_text("\n".join(rows) + "\n")
    return root


def test_egohands_frames_of_another_size_keep_their_boxes_on_the_hands(tmp_path):
    from gesturekit.train.detector_data import EGO_SIZE, cache_egohands, read_egohands

    root = _ego_folder(tmp_path / "ego", 2)
    names, boxes = read_egohands(root)
    # a 1280×720 frame is cached at 640×360: its boxes are halved with it
    np.testing.assert_allclose(boxes[names[0]], [[320, 180, 400, 260]])
    c = cache_egohands(root, names, boxes, cache_dir=tmp_path / "cache", threads=1)
    assert c["images"].shape[1:3] == EGO_SIZE
    np.testing.assert_allclose(c["boxes"][1], [[320, 180, 400, 260]])
    boxes[names[1]] = boxes[names[1]] + 10  # edited labels are used, not the cached ones
    c = cache_egohands(root, names, boxes, cache_dir=tmp_path / "cache", threads=1)
    np.testing.assert_allclose(c["boxes"][1], [[330, 190, 410, 270]])


def test_too_few_egohands_frames_to_train_on_is_a_clear_error(tmp_path, monkeypatch):
    from gesturekit.train import detector_data
    from gesturekit.train.detector import train_detector

    monkeypatch.setattr(detector_data, "default_cache_dir", lambda: tmp_path / "cache")
    _, kp = _hand_photo(np.random.default_rng(0))
    hands = _pose_folder(tmp_path / "hands", [_pose_line(kp, np.ones(21, bool))])
    with pytest.raises(ValueError, match=r"has 8 frames; 8 are held out for validation"):
        train_detector(hands, _ego_folder(tmp_path / "ego", 8, (64, 36)))
