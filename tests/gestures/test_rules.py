import numpy as np
import pytest

from gesturekit.gestures import read_samples, stratified_split
from gesturekit.gestures.mlp import accuracy
from gesturekit.gestures.rules import STATIC_GESTURES, Rule, RuleClassifier

POSES = ["open_palm", "stop", "fist", "point", "victory", "call", "rock", "i_love_you", "ok", "pinch"]


@pytest.mark.parametrize("pose", POSES)
def test_synthetic_pose_any_rotation_side_scale(make_hand, pose):
    rc = RuleClassifier()
    rng = np.random.default_rng(POSES.index(pose))
    for _ in range(6):
        kp = make_hand(pose, angle=rng.uniform(-180, 180), scale=rng.uniform(30, 300),
                       mirror=bool(rng.integers(2)))
        name, score = rc.classify(kp)
        assert name == pose and 0.5 <= score <= 1.0


def test_thumbs_up_down_follow_the_image_up(make_hand):
    rc = RuleClassifier()
    for mirror in (False, True):
        for tilt in (-25, 0, 25):
            assert rc.classify(make_hand("thumbs_up", angle=tilt, mirror=mirror))[0] == "thumbs_up"
            assert rc.classify(make_hand("thumbs_up", angle=180 + tilt, mirror=mirror))[0] == "thumbs_down"
    # thumb sideways: neither
    assert rc.classify(make_hand("thumbs_up", angle=90))[0] not in ("thumbs_up", "thumbs_down")


def test_unknown_pose_is_none(make_hand):
    kp = make_hand("open_palm")
    kp[6:9] = kp[5] + (kp[6:9] - kp[5]) * 0.2   # a half-finger: matches no template well
    kp[14:17] = kp[13] + np.array([[0.3, 0.1], [0.45, 0.3], [0.5, 0.5]]) * 100
    rc = RuleClassifier(min_score=0.9)
    name, score = rc.classify(kp)
    assert name == "none" and 0 <= score <= 1
    assert set(rc.scores(kp)) == set(STATIC_GESTURES) - {"none"}


def test_rule_classifier_validates():
    with pytest.raises(ValueError, match="min_score"):
        RuleClassifier(min_score=1.5)
    with pytest.raises(ValueError, match="duplicate"):
        RuleClassifier(rules=(Rule("a", (1, 1, 1, 1, 1)), Rule("a", (0, 0, 0, 0, 0))))


COVERED = ["open_palm", "stop", "fist", "point", "victory", "thumbs_up", "thumbs_down", "ok",
           "call", "rock"]


def test_rules_on_hagrid_held_out(shared_data):
    s = read_samples(shared_data / "hagrid12" / "keypoints_mediapipe.csv")
    _, va = stratified_split(s.labels, 0.2, 0)
    v = s.subset(va)
    keep = np.isin(v.labels, COVERED)
    rc = RuleClassifier()
    pred = [rc.classify(k)[0] for k in v.keypoints[keep]]
    acc, macro = accuracy(pred, v.labels[keep])
    assert acc >= 0.85 and macro >= 0.85, (acc, macro)   # measured 0.943 / 0.941


def test_rules_on_kinivi_rows_rotated_and_mirrored(shared_data):
    s = read_samples(shared_data / "gestures-kinivi" / "keypoint.csv")
    rc = RuleClassifier()
    rng = np.random.default_rng(0)
    idx = rng.choice(len(s), 120, replace=False)
    for i in idx:
        kp = s.keypoints[i].astype(float)
        a = np.radians(rng.uniform(-180, 180))
        rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
        moved = (kp * [-1, 1]) @ rot.T * 150 + 300
        plain, moved_name = rc.classify(kp * 150 + 300)[0], rc.classify(moved)[0]
        # rotation/mirroring changes nothing except the image-"up" thumbs pair
        if {plain, moved_name}.isdisjoint({"thumbs_up", "thumbs_down"}):
            assert moved_name == plain
    pred = [rc.classify(k * 150 + 300)[0] for k in s.keypoints[s.labels == "point"][:100]]
    assert np.mean(np.array(pred) == "point") > 0.85
