import numpy as np
import pytest

from gesturekit.gestures.features import (
    canonicalize,
    check_keypoints,
    hand_features,
    kinivi_normalize,
    mlp_input,
)


def test_features_invariant_to_rotation_scale_mirror(make_hand):
    ref = hand_features(make_hand("victory"))
    for angle, scale, mirror in [(33, 40, False), (-120, 250, True), (180, 90, True)]:
        f = hand_features(make_hand("victory", angle=angle, scale=scale, mirror=mirror))
        np.testing.assert_allclose(f.extended, ref.extended, atol=1e-6)
        np.testing.assert_allclose(f.tip_dist, ref.tip_dist, atol=1e-6)
        assert f.spread == pytest.approx(ref.spread)
        assert f.size == pytest.approx(ref.size / 100 * scale)


def test_finger_states(make_hand):
    f = hand_features(make_hand("rock", angle=71))
    assert (f.extended[[1, 4]] > 0.8).all() and (f.extended[[0, 2, 3]] < 0.2).all()


def test_thumb_dir_is_in_image_coordinates(make_hand):
    up = hand_features(make_hand("thumbs_up")).thumb_dir
    down = hand_features(make_hand("thumbs_up", angle=180)).thumb_dir
    assert up[1] < -0.9 and down[1] > 0.9


def test_canonical_frame_rotation_and_mirror(make_hand):
    a = canonicalize(make_hand("call"), "right")
    b = canonicalize(make_hand("call", angle=140, scale=30), "right")
    c = canonicalize(make_hand("call", angle=-50, mirror=True), "left")
    np.testing.assert_allclose(a, b, atol=1e-9)
    np.testing.assert_allclose(a, c, atol=1e-9)
    np.testing.assert_allclose(a[9], [0, -1], atol=1e-9)   # wrist→middle MCP points up
    # without handedness a left hand stays mirrored
    assert not np.allclose(canonicalize(make_hand("call", mirror=True)), a)


def test_kinivi_normalisation():
    kp = np.arange(42, dtype=float).reshape(21, 2)
    v = kinivi_normalize(kp)
    assert v.shape == (42,) and v[0] == 0 and np.abs(v).max() == pytest.approx(1.0)
    assert mlp_input(kp + 5, frame="kinivi") == pytest.approx(v)


def test_bad_keypoints_raise(make_hand):
    kp = make_hand("fist")
    with pytest.raises(ValueError, match=r"shape \(20, 2\)"):
        check_keypoints(kp[:20])
    kp[7] = np.nan
    with pytest.raises(ValueError, match=r"points \[7\] are missing"):
        hand_features(kp)
    with pytest.raises(ValueError, match="degenerate"):
        check_keypoints(np.zeros((21, 2)))
    with pytest.raises(ValueError, match="handedness"):
        canonicalize(make_hand("fist"), "up")
