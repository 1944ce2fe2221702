import cv2
import numpy as np
import pytest

from gesturekit.geometry import (
    Crop,
    apply_affine,
    box_iou,
    box_of,
    compose,
    covered,
    crop_from_box,
    crop_from_keypoints,
    degenerate,
    flip_matrix,
    hand_angle,
    iou,
    repeats,
    skeleton_distance,
)


@pytest.mark.parametrize("seed", range(5))
def test_to_frame_inverts_to_crop(seed):
    rng = np.random.default_rng(seed)
    crop = Crop(*rng.uniform(0, 500, 2), rng.uniform(20, 300), rng.uniform(-np.pi, np.pi))
    pts = rng.uniform(-50, 600, (50, 2)).astype(np.float32)
    for out in (64, 128, 257):
        np.testing.assert_allclose(crop.to_frame(crop.to_crop(pts, out), out), pts, atol=1e-4 * 600)
        np.testing.assert_allclose(crop.to_crop(crop.to_frame(pts, out), out), pts, atol=1e-3)


def test_crop_maps_scale_and_rotation():
    crop = Crop(100.0, 50.0, 40.0, np.pi / 2)
    a, b, c = crop.to_crop(np.array([[100.0, 50.0], [120.0, 50.0], [100.0, 40.0]]), 80)
    np.testing.assert_allclose(b - a, [0, -40], atol=1e-4)  # +x in the frame is up after turning by 90°
    np.testing.assert_allclose(c - a, [-20, 0], atol=1e-4)


def test_crop_centre_maps_to_crop_centre():
    crop = Crop(100.0, 50.0, 40.0, 0.0)
    np.testing.assert_allclose(crop.to_crop(np.array([[100.0, 50.0], [120.0, 50.0]]), 80),
                               [[40, 40], [80, 40]], atol=1e-4)
    np.testing.assert_allclose(crop.corners(), [[80, 30], [120, 30], [120, 70], [80, 70]], atol=1e-4)


def test_hand_angle_makes_hand_upright():
    kp = np.zeros((21, 2), np.float32)
    kp[0], kp[9] = [50, 50], [80, 50]  # pointing right
    a = hand_angle(kp)
    assert a == pytest.approx(np.pi / 2)
    crop = Crop(65.0, 50.0, 60.0, a)
    w, m = crop.to_crop(kp[[0, 9]], 64)
    assert m[1] < w[1] and m[0] == pytest.approx(w[0], abs=1e-4)  # root straight above the wrist


def test_crop_from_keypoints_covers_points():
    rng = np.random.default_rng(3)
    kp = rng.uniform(100, 200, (21, 2))
    crop = crop_from_keypoints(kp, 1.5)
    c = crop.to_crop(kp, 100)
    margin = 100 * 0.25 / 1.5  # (1.5 - 1) / 2 of the points' longer side, on each side
    assert (c > margin - 0.5).all() and (c < 100 - margin + 0.5).all()
    assert min(c.min(0).min(), 100 - c.max(0).max()) < margin + 0.5  # tight along the longer side
    assert crop_from_box(np.array([0, 0, 10, 20]), 2.0) == Crop(5.0, 10.0, 40.0, 0.0)


@pytest.mark.parametrize("seed", range(4))
def test_points_follow_pixels_through_crop_warp(seed, dots):
    rng = np.random.default_rng(seed)
    pts = dots.spread_points(rng, 8, 40, 160)
    crop = Crop(100 + rng.uniform(-10, 10), 100 + rng.uniform(-10, 10), rng.uniform(150, 190),
                rng.uniform(-np.pi, np.pi))
    expected = crop.to_crop(pts, 128)
    keep = ((expected > 6) & (expected < 122)).all(1)  # dots cut by the crop border have no true centre
    assert keep.sum() >= 3
    out = crop.warp(dots.render_dots(pts[keep], 200), 128)
    err = dots.match_error(dots.dot_centres(out), expected[keep])
    assert err.max() < 0.15, err


def test_points_follow_pixels_through_flip(dots):
    rng = np.random.default_rng(7)
    pts = dots.spread_points(rng, 8, 30, 170)
    frame = dots.render_dots(pts, 200)
    size = 96
    m = compose(flip_matrix(size), Crop(100.0, 100.0, 180.0, 0.3).matrix(size))
    out = cv2.warpAffine(frame, m, (size, size), flags=cv2.INTER_LINEAR)
    err = dots.match_error(dots.dot_centres(out), apply_affine(m, pts))
    assert err.max() < 0.15, err
    # the mirror alone: continuous x maps to size - x
    np.testing.assert_allclose(apply_affine(flip_matrix(size), np.array([[0.0, 3.0], [10.25, 4.0]])),
                               [[96.0, 3.0], [85.75, 4.0]], atol=1e-5)


# --- boxes

def test_box_of_ignores_missing_points_and_is_zero_without_any():
    kp = np.array([[10, 20], [np.nan, 5], [30, 60]], np.float32)
    np.testing.assert_array_equal(box_of(kp), [10, 20, 30, 60])
    np.testing.assert_array_equal(box_of(np.full((3, 2), np.nan)), [0, 0, 0, 0])


def test_iou_matrix_and_pair_agree():
    a = np.array([[0, 0, 10, 10], [5, 5, 15, 15]], np.float32)
    b = np.array([[0, 0, 10, 10], [20, 20, 30, 30], [0, 5, 10, 15]], np.float32)
    m = box_iou(a, b)
    assert m.shape == (2, 3)
    assert m[0, 0] == pytest.approx(1.0) and m[0, 1] == 0.0
    assert m[1, 0] == pytest.approx(25 / 175) and iou(a[1], b[0]) == pytest.approx(m[1, 0])
    assert m[0, 2] == pytest.approx(50 / 150)


def test_covered_is_the_share_of_the_first_box_inside_the_second():
    assert covered(np.array([0, 0, 10, 10]), np.array([5, 0, 100, 100])) == pytest.approx(0.5)
    assert covered(np.array([0, 0, 10, 10]), np.array([20, 20, 30, 30])) == 0.0


def test_repeats_catches_a_box_inside_a_hand_but_not_a_neighbour():
    hand = np.array([100, 100, 200, 220], np.float32)
    thumb = np.array([90, 150, 130, 200], np.float32)       # 3/4 inside, IoU only ~0.1
    neighbour = np.array([190, 100, 290, 220], np.float32)  # touching hands overlap a little
    assert iou(thumb, hand) < 0.3 and repeats(thumb, [hand], 0.3)
    assert not repeats(neighbour, [hand], 0.3) and not repeats(hand, [], 0.3)


def test_degenerate_boxes_have_a_side_under_two_pixels():
    assert degenerate(np.array([5, 5, 6.5, 40])) and not degenerate(np.array([5, 5, 8, 40]))


def test_skeleton_distance_is_to_the_nearest_bone_and_skips_missing_ones():
    kp = np.float32([[0, 0], [10, 0], [10, 10], [np.nan, np.nan]])
    edges = [(0, 1), (1, 2), (2, 3)]
    pts = np.float32([[5, 0], [5, 3], [13, 5], [-4, 3], [10, 14]])
    np.testing.assert_allclose(skeleton_distance(pts, kp, edges), [0, 3, 3, 5, 4], atol=1e-6)
    assert np.isinf(skeleton_distance(pts[:2], kp, [(2, 3)])).all()
