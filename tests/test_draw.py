import numpy as np
import pytest

from gesturekit.draw import BoxAnnotator, LabelAnnotator, SkeletonAnnotator, annotate
from gesturekit.types import Hand, Hands


def _hand(track_id=3):
    kp = np.stack([np.linspace(20, 80, 21), np.linspace(30, 90, 21)], 1).astype(np.float32)
    return Hand(kp, np.ones(21, np.float32), np.array([20, 30, 80, 90], np.float32), 0.9, (120, 100),
                handedness="left", handedness_score=0.8, track_id=track_id, gesture="pinch", gesture_score=0.7)


def test_annotate_draws_on_a_copy():
    frame = np.zeros((100, 120, 3), np.uint8)
    out = annotate(frame, Hands([_hand()], (120, 100)))
    assert frame.sum() == 0 and out.sum() > 0 and out.shape == frame.shape
    assert LabelAnnotator().text(_hand()) == "#3 left pinch"
    for a in (SkeletonAnnotator(), BoxAnnotator(), LabelAnnotator(show_scores=True)):
        scene = np.zeros((100, 120, 3), np.uint8)
        assert a.annotate(scene, [_hand()]) is scene and scene.sum() > 0


def test_a_hand_half_out_of_the_frame_keeps_its_label():
    h = _hand()
    h.box = np.array([-60, 30, 40, 90], np.float32)
    scene = np.zeros((100, 120, 3), np.uint8)
    LabelAnnotator().annotate(scene, [h])
    assert scene[:30, :40].any()


def test_missing_points_and_bad_scene():
    h = _hand(None)
    h.keypoints[3] = np.nan
    SkeletonAnnotator().annotate(np.zeros((100, 120, 3), np.uint8), [h])
    with pytest.raises(ValueError, match="scene"):
        annotate(np.zeros((100, 120), np.uint8), [h], copy=False)   # in place needs BGR uint8
    with pytest.raises(ValueError, match="frame"):
        annotate(np.zeros((100, 120, 2), np.uint8), [h])


@pytest.mark.parametrize("frame", [np.zeros((100, 120), np.uint8), np.zeros((100, 120, 1), np.uint8),
                                   np.zeros((100, 120, 4), np.uint8), np.zeros((100, 120, 3), np.float32),
                                   np.zeros((100, 120, 3), np.uint16)])
def test_annotate_takes_every_frame_the_tracker_takes(frame):
    before = frame.copy()
    out = annotate(frame, [_hand()])
    assert out.shape == (100, 120, 3) and out.dtype == np.uint8 and out.sum() > 0
    np.testing.assert_array_equal(frame, before)   # drawn on a BGR copy, never on the caller's pixels


def test_a_view_cv2_cannot_draw_into_is_a_clear_error_and_copy_still_works():
    frame = np.zeros((100, 120, 3), np.uint8)
    mirrored = frame[:, ::-1]                  # a numpy mirror, as for a selfie view
    with pytest.raises(ValueError, match="cannot draw in place"):
        SkeletonAnnotator().annotate(mirrored, [_hand()])
    with pytest.raises(ValueError, match="cannot draw in place"):
        annotate(mirrored, [_hand()], copy=False)
    assert annotate(mirrored, [_hand()]).sum() > 0
    rows = frame[::2]                          # every other row: cv2 draws into it
    assert BoxAnnotator().annotate(rows, [_hand()]) is rows and frame.sum() > 0
