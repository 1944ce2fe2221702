import json

import cv2
import numpy as np
import pytest

from gesturekit.errors import DataFormatError
from gesturekit.io import Sample, read_keypoints, read_points, write_points_csv


@pytest.fixture
def photos(tmp_path):
    for name, (w, h) in {"a.jpg": (40, 30), "b.png": (50, 60)}.items():
        cv2.imwrite(str(tmp_path / name), np.zeros((h, w, 3), np.uint8))
    return tmp_path


def test_csv_without_header_groups_rows_per_image(photos):
    (photos / "pts.csv").write_text("a.jpg,1,2,3,4,5,6\nb.png,7,8,9,10,11,12\nb.png,1,1,2,2,3,3\n")
    a, b = read_points(photos / "pts.csv")
    assert (a.width, a.height, b.width, b.height) == (40, 30, 50, 60)
    assert a.keypoints.shape == (1, 3, 2) and b.keypoints.shape == (2, 3, 2)
    np.testing.assert_allclose(a.keypoints[0], [[1, 2], [3, 4], [5, 6]])
    np.testing.assert_allclose(a.boxes[0], [1, 2, 5, 6])
    assert a.visible.all() and a.keypoints.dtype == np.float32


def test_csv_header_ignores_other_columns_and_empty_cells_are_unlabelled(photos):
    (photos / "pts.csv").write_text("image,width,height,side,x0,y0,x1,y1\n"
                                    "a.jpg,40,30,left,1.5,2.5,,\n")
    (s,) = read_points(photos)  # a folder with exactly one points file
    np.testing.assert_allclose(s.keypoints[0], [[1.5, 2.5], [1.5, 2.5]])  # unlabelled → on the hand
    assert s.visible.tolist() == [[True, False]]


def test_csv_round_trip(photos):
    kp = np.array([[[1, 2], [3, 4]], [[5, 6], [7, 8]]], np.float32)
    vis = np.array([[True, True], [True, False]])
    samples = [Sample(photos / "a.jpg", 40, 30, np.zeros((2, 4), np.float32), kp, vis, ["hand", "hand"])]
    write_points_csv(samples, photos / "out.csv")
    (s,) = read_points(photos / "out.csv")
    np.testing.assert_allclose(s.keypoints[vis], kp[vis])
    np.testing.assert_array_equal(s.visible, vis)
    assert s.image.resolve() == (photos / "a.jpg").resolve()


def test_csv_wrong_count_names_file_line_and_expected(photos):
    (photos / "pts.csv").write_text("a.jpg,1,2,3,4\nb.png,1,2,3\n")
    with pytest.raises(DataFormatError, match=r"pts\.csv:2: 4 values, expected 5 \(image \+ 2×2"):
        read_points(photos / "pts.csv")


def test_csv_nan_and_text_and_missing_image(photos):
    (photos / "pts.csv").write_text("a.jpg,1,2,nan,4\n")
    with pytest.raises(DataFormatError, match=r"pts\.csv:1: point 1 is NaN"):
        read_points(photos / "pts.csv")
    (photos / "pts.csv").write_text("a.jpg,1,2,3,4\na.jpg,1,oops,3,4\n")
    with pytest.raises(DataFormatError, match=r"pts\.csv:2: point 0 .* not two numbers"):
        read_points(photos / "pts.csv")
    (photos / "pts.csv").write_text("a.jpg,1,2,3,4\nmissing.jpg,1,2,3,4\n")
    with pytest.raises(DataFormatError, match=r"pts\.csv:2: image 'missing\.jpg' not found"):
        read_points(photos / "pts.csv")


def test_json_one_hand_and_several_hands(photos):
    (photos / "pts.json").write_text(json.dumps({
        "a.jpg": [[1, 2], [3, 4], None],
        "b.png": [[[1, 1], [2, 2], [3, 3]], [[4, 4], [5, 5], [6, 6]]],
    }))
    a, b = read_keypoints(photos / "pts.json")
    assert a.keypoints.shape == (1, 3, 2) and a.visible.tolist() == [[True, True, False]]
    assert b.keypoints.shape == (2, 3, 2)
    np.testing.assert_allclose(b.keypoints[1, 2], [6, 6])
    # an unlabelled first point written [null, null] is one hand's point, not a second hand
    (photos / "pts.json").write_text(json.dumps({"a.jpg": [[None, None], [3, 4], [5, 6]]}))
    (a,) = read_keypoints(photos / "pts.json")
    assert a.keypoints.shape == (1, 3, 2) and a.visible.tolist() == [[False, True, True]]


def test_json_errors(photos):
    p = photos / "pts.json"
    p.write_text(json.dumps({"a.jpg": [[1, 2], [3, 4]], "b.png": [[1, 2]]}))
    with pytest.raises(DataFormatError, match=r"image 'b\.png': 1 points, expected 2"):
        read_points(p)
    p.write_text(json.dumps({"a.jpg": [[1, 2], [3, "x"]]}))
    with pytest.raises(DataFormatError, match=r"image 'a\.jpg' point 1"):
        read_points(p)


def test_folder_with_two_points_files_is_ambiguous(photos):
    (photos / "one.csv").write_text("a.jpg,1,2\n")
    (photos / "two.csv").write_text("b.png,1,2\n")
    with pytest.raises(DataFormatError, match="exactly one points CSV or JSON, found one.csv, two.csv"):
        read_points(photos)
    with pytest.raises(DataFormatError, match="found one.csv .* two.csv"):
        read_keypoints(photos)


def test_layout_json_beside_points_is_not_mistaken(photos):
    (photos / "pts.csv").write_text("a.jpg,1,2,3,4\n")
    (photos / "my_layout.json").write_text(json.dumps({"names": ["a", "b"], "edges": [[0, 1]]}))
    assert len(read_keypoints(photos)) == 1


def test_unknown_input_lists_what_was_looked_for(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(DataFormatError, match="YOLO-pose folder .* COCO keypoint .* points"):
        read_keypoints(tmp_path)
    with pytest.raises(DataFormatError, match="not a keypoint file"):
        read_keypoints(tmp_path / "notes.txt")
    with pytest.raises(DataFormatError, match="no such file"):
        read_keypoints(tmp_path / "absent")


def test_reads_real_mediapipe_csv(shared_data):
    samples = read_keypoints(shared_data / "sign-digits")
    assert len(samples) > 1000
    s = samples[0]
    assert s.keypoints.shape == (1, 21, 2) and (s.width, s.height) == (100, 100)


def test_a_point_far_outside_the_image_names_file_line_and_point(photos):
    # a little outside is fine (MediaPipe's points are); a whole image side beyond is a typo or
    # coordinates of another image size, which would silently teach a giant hand
    (photos / "pts.csv").write_text("a.jpg,-5,2,45,34\n")
    assert len(read_points(photos / "pts.csv")) == 1
    (photos / "pts.csv").write_text("a.jpg,1,2,3,4\na.jpg,1,2,3000,4\n")
    with pytest.raises(DataFormatError, match=r"pts\.csv:2: point 1 \(3000, 4\) lies far outside the 40×30 image"):
        read_points(photos / "pts.csv")
    (photos / "pts.json").write_text(json.dumps({"b.png": [[1, 2], [3, -200]]}))
    with pytest.raises(DataFormatError, match=r"image 'b\.png': point 1 \(3, -200\) lies far outside the 50×60"):
        read_points(photos / "pts.json")


# --- what a user's own CSV looks like --------------------------------------------------------------

def test_image_names_keep_their_spaces_and_windows_paths_are_found(photos):
    (photos / "sub").mkdir()
    cv2.imwrite(str(photos / " lead space.jpg"), np.zeros((30, 40, 3), np.uint8))
    cv2.imwrite(str(photos / "sub" / "ü é.png"), np.zeros((30, 40, 3), np.uint8))
    (photos / "pts.csv").write_text(" lead space.jpg,1,2,3,4\nsub\\ü é.png,5,6,7,8\n a.jpg,1,1,2,2\n",
                                    encoding="utf-8")
    a, b, c = read_points(photos / "pts.csv")
    assert [s.image.name for s in (a, b, c)] == [" lead space.jpg", "ü é.png", "a.jpg"]


@pytest.mark.parametrize("header", ["image,x1,y1,x2,y2,x3,y3", "image,x_0,y_0,x_1,y_1,x_2,y_2",
                                    "IMAGE,X0,Y0,X1,Y1,X2,Y2"])
def test_header_numbered_from_one_or_with_underscores(photos, header):
    (photos / "pts.csv").write_text(f"{header}\r\na.jpg,1,2,3,4,5,6\r\n")
    (s,) = read_keypoints(photos)  # found in the folder, Windows line endings too
    np.testing.assert_allclose(s.keypoints[0], [[1, 2], [3, 4], [5, 6]])


def test_box_corners_are_not_taken_for_points(photos):
    # x1 y1 x2 y2 is a box file's header, not two points numbered from 1
    (photos / "boxes.csv").write_text("image,x1,y1,x2,y2\na.jpg,1,2,3,4\n")
    with pytest.raises(DataFormatError, match=r"header needs columns x0, y0"):
        read_keypoints(photos)


def test_a_folder_whose_csv_is_not_a_points_csv_says_why(photos):
    (photos / "pts.csv").write_text("image;x0;y0;x1;y1\na.jpg;1;2;3;4\n")  # a spreadsheet's ';'
    with pytest.raises(DataFormatError, match=r"found nothing \(.*pts\.csv:1: 1 values.*separated by ';'"):
        read_keypoints(photos)
    with pytest.raises(DataFormatError, match=r"pts\.csv:1: .*separated by ';'"):
        read_keypoints(photos / "pts.csv")


def test_normalised_coordinates_are_an_error(photos):
    (photos / "pts.csv").write_text("a.jpg,0.1,0.2,0.3,0.4\nb.png,0.5,0.5,1.0,0.9\n")
    with pytest.raises(DataFormatError, match=r"pts\.csv: every point lies within 0\.\.1.*normalised"):
        read_points(photos / "pts.csv")
    (photos / "pts.csv").unlink()
    (photos / "pts.json").write_text(json.dumps({"a.jpg": [[0.1, 0.2], [0.3, 0.4]]}))
    with pytest.raises(DataFormatError, match=r"pts\.json: every point lies within 0\.\.1"):
        read_keypoints(photos)
    (photos / "pts.json").write_text(json.dumps({"a.jpg": [[0.1, 0.2], [3, 4]]}))  # pixels: fine
    assert len(read_keypoints(photos)) == 1
