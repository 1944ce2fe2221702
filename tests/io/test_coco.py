import json

import cv2
import numpy as np
import pytest

from gesturekit.errors import DataFormatError
from gesturekit.io import Sample, coco_layout, read_coco, read_keypoints, write_coco
from gesturekit.layouts import HAND_12, HAND_21


def _samples(tmp_path, k=21, n_images=3, seed=0):
    rng = np.random.default_rng(seed)
    (tmp_path / "images").mkdir(exist_ok=True)
    out = []
    for i in range(n_images):
        w, h = 64 + 8 * i, 48
        img = tmp_path / "images" / f"im{i}.png"
        cv2.imwrite(str(img), np.zeros((h, w, 3), np.uint8))
        n = 1 + i % 2  # one or two hands
        kp = rng.uniform(2, 40, (n, k, 2)).round(2).astype(np.float32)
        vis = rng.random((n, k)) > 0.2
        vis[:, 0] = True
        boxes = np.concatenate([kp.min(1) - 1, kp.max(1) + 1], 1).astype(np.float32)
        out.append(Sample(img, w, h, boxes, kp, vis, ["hand"] * n))
    return out


def test_round_trip(tmp_path):
    samples = _samples(tmp_path)
    write_coco(samples, tmp_path / "ann.json", HAND_21)
    back = read_coco(tmp_path / "ann.json")
    assert len(back) == len(samples)
    for a, b in zip(samples, back):
        assert b.image.resolve() == a.image.resolve()
        assert (b.width, b.height) == (a.width, a.height)
        np.testing.assert_array_equal(b.visible, a.visible)
        np.testing.assert_allclose(b.keypoints[a.visible], a.keypoints[a.visible], atol=1e-3)
        for kp, v in zip(b.keypoints, b.visible):  # unlabelled points sit on the hand's centroid
            np.testing.assert_allclose(kp[~v], np.broadcast_to(kp[v].mean(0), kp[~v].shape), atol=1e-3)
        np.testing.assert_allclose(b.boxes, a.boxes, atol=1e-3)
        assert b.labels == ["hand"] * len(a.keypoints)
    d = json.loads((tmp_path / "ann.json").read_text())
    assert d["categories"][0]["keypoints"] == list(HAND_21.names)
    assert d["categories"][0]["skeleton"][0] == [1, 2]  # 1-based like COCO
    assert d["annotations"][0]["num_keypoints"] == int(samples[0].visible[0].sum())
    # read_keypoints finds it as a file and as the one COCO json in a folder
    assert len(read_keypoints(tmp_path / "ann.json")) == 3
    assert len(read_keypoints(tmp_path)) == 3


def test_layout_from_category(tmp_path):
    samples = _samples(tmp_path, k=12, n_images=1)
    write_coco(samples, tmp_path / "ann.json", HAND_12)
    lay = coco_layout(tmp_path / "ann.json")
    assert lay.names == HAND_12.names and lay.edges == HAND_12.edges


def _coco(tmp_path, kps, bbox=(1, 1, 10, 10), ann_id=7):
    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((20, 20, 3), np.uint8))
    d = {"images": [{"id": 1, "file_name": "a.png", "width": 20, "height": 20}],
         "annotations": [{"id": ann_id, "image_id": 1, "category_id": 3, "keypoints": kps, "bbox": list(bbox),
                          "num_keypoints": 2}],
         "categories": [{"id": 3, "name": "hand", "keypoints": ["a", "b"], "skeleton": [[1, 2]]}]}
    p = tmp_path / "c.json"
    p.write_text(json.dumps(d))
    return p


def test_reads_images_beside_json_and_derives_missing_box(tmp_path):
    p = _coco(tmp_path, [2, 3, 2, 8, 9, 1], bbox=(0, 0, 0, 0))
    (s,) = read_coco(p)
    assert s.image == tmp_path / "a.png"
    np.testing.assert_allclose(s.boxes[0], [2, 3, 8, 9])


def test_unlabelled_points_stay_on_the_hand(tmp_path):
    p = _coco(tmp_path, [12, 14, 2, 0, 0, 0])
    (s,) = read_coco(p)
    assert s.visible.tolist() == [[True, False]]
    np.testing.assert_allclose(s.keypoints[0], [[12, 14], [12, 14]])


def test_wrong_keypoint_count_names_file_and_annotation(tmp_path):
    p = _coco(tmp_path, [2, 3, 2, 8, 9], ann_id=42)
    with pytest.raises(DataFormatError, match=r"c\.json: annotation 42: 5 keypoint values, expected 3×2 = 6"):
        read_coco(p)


def test_nan_keypoint_names_annotation(tmp_path):
    p = _coco(tmp_path, [2, 3, 2, 8, 9, 1], ann_id=5)
    p.write_text(p.read_text().replace("[2, 3, 2, 8, 9, 1]", "[2, NaN, 2, 8, 9, 1]"))
    with pytest.raises(DataFormatError, match=r"annotation 5: NaN"):
        read_coco(p)


def test_missing_images_dir(tmp_path):
    p = _coco(tmp_path, [2, 3, 2, 8, 9, 1])
    with pytest.raises(DataFormatError, match="does not exist"):
        read_coco(p, images_dir=tmp_path / "nope")
    (tmp_path / "a.png").unlink()
    with pytest.raises(DataFormatError, match=r"1 image file\(s\) missing"):
        read_coco(p)


def test_not_coco(tmp_path):
    p = tmp_path / "x.json"
    p.write_text('{"images": [], "annotations": [], "categories": [{"id": 1, "name": "car"}]}')
    with pytest.raises(DataFormatError, match="no category with a 'keypoints' list"):
        read_coco(p)
    p.write_text("{broken")
    with pytest.raises(DataFormatError, match=r"x\.json: cannot read COCO JSON"):
        read_coco(p)


def test_a_point_far_outside_the_image_names_the_annotation(tmp_path):
    p = _coco(tmp_path, [2, 3, 2, 80, 9, 2], ann_id=9)
    with pytest.raises(DataFormatError, match=r"annotation 9: point 1 \(80, 9\) lies far outside the 20×20"):
        read_coco(p)


def test_point_names_are_kept_and_normalised_points_are_an_error(tmp_path):
    samples = _samples(tmp_path, k=12)
    write_coco(samples, tmp_path / "ann.json", HAND_12)
    assert all(s.point_names == HAND_12.names for s in read_coco(tmp_path / "ann.json"))
    for s in samples:
        s.keypoints /= 64.0  # 0..1, as a YOLO-style exporter writes them
    write_coco(samples, tmp_path / "ann.json", HAND_12)
    with pytest.raises(DataFormatError, match=r"ann\.json: every point lies within 0\.\.1"):
        read_coco(tmp_path / "ann.json")
