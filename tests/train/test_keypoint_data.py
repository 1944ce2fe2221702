import numpy as np
import pytest

from gesturekit.augment import AugmentOptions
from gesturekit.geometry import apply_affine, compose, flip_matrix
from gesturekit.layouts import HAND_12, HAND_21, KeypointLayout

pytest.importorskip("albumentations")
from gesturekit.train.keypoint_data import KeypointCrops

CACHE = 128


def _hand21(rng, n):
    """Rough upright hands: wrist low, finger joints fanning upwards, inside a 128 px region."""
    kp = np.zeros((n, 21, 2), np.float32)
    for i in range(n):
        wrist = np.array([64, 92]) + rng.uniform(-4, 4, 2)
        kp[i, 0] = wrist
        for f in range(5):
            direction = np.array([np.sin((f - 2) * 0.35), -np.cos((f - 2) * 0.35)])
            for j in range(4):
                kp[i, 1 + 4 * f + j] = wrist + direction * (18 + 10 * j) + rng.uniform(-1, 1, 2)
    return kp


def _cache(kp, vis=None, images=None):
    n = len(kp)
    if images is None:
        images = np.random.default_rng(1).integers(0, 255, (n, CACHE, CACHE, 3), dtype=np.uint8)
    return {"images": images, "keypoints": kp.astype(np.float32),
            "visible": np.ones(kp.shape[:2], bool) if vis is None else vis}


def test_shapes_dtypes_and_determinism():
    kp = _hand21(np.random.default_rng(0), 3)
    ds = KeypointCrops(_cache(kp), HAND_21, input_size=64)
    assert len(ds) == 3
    img, xy, w = ds[1]
    assert img.shape == (3, 64, 64) and img.dtype == np.float32 and 0 <= img.min() and img.max() <= 1
    assert xy.shape == (21, 2) and xy.dtype == np.float32
    assert w.shape == (21,) and w.dtype == np.float32 and w.sum() == 21
    img2, xy2, _ = ds[1]
    np.testing.assert_array_equal(img, img2)
    np.testing.assert_array_equal(xy, xy2)
    _, xy3, _ = KeypointCrops(_cache(kp), HAND_21, input_size=64, seed=5)[1]
    assert np.abs(xy3 - xy).max() > 0.1  # the seed picks another evaluation jitter


def test_augmented_draws_change_with_epoch_and_repeat_indices():
    kp = _hand21(np.random.default_rng(0), 2)
    opts = AugmentOptions(perspective_p=0.0)  # only the seeded crop geometry moves the points
    ds = KeypointCrops(_cache(kp), HAND_21, 64, opts, seed=0, indices=np.array([0, 1, 0, 1]))
    assert len(ds) == 4
    a = ds[0][1]
    np.testing.assert_array_equal(a, ds[0][1])  # same epoch, same draw
    ds.epoch = 1
    assert np.abs(ds[0][1] - a).max() > 0.1


def test_repeats_of_an_image_draw_different_crops():
    kp = _hand21(np.random.default_rng(0), 1)
    ds = KeypointCrops(_cache(kp), HAND_21, 64, AugmentOptions(perspective_p=0.0), indices=np.zeros(4, int))
    draws = np.stack([ds[i][1] for i in range(4)])
    assert np.abs(draws[1:] - draws[0]).max(axis=(1, 2)).min() > 0.1


def test_full_augmentation_is_reproducible():
    kp = _hand21(np.random.default_rng(0), 1)
    ds = KeypointCrops(_cache(kp), HAND_21, 64, AugmentOptions(perspective_p=1.0), seed=0)
    np.testing.assert_array_equal(ds[0][1], ds[0][1])


def test_evaluation_crop_is_upright_and_labels_match_crop_for():
    kp = _hand21(np.random.default_rng(2), 1)
    ds = KeypointCrops(_cache(kp), HAND_21, 64)
    _, xy, _ = ds[0]
    crop, flip = ds.crop_for(0, np.random.default_rng((0, 0)))
    assert not flip
    np.testing.assert_allclose(xy, crop.to_crop(kp[0], 64), atol=1e-4)
    assert xy[9, 1] < xy[0, 1]  # middle-finger root above the wrist


def test_invisible_and_outside_points_get_zero_weight():
    kp = _hand21(np.random.default_rng(3), 1)
    vis = np.ones((1, 21), bool)
    vis[0, 4] = False
    # half-size crops around the hand's centre: the fingertips and the wrist fall outside
    opts = AugmentOptions(shift=0.0, scale=(0.5, 0.5), rotate_deg=0.0, full_rotation_p=0.0, flip_p=0.0,
                          perspective_p=0.0, color_p=0.0, blur_noise_p=0.0)
    _, xy, w = KeypointCrops(_cache(kp, vis), HAND_21, 64, opts)[0]
    inside = ((xy >= 0) & (xy < 64)).all(1)
    assert 0 < inside.sum() < 20
    np.testing.assert_array_equal(w, (inside & vis[0]).astype(np.float32))
    assert w[4] == 0


def test_unlabelled_points_do_not_move_the_crop():
    kp = _hand21(np.random.default_rng(3), 1)
    vis = np.ones((1, 21), bool)
    vis[0, 20] = False
    _, ref, _ = KeypointCrops(_cache(kp, vis), HAND_21, 64)[0]
    kp[0, 20] = [-400, -400]  # where an unlabelled point lands after the cache warp of (0, 0)
    _, xy, w = KeypointCrops(_cache(kp, vis), HAND_21, 64)[0]
    assert w[20] == 0
    np.testing.assert_allclose(xy[:20], ref[:20], atol=1e-3)


def test_derives_12_points_from_21():
    kp = _hand21(np.random.default_rng(4), 2)
    ds = KeypointCrops(_cache(kp), HAND_12, 64)
    _, xy, w = ds[1]
    assert xy.shape == (12, 2) and w.shape == (12,)
    crop, _ = ds.crop_for(1, np.random.default_rng((0, 1)))
    np.testing.assert_allclose(xy, HAND_12.derive(crop.to_crop(kp[1], 64)), atol=1e-4)
    np.testing.assert_allclose(xy[HAND_12.names.index("index_tip")], crop.to_crop(kp[1, 8:9], 64)[0],
                               atol=1e-4)


def test_a_point_derived_from_an_unlabelled_hand_point_is_unlabelled():
    # an unlabelled point has no true position (hands26k stores it at 0, 0): the palm points made
    # from it would be taught wherever that lands, here just below the wrist, inside the crop
    kp = _hand21(np.random.default_rng(4), 1)
    vis = np.ones((1, 21), bool)
    vis[0, 9] = False  # middle-finger root
    kp[0, 9] = kp[0, 0] + [0, 30]
    _, _, w = KeypointCrops(_cache(kp, vis), HAND_12, 64)[0]
    uses_root = (HAND_12.from_hand21[:, 9] != 0)  # middle_root and palm_1..3 (palm_0 is the wrist)
    assert (w[uses_root] == 0).all() and (w[~uses_root] == 1).all()


def _dot_image(points, values, sigma=2.0):
    yy, xx = np.mgrid[0:CACHE, 0:CACHE] + 0.5
    img = np.zeros((CACHE, CACHE), np.float64)
    for (x, y), v in zip(points, values):
        img = np.maximum(img, v * np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * sigma**2)))
    return np.repeat(img.round().astype(np.uint8)[None, :, :, None], 3, 3)


@pytest.mark.parametrize("flip_perm", [(1, 0, 2, 3), (0, 1, 2, 3)])
def test_flip_applies_layout_permutation_and_points_stay_on_their_pixels(flip_perm):
    lay = KeypointLayout("lr4", ("left", "right", "top", "bottom"), ((0, 2), (1, 2), (2, 3)), flip=flip_perm)
    kp = np.array([[[40, 64], [88, 64], [64, 40], [64, 88]]], np.float32)
    brightness = [250, 100, 180, 60]  # survives ToGray, so each point's dot stays recognisable
    cache = _cache(kp, images=_dot_image(kp[0], brightness))
    opts = AugmentOptions(shift=0.0, scale=(1.0, 1.0), rotate_deg=0.0, full_rotation_p=0.0, flip_p=1.0,
                          perspective_p=0.0, color_p=0.0, blur_noise_p=0.0)
    size = 64
    ds = KeypointCrops(cache, lay, size, opts, source_layout=lay)
    img, xy, _ = ds[0]
    crop, flip = ds.crop_for(0, np.random.default_rng((0, 0, 0)))
    assert flip
    mirrored = apply_affine(compose(flip_matrix(size), crop.matrix(size)), kp[0])
    np.testing.assert_allclose(xy, mirrored[list(flip_perm)], atol=1e-4)
    gray = img.mean(0) * 255
    for i, (x, y) in enumerate(xy):
        src = flip_perm[i]  # the dot this label now sits on
        assert gray[int(y), int(x)] == pytest.approx(brightness[src], abs=20), (i, src)
    if flip_perm == (1, 0, 2, 3):
        assert xy[0, 0] < size / 2 < xy[1, 0]  # "left" is still on the left after the mirror
    else:
        assert xy[0, 0] > size / 2 > xy[1, 0]


def test_small_points_folder_to_training_crops(tmp_path):
    """The 60-photos path: a folder + one CSV + a custom layout → cache → augmented crops."""
    import cv2

    from gesturekit.io import read_keypoints
    from gesturekit.train.cache import build_cache

    lay = KeypointLayout("lr3", ("left", "right", "tip"), ((0, 2), (1, 2)), flip=(1, 0, 2))
    rows = []
    rng = np.random.default_rng(0)
    for i in range(4):
        cv2.imwrite(str(tmp_path / f"p{i}.jpg"), rng.integers(0, 255, (90, 120, 3), dtype=np.uint8))
        cx, cy = rng.uniform(40, 80), rng.uniform(35, 55)
        rows.append(f"p{i}.jpg,{cx - 15},{cy + 10},{cx + 15},{cy + 10},{cx},{cy - 20}")
    (tmp_path / "points.csv").write_text("\n".join(rows) + "\n")
    samples = read_keypoints(tmp_path)
    cache = build_cache(samples, tmp_path / "cache", size=96, threads=1)
    assert cache["images"].shape == (4, 96, 96, 3) and cache["keypoints"].shape == (4, 3, 2)
    ds = KeypointCrops(cache, lay, 64, AugmentOptions.heavy(), indices=np.tile(np.arange(4), 5),
                       source_layout=lay)
    assert len(ds) == 20
    weights = []
    for i in range(len(ds)):
        img, xy, w = ds[i]
        assert img.shape == (3, 64, 64) and xy.shape == (3, 2) and np.isfinite(xy).all()
        weights.append(w)
    # Heavy zoom-in (0.7 × 1.5 = 1.05 × the points' box) plus rotation cuts off the triangle's corners
    # at times (62% kept here; 96% for real 21-point hands), but a crop that missed the hand
    # altogether would keep far fewer.
    assert np.mean(weights) > 0.5
