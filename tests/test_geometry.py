import cv2
import numpy as np
import pytest

from gesturekit.geometry import (
    Crop,
    apply_affine,
    compose,
    crop_from_box,
    crop_from_keypoints,
    flip_matrix,
    hand_angle,
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
