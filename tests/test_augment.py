import numpy as np
import pytest

from gesturekit.augment import AugmentOptions, pixel_pipeline
from gesturekit.geometry import Crop, apply_affine, compose, flip_matrix


def test_options_validate_fields():
    with pytest.raises(ValueError, match="AugmentOptions.flip_p"):
        AugmentOptions(flip_p=1.5)
    with pytest.raises(ValueError, match="AugmentOptions.scale"):
        AugmentOptions(scale=(1.2, 0.8))
    h = AugmentOptions.heavy()
    assert h.rotate_deg > AugmentOptions().rotate_deg and h.scale[0] < AugmentOptions().scale[0]
    light = AugmentOptions.named("light")
    assert light.rotate_deg < AugmentOptions().rotate_deg and light.shift < AugmentOptions().shift
    with pytest.raises(ValueError, match="unknown augmentation 'wild'"):
        AugmentOptions.named("wild")


@pytest.mark.parametrize("seed", range(6))
def test_points_follow_pixels_through_albumentations(seed, dots):
    """Perspective + shear (photometric off) move the keypoints exactly as they move the dots."""
    pipe = pixel_pipeline(AugmentOptions(perspective_p=1.0, color_p=0.0, blur_noise_p=0.0))
    pipe.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    size = 128
    pts = dots.spread_points(rng, 8, 28, 100, min_dist=14)
    out = pipe(image=dots.render_dots(pts, size), keypoints=pts.astype(np.float32))
    moved = np.asarray(out["keypoints"], np.float64).reshape(-1, 2)
    assert np.abs(moved - pts).max() > 0.5  # the pipeline did move the points
    inside = ((moved > 5) & (moved < size - 5)).all(1)
    assert inside.sum() >= 5
    found = dots.dot_centres(out["image"])
    found = found[((found > 4) & (found < size - 4)).all(1)]
    err = dots.match_error(found, moved[inside])
    assert err.max() < 0.5, err


def test_points_follow_pixels_through_crop_flip_and_albumentations(dots):
    """The training chain: exact crop + mirror affine, then albumentations, as KeypointCrops does."""
    import cv2

    rng = np.random.default_rng(11)
    frame_pts = dots.spread_points(rng, 6, 60, 140, min_dist=16)
    frame = dots.render_dots(frame_pts, 200)
    size = 96
    m = compose(flip_matrix(size), Crop(100.0, 100.0, 120.0, 0.4).matrix(size))
    img = cv2.warpAffine(frame, m, (size, size), flags=cv2.INTER_LINEAR)
    kp = apply_affine(m, frame_pts)
    pipe = pixel_pipeline(AugmentOptions(perspective_p=1.0, color_p=0.0, blur_noise_p=0.0))
    pipe.set_random_seed(3)
    out = pipe(image=img, keypoints=kp)
    moved = np.asarray(out["keypoints"], np.float64).reshape(-1, 2)
    assert ((moved > 5) & (moved < size - 5)).all()
    err = dots.match_error(dots.dot_centres(out["image"]), moved)
    assert err.max() < 0.5, err
