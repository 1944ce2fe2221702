import types

import cv2
import numpy as np
import pytest
from fakes import write_clip

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
    """Stands in for gesturekit.HandTracker: ``process(frame[, timestamp_ms])`` → a Hands-like
    object, and ``stream(source)`` as HandTracker's (video mode on every frame of the source)."""

    def __init__(self, kp, interrupt_at=None):
        self.kp, self.frames, self.timestamps, self.interrupt_at = kp, 0, [], interrupt_at

    def process(self, frame, timestamp_ms=None):
        if self.frames == self.interrupt_at:
            raise KeyboardInterrupt
        self.frames += 1
        self.timestamps.append(timestamp_ms)
        hand = types.SimpleNamespace(keypoints=self.kp + self.frames, handedness="right")
        return types.SimpleNamespace(hands=[hand, hand], image_size=(64, 48))

    def stream(self, source):
        from gesturekit.sources import open_source

        src = open_source(source)
        try:
            for frame, ts in src:
                yield frame, self.process(frame, ts)
        finally:
            src.close()


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


def _history_csv(tmp_path):
    """20 point-history rows of two labels (kinivi's layout: label, then 16 x, y pairs)."""
    data = tmp_path / "point_history.csv"
    rng = np.random.default_rng(0)
    data.write_text("".join(f"{i % 2}," + ",".join(f"{v:.3f}" for v in rng.uniform(-1, 1, 32)) + "\n"
                            for i in range(20)))
    return data


def test_train_refuses_rules_for_history_before_training(tmp_path, capsys):
    # the check came after training and saving: seconds spent, a model written, exit code 2
    data = _history_csv(tmp_path)
    out = tmp_path / "h.npz"
    args = ["train", "gestures", "--data", str(data), "--kind", "history", "--out", str(out), "--epochs", "1"]
    assert main([*args, "--rules"]) == 2
    assert "--rules: only for --kind static" in capsys.readouterr().err and not out.exists()
    assert main(args) == 0 and out.exists()


def test_train_without_matplotlib_refuses_confusion_before_training(tmp_path, capsys, monkeypatch):
    # a core install has no matplotlib: the model was written, then the PNG failed with exit 2
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "matplotlib" else real(name, *a))
    data = _history_csv(tmp_path)
    out = tmp_path / "h.npz"
    args = ["train", "gestures", "--data", str(data), "--kind", "history", "--out", str(out), "--epochs", "1"]
    assert main([*args, "--confusion", str(tmp_path / "c.png")]) == 2
    assert "pip install 'gesturekit[train]'" in capsys.readouterr().err and not out.exists()


def _args(source, out, **kw):
    base = dict(source=str(source), label="fist", out=str(out), max_samples=100, every=1, all_hands=False)
    return types.SimpleNamespace(**{**base, **kw})


def test_record_follows_a_video_as_a_stream(tmp_path, make_hand, capsys):
    # each video frame was read on its own in static mode (no timestamp: detector on every
    # frame, no track), and --every skipped frames before the tracker, so nothing was followed
    clip = write_clip(tmp_path / "clip.avi", n=10)
    tracker = FakeTracker(make_hand("fist"))
    assert _record(_args(clip, tmp_path / "rec.csv", every=3), tracker=tracker) == 0
    assert tracker.frames == 10                                  # every frame tracked ...
    ts = tracker.timestamps
    assert None not in ts and np.allclose(np.diff(ts), 1000 / 30)   # ... in video mode
    s = read_samples(tmp_path / "rec.csv")                       # ... the hands of 0, 3, 6, 9 kept
    np.testing.assert_allclose(s.keypoints[:, 0] - make_hand("fist")[0], [[k, k] for k in (1, 4, 7, 10)],
                               atol=0.01)
    assert "from 10 frame(s) (one in 3 recorded)" in capsys.readouterr().out


def test_record_reads_an_image_folder_through_sources(tmp_path, make_hand, capsys):
    # its own folder reader knew fewer image types (.tif refused: "no images") than open_source
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(3):
        cv2.imwrite(str(folder / f"{i}.tif"), np.zeros((48, 64, 3), np.uint8))
    (folder / "1b.png").write_bytes(b"not an image")
    tracker = FakeTracker(make_hand("fist"))
    assert _record(_args(folder, tmp_path / "rec.csv"), tracker=tracker) == 0
    assert tracker.timestamps == [None] * 3 and len(read_samples(tmp_path / "rec.csv")) == 3   # static mode
    assert "1b.png: cannot decode image, skipped" in capsys.readouterr().err


def test_record_names_a_missing_or_unusable_source(tmp_path, capsys):
    out = tmp_path / "rec.csv"
    (tmp_path / "notes.txt").write_text("not a video")
    (tmp_path / "empty").mkdir()
    for source, msg in ((tmp_path / "nope.mp4", "nope.mp4: no such file or folder"),
                        (tmp_path / "notes.txt", "notes.txt: cannot open"),
                        (tmp_path / "empty", "empty: no images")):
        assert main(["record", "--source", str(source), "--label", "fist", "--out", str(out)]) == 2
        assert msg in capsys.readouterr().err
    assert not out.exists()   # the source is checked before the recording file is made


def test_ctrl_c_while_recording_keeps_the_rows_and_says_so(tmp_path, make_hand, capsys):
    # Ctrl+C ended with a traceback and no summary (the rows were kept, but nothing said how many)
    clip = write_clip(tmp_path / "clip.avi", n=10)
    tracker = FakeTracker(make_hand("fist"), interrupt_at=4)
    try:
        rc = _record(_args(clip, tmp_path / "rec.csv"), tracker=tracker)
    except KeyboardInterrupt:   # caught here, or it would stop the whole test session
        pytest.fail("Ctrl+C escaped `record` with a traceback")
    assert rc == 130
    assert "stopped by Ctrl+C; recorded 4 sample(s)" in capsys.readouterr().out
    assert len(read_samples(tmp_path / "rec.csv")) == 4
    assert (tmp_path / "rec.csv").read_bytes().endswith(b"\n")


def test_a_camera_lost_mid_recording_keeps_the_rows(tmp_path, make_hand, monkeypatch, capsys):
    from gesturekit import sources

    def unplugged():
        for _ in range(3):
            yield np.zeros((48, 64, 3), np.uint8)
        raise sources.SourceError("camera 0: stopped delivering frames after 3")

    monkeypatch.setattr(sources, "open_source",
                        lambda s, **kw: s if isinstance(s, sources.FrameSource) else sources.ArraySource(unplugged()))
    tracker = FakeTracker(make_hand("fist"))
    with pytest.raises(sources.SourceError, match="stopped delivering"):
        _record(_args("0", tmp_path / "rec.csv"), tracker=tracker)
    assert "stopped by an error; recorded 3 sample(s) of 'fist' from 3 frame(s)" in capsys.readouterr().out
    assert len(read_samples(tmp_path / "rec.csv")) == 3


def test_record_follows_a_real_clip(shared_data, tmp_path):
    # the real tracker on a real clip: followed from its keypoints, so the detector does not
    # run on every frame, and the hand (in every frame of this clip) is recorded on each
    from gesturekit import HandTracker

    with HandTracker() as tracker:
        args = _args(shared_data / "videos" / "ali_hand.mp4", tmp_path / "rec.csv", max_samples=20)
        assert _record(args, tracker=tracker) == 0
        assert tracker.stats["frames"] == 20 and tracker.stats["detector_runs"] < 10
    assert len(read_samples(tmp_path / "rec.csv")) == 20
