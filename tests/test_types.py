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
