import types

import cv2
import numpy as np
import pytest

from gesturekit.cli import main
from gesturekit.cli.gestures import _record
from gesturekit.gestures import GestureMLP, SampleRecorder, read_samples


def test_train_gestures_cli(tmp_path, make_hand, capsys):
    data = tmp_path / "samples.csv"
    rng = np.random.default_rng(0)
    with SampleRecorder(data) as rec:
        for pose in ("fist", "victory", "open_palm"):
            for _ in range(40):
                kp = make_hand(pose, angle=rng.uniform(-40, 40), scale=rng.uniform(50, 150),
                               mirror=bool(rng.integers(2)))
                rec.add(pose, kp + rng.normal(0, 2, kp.shape), "left" if rng.integers(2) else "right")
    out = tmp_path / "m.npz"
    assert main(["train", "gestures", "--data", str(data), "--out", str(out), "--epochs", "40"]) == 0
    text = capsys.readouterr().out
    assert "held-out 24 rows" in text and "accuracy 1.0000" in text
    m = GestureMLP.load(out)
    assert m.labels == ["fist", "open_palm", "victory"]


def test_train_gestures_cli_error(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("label,handedness\nfist,,1,2\n")
    assert main(["train", "gestures", "--data", str(bad), "--out", str(tmp_path / "m.npz")]) == 2
    assert "bad.csv:2" in capsys.readouterr().err


class FakeTracker:
    """Stands in for gesturekit.HandTracker: ``process(frame) -> Hands``-like object."""

    def __init__(self, kp):
        self.kp, self.frames = kp, 0

    def process(self, frame):
        self.frames += 1
        hand = types.SimpleNamespace(keypoints=self.kp + self.frames, handedness="right")
        return types.SimpleNamespace(hands=[hand, hand], image_size=(64, 48))


def test_record_with_injected_tracker(tmp_path, make_hand):
    folder = tmp_path / "frames"
    folder.mkdir()
    for i in range(5):
        cv2.imwrite(str(folder / f"{i:03d}.png"), np.zeros((48, 64, 3), np.uint8))
    out = tmp_path / "rec.csv"
    args = types.SimpleNamespace(source=str(folder), label="fist", out=str(out), max_samples=3,
                                 every=1, all_hands=False)
    tracker = FakeTracker(make_hand("fist"))
    assert _record(args, tracker=tracker) == 0
    s = read_samples(out)
    assert len(s) == 3 and tracker.frames == 3 and s.handedness == ["right"] * 3
    np.testing.assert_allclose(s.keypoints[0], make_hand("fist") + 1, atol=0.01)


def _frames_folder(tmp_path, n):
    folder = tmp_path / "frames"
    folder.mkdir()
    for i in range(n):
        cv2.imwrite(str(folder / f"{i:03d}.png"), np.zeros((48, 64, 3), np.uint8))
    return folder


def test_record_every_nth_frame_reads_only_those(tmp_path, make_hand):
    # the tracker read every frame and the recorder then skipped n-1 of n: n times the work
    args = types.SimpleNamespace(source=str(_frames_folder(tmp_path, 10)), label="fist",
                                 out=str(tmp_path / "rec.csv"), max_samples=100, every=3, all_hands=False)
    tracker = FakeTracker(make_hand("fist"))
    assert _record(args, tracker=tracker) == 0
    assert tracker.frames == 4 and len(read_samples(args.out)) == 4     # frames 0, 3, 6, 9


def test_record_refuses_a_bad_label_before_reading_frames(tmp_path, make_hand):
    # it failed only at the first hand found (after the models loaded), leaving a header-only
    # file, and never if no hand was found
    out = tmp_path / "rec.csv"
    tracker = FakeTracker(make_hand("fist"))
    for label in ("a,b", 'say "hi"', "  "):
        args = types.SimpleNamespace(source=str(tmp_path / "nowhere"), label=label, out=str(out),
                                     max_samples=3, every=1, all_hands=False)
        with pytest.raises(ValueError, match="label"):
            _record(args, tracker=tracker)
    assert tracker.frames == 0 and not out.exists()


def test_train_names_a_class_too_small_to_score(tmp_path, make_hand, capsys):
    # a class of 2 samples has none held out: it was printed as recall 0.000 (n=0)
    data = tmp_path / "samples.csv"
    rng = np.random.default_rng(0)
    with SampleRecorder(data) as rec:
        for pose, n in (("fist", 20), ("victory", 20), ("open_palm", 2)):
            for _ in range(n):
                rec.add(pose, make_hand(pose, angle=rng.uniform(-30, 30)) + rng.normal(0, 2, (21, 2)))
    assert main(["train", "gestures", "--data", str(data), "--out", str(tmp_path / "m.npz"),
                 "--epochs", "5"]) == 0
    out, err = capsys.readouterr()
    line = next(t for t in out.splitlines() if "open_palm" in t)
    assert "0.000" not in line and "no held-out row" in line
    assert "'open_palm': too few samples" in err


def test_train_refuses_rules_for_history_before_training(tmp_path, capsys):
    # the check came after training and saving: seconds spent, a model written, exit code 2
    data = tmp_path / "point_history.csv"
    rng = np.random.default_rng(0)
    data.write_text("".join(f"{i % 2}," + ",".join(f"{v:.3f}" for v in rng.uniform(-1, 1, 32)) + "\n"
                            for i in range(20)))
    out = tmp_path / "h.npz"
    args = ["train", "gestures", "--data", str(data), "--kind", "history", "--out", str(out), "--epochs", "1"]
    assert main([*args, "--rules"]) == 2
    assert "--rules: only for --kind static" in capsys.readouterr().err and not out.exists()
    assert main(args) == 0 and out.exists()
