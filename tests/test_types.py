import numpy as np

from gesturekit.types import Hand, Hands


def _hand(x: float) -> Hand:
    kp = np.stack([np.linspace(x, x + 20, 21), np.linspace(10, 50, 21)], 1).astype(np.float32)
    return Hand(kp, np.ones(21, np.float32), np.array([x, 10, x + 20, 50], np.float32), 0.9, (100, 80),
                handedness="left", track_id=3)


def test_mirrored_hands_sit_where_the_flipped_frame_shows_them():
    hands = Hands([_hand(10.0)], (100, 80), 5.0)
    m = hands.mirrored()
    np.testing.assert_allclose(m[0].keypoints[:, 0], 100 - hands[0].keypoints[:, 0])
    np.testing.assert_allclose(m[0].keypoints[:, 1], hands[0].keypoints[:, 1])
    np.testing.assert_allclose(m[0].box, [70, 10, 90, 50])   # still x1 < x2
    assert (m[0].handedness, m[0].track_id, m.timestamp_ms) == ("left", 3, 5.0)
    np.testing.assert_allclose(m.mirrored()[0].keypoints, hands[0].keypoints)
    assert hands[0].keypoints[0, 0] == 10.0                   # the original is untouched


def test_to_dict_rounds_float32_values_for_json():
    h = _hand(10.0)
    h.keypoints += np.float32(0.0617)   # float32 83.06 is 83.05999755859375
    d = Hands([h], (100, 80)).to_dict()["hands"][0]
    values = [v for p in d["keypoints"] for v in p] + d["bbox"] + d["confidence"]
    assert all(v == round(v, 3) for v in values)
    assert d["keypoints"][0] == [10.06, 10.06]
