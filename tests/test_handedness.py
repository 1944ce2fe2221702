import cv2
import numpy as np
import pytest
from fakes import hand_at

from gesturekit.errors import ModelFileError
from gesturekit.handedness import (
    CROP_SIZE,
    HandednessClassifier,
    HandednessVoter,
    chirality,
    crops_to_batch,
    flip_side,
    read_mediapipe_csv,
    side_crop,
    side_probability,
)


def _padded(path):
    img = cv2.imread(str(path))
    pad = max(img.shape[:2]) // 2
    return cv2.copyMakeBorder(img, pad, pad, pad, pad, cv2.BORDER_REPLICATE), pad


def test_shipped_model_reads_mediapipe_sides_and_their_mirrors(shared_data):
    images: list = []
    kp, y = read_mediapipe_csv(shared_data / "hagrid12" / "keypoints_mediapipe.csv", images)
    idx = np.random.default_rng(1).permutation(len(kp))[:300]  # mostly training rows: a floor, not the held-out figure
    clf = HandednessClassifier()
    right = mirrored = 0
    for i in idx:
        img, pad = _padded(images[i])
        labels, score = clf.predict(img, kp[i] + pad)
        right += labels[0] == y[i]
        assert 0.5 <= score[0] <= 1
        flipped = kp[i] + pad
        flipped[:, 0] = img.shape[1] - flipped[:, 0]      # continuous pixel coordinates
        mirrored += clf.predict(cv2.flip(img, 1), flipped)[0][0] == flip_side(y[i])
    assert right / len(idx) > 0.92 and mirrored / len(idx) > 0.92


def test_chirality_tells_a_left_palm_from_its_mirror_and_not_edge_on():
    kp = hand_at(50, 50, 40)                             # a left palm (tests/fakes.py)
    mirrored = kp * [-1, 1]
    edge_on = kp.copy()
    edge_on[:, 0] = 50                                   # every point on one vertical line
    c = chirality(np.stack([kp, mirrored, edge_on]))
    assert c[0] > 0.3 and np.isclose(c[1], -c[0]) and abs(c[2]) < 1e-9
    with pytest.raises(ValueError, match="keypoints"):
        chirality(np.zeros((21, 2)))


def test_side_is_chirality_joined_with_facing():
    p = side_probability(np.array([0.0, 1.0, 0.0, 1.0, 0.5, 0.0]), np.array([-0.5, -0.5, 0.5, 0.5, -0.5, 0.0]))
    # right palm, left back, left palm, right back, facing unknown, edge-on
    np.testing.assert_allclose(p, [1, 0, 0, 1, 0.5, 0.5], atol=0.01)


def test_side_crop_is_upright_and_mirrors_with_the_frame():
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 255, (240, 320, 3), np.uint8)
    frame = cv2.GaussianBlur(frame, (0, 0), 2)           # smooth, so resampling differences stay small
    a = 0.6                                               # a turned hand: the crop turns it upright
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]], np.float32)
    kp = (hand_at(0, 0, 90) @ rot.T) + [150, 120]
    crop = side_crop(frame, kp)
    assert crop.shape == (CROP_SIZE, CROP_SIZE, 3) and crop.dtype == np.uint8
    flipped = kp.copy()
    flipped[:, 0] = frame.shape[1] - flipped[:, 0]
    mirror_crop = side_crop(cv2.flip(frame, 1), flipped)
    assert np.abs(mirror_crop.astype(int) - crop[:, ::-1].astype(int)).mean() < 3


def test_side_crop_of_a_big_hand_is_area_averaged():
    frame = np.zeros((800, 800, 3), np.uint8)
    frame[:, ::2] = 255                                   # 1 px stripes: sampled, they alias; averaged, grey
    crop = side_crop(frame, hand_at(400, 400, 500))
    assert abs(float(crop[16:48, 16:48].mean()) - 127.5) < 20
    assert crops_to_batch(crop[None]).shape == (1, 3, CROP_SIZE, CROP_SIZE)


def test_classifier_refuses_bad_keypoints_and_takes_none():
    clf = HandednessClassifier()
    frame = np.zeros((120, 120, 3), np.uint8)
    assert clf.prob_right(frame, np.zeros((0, 21, 2))).shape == (0,)
    p = clf.prob_right(frame, np.stack([hand_at(60, 60, 50), hand_at(30, 30, 20)]))
    assert p.shape == (2,) and ((0 <= p) & (p <= 1)).all()
    with pytest.raises(ValueError, match="keypoints"):
        clf.prob_right(frame, np.zeros((2, 12, 2)))
    lost = np.full((1, 21, 2), np.nan)                    # a hand with no usable points: no side either way
    assert clf.prob_right(frame, lost)[0] == 0.5 and clf.prob_back(frame, lost)[0] == 0.5


def test_voter_outvotes_a_wrong_start_and_forgets():
    v = HandednessVoter()
    side, conf = v.update(7, 0.2)            # one wrong-looking frame
    assert side == "left"
    for _ in range(5):
        side, conf = v.update(7, 0.8)
    assert side == "right" and conf > 0.9
    v.forget(7)
    assert v.update(7, 0.4)[0] == "left"
    for _ in range(5):
        v.update(7, 0.1)
    assert v.update(7, float("nan"))[0] == "left"   # a reading that is no number leaves the vote be
    with pytest.raises(ValueError, match="decay"):
        HandednessVoter(decay=0)


def test_missing_or_wrong_model_is_named(tmp_path):
    with pytest.raises(ModelFileError, match="nothing.onnx"):
        HandednessClassifier(tmp_path / "nothing.onnx")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    with pytest.raises(ModelFileError, match="bad.onnx"):
        HandednessClassifier(bad)
    with pytest.raises(FileNotFoundError, match="no.csv"):
        read_mediapipe_csv(tmp_path / "no.csv")


def test_tracker_goes_on_without_a_broken_shipped_side_model(monkeypatch, tmp_path, caplog):
    from fakes import FakeDetector, FakeRegressor, set_truth

    from gesturekit.tracker import HandTracker, TrackerOptions

    (tmp_path / "handedness.onnx").write_bytes(b"\x08\x07 truncated")
    monkeypatch.setenv("GESTUREKIT_MODELS", str(tmp_path))
    det, reg = FakeDetector(), FakeRegressor()
    tr = HandTracker(TrackerOptions(gestures=False, presence_model=""), detector=det, regressor=reg)
    assert tr.handedness is None and "handedness off" in caplog.text and "handedness.onnx" in caplog.text
    set_truth(det, reg, [hand_at(100, 100, 80)])
    hands = tr.process(np.zeros((200, 200, 3), np.uint8), 0.0)
    assert len(hands) == 1 and hands[0].handedness is None


def test_voter_reads_a_followed_hand_every_few_frames_and_holds_between():
    v = HandednessVoter(every=3)
    reads = []
    for frame in range(1, 10):
        v.tick()
        for tid in (1, 2) if frame >= 2 else (1,):        # track 2 appears on frame 2
            if v.due(tid):
                reads.append((frame, tid))
                v.vote(tid, 0.9)
            else:
                assert v.vote(tid, None)[0] == "right"  # held
    # each track on its first frame, then both together on every 3rd frame (one batch)
    assert reads == [(1, 1), (2, 2), (3, 1), (3, 2), (6, 1), (6, 2), (9, 1), (9, 2)]
    with pytest.raises(ValueError, match="every"):
        HandednessVoter(every=0)


def test_tracker_reads_sides_in_one_batch_on_every_third_frame():
    from fakes import FakeDetector, FakeRegressor, set_truth

    from gesturekit.tracker import HandTracker, TrackerOptions

    class CountingSides:
        calls: list = []

        def prob_right(self, frame, kp):
            self.calls.append(len(kp))
            return np.full(len(kp), 0.8, np.float32)

    sides = CountingSides()
    det, reg = FakeDetector(), FakeRegressor()
    tr = HandTracker(TrackerOptions(gestures=False, presence_model="", max_hands=2), detector=det, regressor=reg,
                     handedness=sides)
    set_truth(det, reg, [hand_at(60, 60, 50), hand_at(200, 60, 50)])
    for i in range(7):
        hands = tr.process(np.zeros((160, 280, 3), np.uint8), i * 33.0)
        assert [h.handedness for h in hands] == ["right", "right"]
    assert sides.calls == [2, 2, 2]                       # frames 1, 3 and 6: both hands, one call
