import cv2
import numpy as np
import pytest

from gesturekit.errors import DataFormatError
from gesturekit.io import Sample, read_keypoints, read_yolo_pose, write_yolo_pose


def _folder(tmp_path, lines, k=3, size=(40, 20)):
    (tmp_path / "images").mkdir()
    (tmp_path / "labels").mkdir()
    cv2.imwrite(str(tmp_path / "images" / "a.png"), np.zeros((size[1], size[0], 3), np.uint8))
    (tmp_path / "labels" / "a.txt").write_text("\n".join(lines) + "\n")
    return tmp_path


def test_reads_pixels(tmp_path):
    root = _folder(tmp_path, ["0 0.5 0.5 0.5 0.5 0.25 0.5 1 0.5 0.25 1 0.75 0.75 0"])
    (s,) = read_yolo_pose(root, num_points=3)
    assert (s.width, s.height) == (40, 20)
    np.testing.assert_allclose(s.keypoints[0], [[10, 10], [20, 5], [30, 15]])
    assert s.visible.tolist() == [[True, True, False]]
    np.testing.assert_allclose(s.boxes[0], [10, 5, 30, 15])
    assert len(read_keypoints(root)) == 1  # dispatch finds images/ + labels/


def test_round_trip(tmp_path):
    root = _folder(tmp_path, ["0 0.5 0.5 0.5 0.5 0.25 0.5 1 0.5 0.25 1 0.75 0.75 1"])
    kp = np.array([[[4, 6], [12, 3], [30, 17]], [[1, 2], [3, 4], [5, 6]]], np.float32)
    vis = np.array([[True, False, True], [True, True, True]])
    boxes = np.array([[2, 2, 32, 18], [0, 1, 6, 7]], np.float32)
    write_yolo_pose([Sample(root / "images" / "a.png", 40, 20, boxes, kp, vis, ["hand"] * 2)], root)
    (s,) = read_yolo_pose(root, num_points=3)
    np.testing.assert_allclose(s.keypoints, kp, atol=1e-3)
    np.testing.assert_allclose(s.boxes, boxes, atol=1e-3)
    np.testing.assert_array_equal(s.visible, vis)


def test_wrong_value_count_names_file_and_line(tmp_path):
    root = _folder(tmp_path, ["0 0.5 0.5 0.5 0.5 0.25 0.5 1 0.5 0.25 1 0.75 0.75 1",
                              "0 0.5 0.5 0.5 0.5 0.25 0.5 1 0.5 0.25 1 0.75 0.75"])
    with pytest.raises(DataFormatError, match=r"labels/a\.txt:2: 13 values"):
        read_yolo_pose(root, num_points=None)
    with pytest.raises(DataFormatError, match=r"a\.txt:1: 14 values, expected 5 \+ 3×21 = 68"):
        read_yolo_pose(root, num_points=21)


def test_a_folder_keeps_the_point_count_of_its_first_line(tmp_path):
    root = _folder(tmp_path, ["0 0.5 0.5 0.5 0.5 0.25 0.5 1 0.5 0.25 1 0.75 0.75 1",
                              "0 0.5 0.5 0.5 0.5 0.25 0.5 1 0.5 0.25 1"])   # 3 points, then 2
    with pytest.raises(DataFormatError, match=r"a\.txt:2: 11 values, expected 5 \+ 3×3 = 14 \(as the folder's first"):
        read_yolo_pose(root, num_points=None)


def test_nan_names_file_and_line(tmp_path):
    root = _folder(tmp_path, ["0 0.5 0.5 0.5 0.5 0.25 nan 1 0.5 0.25 1 0.75 0.75 1"])
    with pytest.raises(DataFormatError, match=r"a\.txt:1: NaN"):
        read_yolo_pose(root, num_points=3)


def test_missing_images_dir(tmp_path):
    (tmp_path / "labels").mkdir()
    with pytest.raises(DataFormatError, match="not a YOLO-pose folder"):
        read_yolo_pose(tmp_path)


def test_reads_real_hands26k(shared_data):
    root = shared_data / "hands26k" / "val"
    samples = read_yolo_pose(root, limit=5, sizes=(224, 224))
    assert len(samples) == 5
    assert samples[0].keypoints.shape[1:] == (21, 2)
    assert ((samples[0].keypoints >= -20) & (samples[0].keypoints <= 244)).all()


def test_seeded_subset_is_reproducible_and_ordered():
    from gesturekit.io import seeded_subset

    items = list(range(100))
    a, b = seeded_subset(items, 10, 3), seeded_subset(items, 10, 3)
    assert a == b and a == sorted(a) and len(set(a)) == 10
    assert seeded_subset(items, 10, 4) != a
    assert seeded_subset(items, None) == items and seeded_subset(items, 500) == items


def test_pixel_coordinates_in_a_normalised_file_name_file_and_line(tmp_path):
    root = _folder(tmp_path, ["0 0.5 0.5 0.2 0.2 0.1 0.2 1 0.3 0.4 1 0.5 0.6 1",
                              "0 0.5 0.5 0.2 0.2 12 8 1 0.3 0.4 1 0.5 0.6 1"])
    with pytest.raises(DataFormatError, match=r"a\.txt:2: point 0 \(12, 8\) lies far outside 0\.\.1"):
        read_yolo_pose(root, num_points=3)


@pytest.mark.parametrize("pillow", [True, False])
def test_image_size_is_the_upright_size_cv2_reads(tmp_path, monkeypatch, pillow):
    # a phone's portrait photo is stored landscape with an EXIF orientation; cv2.imread (the cache,
    # the tracker) turns it upright, so the labels and the size must be of the upright image
    Image = pytest.importorskip("PIL.Image")
    from gesturekit.io.yolo_pose import image_size

    im = Image.fromarray(np.zeros((20, 40, 3), np.uint8))
    exif = im.getexif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    im.save(tmp_path / "phone.jpg", exif=exif)
    assert cv2.imread(str(tmp_path / "phone.jpg")).shape[:2] == (40, 20)
    if not pillow:
        monkeypatch.setitem(__import__("sys").modules, "PIL", None)
    assert image_size(tmp_path / "phone.jpg") == (20, 40)
