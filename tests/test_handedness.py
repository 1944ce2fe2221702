import numpy as np
import pytest

from gesturekit.errors import ModelFileError
from gesturekit.handedness import (
    HandednessClassifier,
    HandednessVoter,
    flip_side,
    mirror,
    read_mediapipe_csv,
)


def test_shipped_model_reads_mediapipe_labels_and_their_mirrors(shared_data):
    kp, y = read_mediapipe_csv(shared_data / "hagrid12" / "keypoints_mediapipe.csv")
    rng = np.random.default_rng(1)
    idx = rng.permutation(len(kp))[:600]   # mostly training rows: a sanity floor, not the held-out figure
    clf = HandednessClassifier()
    labels, score = clf.predict(kp[idx])
    # the shipped model learned our regressor's points; on MediaPipe's it measured 0.952 held out
    assert np.mean(np.array(labels) == y[idx]) > 0.92
    mlabels, _ = clf.predict(mirror(kp[idx]))
    assert np.mean(np.array(mlabels) == np.array([flip_side(s) for s in y[idx]])) > 0.92
    assert ((score >= 0.5) & (score <= 1)).all()


def test_voter_outvotes_a_wrong_start_and_forgets():
    v = HandednessVoter()
    side, conf = v.update(7, 0.2)            # one wrong-looking frame
    assert side == "left"
    for _ in range(5):
        side, conf = v.update(7, 0.8)
    assert side == "right" and conf > 0.9
    v.forget(7)
    assert v.update(7, 0.4)[0] == "left"
    with pytest.raises(ValueError, match="decay"):
        HandednessVoter(decay=0)


def test_missing_or_wrong_model_is_named(tmp_path):
    with pytest.raises(ModelFileError, match="nothing.npz"):
        HandednessClassifier(tmp_path / "nothing.npz")
    with pytest.raises(FileNotFoundError, match="no.csv"):
        read_mediapipe_csv(tmp_path / "no.csv")


def test_features_ignore_position_scale_and_in_plane_rotation():
    from gesturekit.handedness import handedness_features

    rng = np.random.default_rng(0)
    kp = rng.uniform(0, 100, (5, 21, 2))
    a = 1.1
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    moved = (kp @ rot.T) * 2.5 + [300, -40]
    np.testing.assert_allclose(handedness_features(moved), handedness_features(kp), atol=1e-4)
    with pytest.raises(ValueError, match="keypoints"):
        handedness_features(np.zeros((21, 2)))
