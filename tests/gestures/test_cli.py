import types

import cv2
import numpy as np

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
