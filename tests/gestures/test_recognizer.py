import numpy as np
import pytest

from gesturekit.errors import ModelFileError
from gesturekit.gestures import (
    DynamicGestureRecognizer,
    DynamicOptions,
    GestureMLP,
    GestureOptions,
    GestureRecognizer,
    MotionRules,
    read_point_history,
    read_samples,
)


def test_options_validate():
    with pytest.raises(ValueError, match="mode"):
        GestureOptions(mode="magic")
    with pytest.raises(ValueError, match="min_score"):
        GestureOptions(min_score=2)
    with pytest.raises(ValueError, match="model_path"):
        GestureOptions(model_path="m.pkl")
    with pytest.raises(ValueError, match="point"):
        DynamicOptions(point=21)
    with pytest.raises(ValueError, match="swipe_straightness"):
        MotionRules(swipe_straightness=0)


def test_modes_by_name(make_hand, shared_data):
    r = GestureRecognizer(GestureOptions(mode="rules")).recognize(make_hand("victory", angle=20), "right")
    assert (r.name, r.source) == ("victory", "rules") and 0.5 <= r.score <= 1
    s = read_samples(shared_data / "hagrid12" / "keypoints_mediapipe.csv")
    i = int(np.flatnonzero(s.labels == "victory")[0])
    for mode in ("rules", "mlp", "both"):
        r = GestureRecognizer(GestureOptions(mode=mode)).recognize(s.keypoints[i], s.handedness[i])
        assert r.name == "victory", (mode, r)
        assert r.source == ("rules" if mode == "rules" else "mlp")
        assert 0.5 <= r.score <= 1


def test_both_falls_back_to_rules(make_hand):
    # the built-in MLP has no pinch class; with an unreachable MLP threshold the rules answer
    rec = GestureRecognizer(GestureOptions(mode="both", min_score=1.0))
    r = rec.recognize(make_hand("pinch"), "left")
    assert (r.name, r.source) == ("pinch", "rules")
    assert "pinch" in rec.labels and "mute" in rec.labels


def test_pinch_wins_over_the_mlp_by_default_and_only_where_its_rule_fires(make_hand):
    # the virtual mouse clicks on "pinch", which the built-in MLP (HaGRID's classes) cannot say
    rec = GestureRecognizer()
    r = rec.recognize(make_hand("pinch"), "right")
    assert (r.name, r.source) == ("pinch", "rules") and "pinch" in rec.labels
    for pose in ("fist", "ok", "point"):
        assert rec.recognize(make_hand(pose), "right").name != "pinch", pose
    plain = GestureRecognizer(GestureOptions(rule_gestures=()))
    assert plain.recognize(make_hand("pinch"), "right").source == "mlp" and "pinch" not in plain.labels
    with pytest.raises(ValueError, match="rule_gestures"):
        GestureOptions(rule_gestures=("pinchh",))


def test_a_fist_with_the_thumb_over_the_index_is_not_a_pinch(make_hand):
    # the index tip folded onto its knuckle and the thumb tip beside it: close tips, no pinch
    kp = make_hand("fist")
    kp[4] = kp[8] + (kp[8] - kp[5]) * 0.3
    assert GestureRecognizer(GestureOptions(mode="rules")).rules.scores(kp)["pinch"] < 0.5


def test_bad_input_raises(make_hand):
    rec = GestureRecognizer(GestureOptions(mode="rules"))
    kp = make_hand("fist")
    with pytest.raises(ValueError, match="shape"):
        rec.recognize(kp[None])
    bad = kp.copy()
    bad[4] = np.nan
    with pytest.raises(ValueError, match="missing"):
        rec.recognize(bad)
    with pytest.raises(ValueError, match="handedness"):
        rec.recognize(kp, "both")


def test_user_model_path(tmp_path):
    with pytest.raises(ModelFileError, match="not found"):
        GestureRecognizer(GestureOptions(model_path=tmp_path / "nope.npz"))


def _constant_mlp(tmp_path, labels, answer) -> GestureMLP:
    """A saved static MLP that always answers ``answer``."""
    b = np.where(np.asarray(labels) == answer, 5.0, 0.0)
    path, _ = GestureMLP([(np.zeros((42, len(labels))), b)], labels).save(tmp_path / "m.npz")
    return path


def test_a_user_model_with_thumbs_up_alone_never_answers_thumbs_down(tmp_path, make_hand):
    # the image-up rule renamed the MLP's thumbs_up to thumbs_down, a name the model lacks
    rec = GestureRecognizer(GestureOptions(model_path=_constant_mlp(tmp_path, ["fist", "thumbs_up"], "thumbs_up")))
    assert rec.recognize(make_hand("thumbs_up", angle=180)).name == "thumbs_up"
    assert "thumbs_down" not in rec.labels
    both = GestureRecognizer(GestureOptions(
        model_path=_constant_mlp(tmp_path, ["thumbs_down", "thumbs_up"], "thumbs_up")))
    assert both.recognize(make_hand("thumbs_up", angle=180)).name == "thumbs_down"   # the rule still works


def _moving_hand(make_hand, tip_xy):
    kp = make_hand("point", scale=60)
    return kp - kp[8] + np.asarray(tip_xy)


@pytest.mark.parametrize("name,step", [("swipe_right", (15, 0)), ("swipe_left", (-15, 1)),
                                       ("swipe_up", (0, -15)), ("swipe_down", (2, 15))])
def test_swipes(make_hand, name, step):
    dyn = DynamicGestureRecognizer()
    results = [dyn.update(1, 33.0 * i, _moving_hand(make_hand, (300 + step[0] * i, 200 + step[1] * i)))
               for i in range(12)]
    hits = [r for r in results if r is not None]
    assert len(hits) == 1 and hits[0].name == name and hits[0].source == "rules"


@pytest.mark.parametrize("sign,name", [(1, "circle_cw"), (-1, "circle_ccw")])
def test_circles(make_hand, sign, name):
    dyn = DynamicGestureRecognizer()
    out = []
    for i in range(24):
        a = sign * 2 * np.pi * i / 22
        out.append(dyn.update(7, 33.0 * i, _moving_hand(make_hand, (300 + 50 * np.cos(a), 200 + 50 * np.sin(a)))))
    hits = [r.name for r in out if r is not None]
    assert hits and hits[0] == name


def test_still_hand_and_jitter_give_nothing(make_hand):
    dyn = DynamicGestureRecognizer()
    rng = np.random.default_rng(0)
    for i in range(60):
        assert dyn.update(3, 33.0 * i, _moving_hand(make_hand, (300, 200) + rng.normal(0, 3, 2))) is None


def test_dynamic_time_goes_forward(make_hand):
    dyn = DynamicGestureRecognizer()
    dyn.update(1, 100.0, make_hand("point"))
    with pytest.raises(ValueError, match="back in time"):
        dyn.update(1, 50.0, make_hand("point"))


def test_rules_agree_with_kinivi_circles(shared_data, make_hand):
    h, y = read_point_history(shared_data / "gestures-kinivi" / "point_history.csv")
    rules = MotionRules(circle_min_deg=250, min_points=6)
    for label, want in (("clockwise", "circle_cw"), ("counter_clockwise", "circle_ccw")):
        rows = h[y == label][:200] * [640, 480]
        got = [rules.detect(r, 40.0) for r in rows]
        named = [g[0] for g in got if g is not None]
        assert len(named) > 100 and np.mean(np.array(named) == want) > 0.95


def test_mlp_mode_on_kinivi_rows(shared_data, make_hand):
    h, y = read_point_history(shared_data / "gestures-kinivi" / "point_history.csv")
    dyn = DynamicGestureRecognizer(DynamicOptions(mode="mlp", image_size=(960, 540)))
    traj = h[y == "clockwise"][0] * [960, 540] + [400, 300]
    res = None
    for i, p in enumerate(traj):
        res = dyn.update(5, 33.0 * i, _moving_hand(make_hand, p))
        if i < 15:
            assert res is None
    assert res is not None and res.name == "circle_cw" and res.source == "mlp"


def test_mlp_thumbs_follow_the_image_up(shared_data):
    s = read_samples(shared_data / "hagrid12" / "keypoints_mediapipe.csv")
    # MediaPipe points in, so the MLP trained on MediaPipe points (the default one learned ours)
    from gesturekit.runtime import default_model

    rec = GestureRecognizer(GestureOptions(mode="mlp", model_path=default_model("gesture_mlp.npz")))
    rows = np.flatnonzero(s.labels == "thumbs_up")[:30]
    up = [rec.recognize(s.keypoints[i], s.handedness[i]).name for i in rows]
    centre = s.keypoints[rows].mean(1, keepdims=True)
    flipped = 2 * centre - s.keypoints[rows]          # turned 180 degrees in the image
    down = [rec.recognize(k, s.handedness[i]).name for k, i in zip(flipped, rows)]
    assert np.mean(np.array(up) == "thumbs_up") > 0.85
    assert np.mean(np.array(down) == "thumbs_down") > 0.85
