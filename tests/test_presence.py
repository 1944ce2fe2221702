import numpy as np
import pytest
from fakes import FakeDetector, FakeRegressor, hand_at, set_truth

from gesturekit.errors import ModelFileError
from gesturekit.gestures.mlp import GestureMLP, TrainOptions, train_mlp
from gesturekit.presence import LABELS, PresenceClassifier, paint_out, presence_features
from gesturekit.runtime import default_model


def test_features_are_scale_free_and_checked():
    kp = hand_at(100, 100, 60)[None]
    conf = np.full((1, 21), 0.4, np.float32)
    f = presence_features(kp, conf, np.array([0.3]))
    g = presence_features(kp * 3 + 7, conf, np.array([0.3]))   # bigger and moved: same hand
    assert f.shape == (1, 32) and np.allclose(f, g, atol=1e-5)
    assert f[0, 0] == pytest.approx(0.4) and f[0, 9] == pytest.approx(0.3)
    collapsed = np.repeat(kp[:, :1], 21, 1)                       # every point on the wrist
    assert np.isfinite(presence_features(collapsed, conf, np.array([0.3]))).all()
    with pytest.raises(ValueError, match="21 points"):
        presence_features(kp[:, :12], conf, np.array([0.3]))


def test_paint_out_hides_the_box_and_keeps_the_rest():
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 255, (100, 200, 3), dtype=np.uint8)
    out = paint_out(frame, np.array([[50, 20, 90, 60]]), grow=0.0)
    assert (out[20:60, 50:90] == out[20, 50]).all() and np.array_equal(out[:, 100:], frame[:, 100:])


def _model(tmp_path, labels=LABELS):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 32)).astype(np.float32)
    y = np.where(x[:, 0] > 0, labels[0], labels[1])
    m = train_mlp(x, y, TrainOptions(hidden=(8,), epochs=20), input="features", classes=list(labels))
    path = tmp_path / "presence.npz"
    m.save(path)
    return path


def test_classifier_loads_its_own_kind_only(tmp_path):
    clf = PresenceClassifier(_model(tmp_path))
    kp = np.stack([hand_at(100, 100, 60)] * 3)
    p = clf.prob(kp, np.full((3, 21), 0.5, np.float32), np.full(3, 0.4, np.float32))
    assert p.shape == (3,) and ((p >= 0) & (p <= 1)).all()
    assert clf.prob(kp[:0], np.zeros((0, 21)), np.zeros(0)).shape == (0,)
    kp[1, 4], score = np.nan, np.float32([0.4, 0.4, np.nan])   # points or a score that are not numbers
    with np.errstate(invalid="ignore"):
        p = clf.prob(kp, np.full((3, 21), 0.5, np.float32), score)
    assert p.tolist() == [pytest.approx(p[0]), 0.0, 0.0]
    with pytest.raises(ModelFileError, match="labels"):
        PresenceClassifier(_model(tmp_path, ("fist", "palm")))
    with pytest.raises(ModelFileError, match="not found"):
        PresenceClassifier(tmp_path / "nope.npz")
    assert GestureMLP.load(_model(tmp_path)).input == "features"


class ConstPresence:
    def __init__(self, p):
        self.p, self.calls = p, 0

    def prob(self, kp, conf, scores):
        self.calls += 1
        return np.full(len(kp), self.p, np.float32)


@pytest.mark.parametrize("p,found", [(0.9, 1), (0.1, 0)])
def test_tracker_gates_new_hands_on_presence(p, found):
    from gesturekit.tracker import HandTracker, TrackerOptions

    det, reg, pres = FakeDetector(), FakeRegressor(), ConstPresence(p)
    tr = HandTracker(TrackerOptions(min_presence_confidence=0.5), detector=det, regressor=reg, presence=pres)
    set_truth(det, reg, [hand_at(100, 100, 80)])
    frame = np.zeros((200, 200, 3), np.uint8)
    # with nothing found, the whole frame and then tiles are weighed too (frame_candidate, static_tiles)
    assert len(tr.process(frame)) == found and pres.calls == (1 if found else 3)
    assert len(tr.process(frame, 0.0)) == found


def test_shipped_presence_model_tells_a_hand_from_a_blob():
    path = default_model("presence.npz")
    if not path.exists():
        pytest.skip("no presence model shipped")
    clf = PresenceClassifier(path)
    hand = hand_at(100, 100, 80)[None]
    blob = (np.random.default_rng(0).normal(0, 3, (1, 21, 2)) + 100).astype(np.float32)
    good = clf.prob(hand, np.full((1, 21), 0.6, np.float32), np.array([0.5], np.float32))
    bad = clf.prob(blob, np.full((1, 21), 0.05, np.float32), np.array([0.12], np.float32))
    assert good[0] > 0.5 > bad[0]
    collapsed = np.full((1, 21, 2), 100.0, np.float32)   # every point on one spot: no hand
    assert clf.prob(collapsed, np.full((1, 21), 0.9, np.float32), np.array([0.9], np.float32))[0] == 0.0


def test_a_hand_lost_a_moment_ago_needs_half_the_presence_to_come_back():
    from gesturekit.tracker import HandTracker, TrackerOptions

    det, reg, pres = FakeDetector(), FakeRegressor(), ConstPresence(0.9)
    tr = HandTracker(TrackerOptions(min_presence_confidence=0.5, lost_id_ttl_ms=500), detector=det,
                     regressor=reg, presence=pres)
    frame = np.zeros((200, 200, 3), np.uint8)
    set_truth(det, reg, [hand_at(100, 100, 80)])
    assert len(tr.process(frame, 0.0)) == 1
    set_truth(det, reg, [])
    assert len(tr.process(frame, 33.0)) == 0          # lost
    set_truth(det, reg, [hand_at(102, 100, 80)])
    pres.p = 0.3                                         # weak evidence, but where the hand just was
    assert len(tr.process(frame, 66.0)) == 1
    tr.reset()
    assert len(tr.process(frame, 0.0)) == 0           # the same evidence for a new hand: not enough


def test_a_missing_shipped_presence_model_falls_back_to_confidence(monkeypatch, tmp_path, caplog):
    from gesturekit.tracker import HandTracker, TrackerOptions

    monkeypatch.setenv("GESTUREKIT_MODELS", str(tmp_path))   # no model files there
    det, reg = FakeDetector(), FakeRegressor()
    tr = HandTracker(TrackerOptions(gestures=False), detector=det, regressor=reg)
    assert tr.presence is None and tr.handedness is None
    assert "presence model off" in caplog.text
    set_truth(det, reg, [hand_at(100, 100, 80)])
    assert len(tr.process(np.zeros((200, 200, 3), np.uint8))) == 1   # the fakes' confidence 0.9 passes
    with pytest.raises(ModelFileError):
        HandTracker(TrackerOptions(presence_model=tmp_path / "nope.npz"), detector=det, regressor=reg)


def test_motion_blurred_smears_the_share_asked_for_and_repeats_with_its_seed():
    pytest.importorskip("albumentations")
    from gesturekit.presence import motion_blurred, train

    img = np.zeros((64, 64, 3), np.uint8)
    img[:, 30:34] = 255                                       # a sharp bar
    blur = motion_blurred(1.0, seed=3)
    out = blur(img)
    assert out.shape == img.shape and out.dtype == np.uint8 and not np.array_equal(out, img)
    assert np.array_equal(motion_blurred(1.0, seed=3)(img), out)
    assert np.array_equal(motion_blurred(0.0)(img), img)
    with pytest.raises(ValueError, match="blur_share"):
        train(None, None, blur_share=1.5)


def test_an_out_path_that_cannot_be_saved_is_refused_before_any_work(tmp_path, monkeypatch, capsys):
    from gesturekit import presence

    monkeypatch.setattr(presence, "train", lambda *a, **k: pytest.fail("trained before checking --out"))
    with pytest.raises(SystemExit):
        presence.main(["--out", str(tmp_path / "presence")])
    assert "must end in .npz" in capsys.readouterr().err
