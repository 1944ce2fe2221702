import json
import re
from dataclasses import dataclass

import cv2
import numpy as np
import pytest
from fakes import write_clip

from gesturekit.cli import main
from gesturekit.cli import predict as cli_predict
from gesturekit.layouts import HAND_21
from gesturekit.tracker import HandTracker, TrackerOptions


@dataclass
class _Dets:
    boxes: np.ndarray
    scores: np.ndarray
    angles: np.ndarray


class _Det:
    def detect(self, frame):
        h, w = frame.shape[:2]
        return _Dets(np.array([[w * 0.25, h * 0.25, w * 0.75, h * 0.75]], np.float32), np.array([0.9], np.float32),
                     np.array([np.nan]))


class _Reg:
    layout = HAND_21

    def predict(self, frame, crops):
        kp = np.stack([np.stack([np.linspace(c.cx - c.size / 4, c.cx + c.size / 4, 21),
                                 np.linspace(c.cy + c.size / 4, c.cy - c.size / 4, 21)], 1) for c in crops])
        return kp.astype(np.float32), np.full(kp.shape[:2], 0.9, np.float32)


@pytest.fixture
def fake_tracker(monkeypatch):
    def make(args, **extra):
        return HandTracker(TrackerOptions(max_hands=args.max_hands, **extra), detector=_Det(), regressor=_Reg())

    monkeypatch.setattr(cli_predict, "_make_tracker", make)


def test_predict_writes_json_for_every_image(tmp_path, fake_tracker, capsys):
    (tmp_path / "imgs" / "sub").mkdir(parents=True)
    cv2.imwrite(str(tmp_path / "imgs" / "a.png"), np.zeros((60, 80, 3), np.uint8))
    cv2.imwrite(str(tmp_path / "imgs" / "sub" / "b.jpg"), np.zeros((40, 40, 3), np.uint8))
    out = tmp_path / "preds.json"
    assert main(["predict", str(tmp_path / "imgs"), "--out", str(out)]) == 0
    d = json.loads(out.read_text())
    assert [r["image"] for r in d["images"]] == ["a.png", "sub/b.jpg"]
    assert d["points"][0] == "wrist" and len(d["points"]) == 21   # names the keypoints' order
    hand = d["images"][0]["hands"][0]
    assert len(hand["keypoints"]) == 21 and len(hand["bbox"]) == 4
    assert set(hand) >= {"keypoints", "score", "handedness", "bbox", "gesture", "gesture_score"}
    assert "2 images" in capsys.readouterr().out


def test_predict_leaves_hidden_files_out(tmp_path, fake_tracker, capsys):
    """macOS ``._x.jpg`` copies and ``.thumbs/`` are not photos: no warning, not in the JSON."""
    (tmp_path / "imgs" / ".thumbs").mkdir(parents=True)
    cv2.imwrite(str(tmp_path / "imgs" / "a.png"), np.zeros((60, 80, 3), np.uint8))
    (tmp_path / "imgs" / "._a.png").write_bytes(b"\x00\x05\x16\x07 AppleDouble")
    cv2.imwrite(str(tmp_path / "imgs" / ".thumbs" / "a.png"), np.zeros((8, 8, 3), np.uint8))
    out = tmp_path / "preds.json"
    assert main(["predict", str(tmp_path / "imgs"), "--out", str(out)]) == 0
    assert [r["image"] for r in json.loads(out.read_text())["images"]] == ["a.png"]
    assert "warning" not in capsys.readouterr().err


def test_track_reports_stats_and_writes_outputs(tmp_path, fake_tracker, capsys):
    video = write_clip(tmp_path / "v.avi", 9, fps=30.0, start=0, step=0)
    js = tmp_path / "frames.json"
    assert main(["track", str(video), "--json", str(js), "--out", str(tmp_path / "a.mp4")]) == 0
    stats = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert stats["frames"] == 9 and stats["share_with_hand"] == 1.0 and stats["ms_per_frame_median"] > 0
    assert len(json.loads(js.read_text())["frames"]) == 9
    assert (tmp_path / "a.mp4").stat().st_size > 0


def test_missing_input_is_a_clear_error(tmp_path, fake_tracker, capsys):
    assert main(["predict", str(tmp_path / "nope"), "--out", str(tmp_path / "p.json")]) == 2
    assert "nope: no such image or folder" in capsys.readouterr().err


def test_track_missing_video_is_a_clear_error(tmp_path, fake_tracker, capsys):
    assert main(["track", str(tmp_path / "gone.mp4")]) == 2
    assert "gone.mp4: no such file" in capsys.readouterr().err


def test_eval_pipeline_scores_an_oracle_perfectly(shared_data):
    from gesturekit.geometry import box_of
    from gesturekit.io import read_yolo_pose

    val = shared_data / "hands26k" / "val"
    samples = read_yolo_pose(val, sizes=(224, 224))
    pick = sorted(np.random.default_rng(0).permutation(len(samples))[:6])   # evaluate_pipeline's subset
    truth = {samples[i].image: samples[i].keypoints[0] for i in pick}
    order = iter(sorted(truth))

    class LabelDet:   # the label box, as a detector would give it
        def detect(self, frame):
            self.kp = truth[next(order)]
            return _Dets(box_of(self.kp)[None], np.array([0.9], np.float32), np.array([np.nan]))

    det = LabelDet()

    class Oracle:
        layout = HAND_21

        def predict(self, frame, crops):
            return np.repeat(det.kp[None], len(crops), 0), np.full((len(crops), 21), 0.9, np.float32)

    tr = HandTracker(TrackerOptions(max_hands=1), detector=det, regressor=Oracle())
    res = cli_predict.evaluate_pipeline(tr, val, limit=6, sizes=(224, 224))
    assert res["images"] == 6 and res["found@iou0.5"] == 1.0 and res["pck@0.1"] == 1.0


def test_pipeline_scores_any_readers_points_alike():
    """``eval pipeline``'s scoring, used on MediaPipe's points too: a missed hand scores 0, a reading
    must overlap the label at IoU ≥ 0.5, and PCK@0.1 counts labelled points only."""
    from pathlib import Path

    from gesturekit.io import Sample

    rng = np.random.default_rng(0)
    hand = rng.uniform(100, 200, (21, 2)).astype(np.float32)   # a ~100 px hand
    vis = np.ones((1, 21), bool)
    samples = [Sample(Path(f"{i}.jpg"), 320, 240, keypoints=hand[None].copy(), visible=vis.copy()) for i in range(4)]
    samples[3].visible[0, :10] = False          # unlabelled points carry no score...
    near = hand.copy()
    near[:5] += 30                              # 5 of 21 points off by 42 px > 0.1 × ~100 px
    far = hand + 80                             # the same shape, mostly off the label's box
    readings = [[hand], [far, near], [], [near]]
    res = cli_predict.pipeline_scores(samples, readings)
    assert res["hands"] == 4 and res["found@iou0.5"] == 0.75
    assert res["pck@0.1_found"] == pytest.approx((1 + 16 / 21 + 1) / 3)   # ...so the 4th is perfect
    assert res["pck@0.1"] == pytest.approx((1 + 16 / 21 + 0 + 1) / 4)
    with pytest.raises(ValueError, match="4 samples but 3 readings"):
        cli_predict.pipeline_scores(samples, readings[:3])
    with pytest.raises(ValueError, match=r"0\.jpg: the model reads 12 points, the labels have 21"):
        cli_predict.pipeline_scores(samples[:1], [[hand[:12]]])   # a model of another layout


def test_tracker_flags_reach_the_options():
    import argparse

    args = argparse.ArgumentParser()
    cli_predict._tracker_args(args)
    ns = args.parse_args(["--static-tiles", "1", "--acquire-rotations", "2", "--min-presence-confidence", "0.3",
                          "--flip-test", "--clutter-every", "1"])
    o = cli_predict._make_tracker(ns).options
    assert (o.static_tiles, o.acquire_rotations, o.min_presence_confidence, o.flip_test, o.clutter_every) == \
        (1, 2, 0.3, True, 1)
    o = cli_predict._make_tracker(args.parse_args([])).options
    d = TrackerOptions()
    assert (o.static_tiles, o.flip_test, o.clutter_every) == (d.static_tiles, d.flip_test, d.clutter_every)


def test_track_writes_the_video_at_the_source_frame_rate(tmp_path, fake_tracker):
    video = write_clip(tmp_path / "v.avi", 4, fps=15.0, start=0, step=0)
    out = tmp_path / "a.mp4"
    assert main(["track", str(video), "--out", str(out)]) == 0
    assert cv2.VideoCapture(str(out)).get(cv2.CAP_PROP_FPS) == pytest.approx(15.0)   # was always 30


def test_predict_json_is_rounded_and_a_folder_named_like_an_image_is_not_an_image(tmp_path, fake_tracker, capsys):
    (tmp_path / "imgs" / "album.jpg").mkdir(parents=True)
    cv2.imwrite(str(tmp_path / "imgs" / "a.png"), np.zeros((61, 83, 3), np.uint8))
    out = tmp_path / "preds.json"
    assert main(["predict", str(tmp_path / "imgs"), "--out", str(out)]) == 0
    assert "1 images (0 unreadable)" in capsys.readouterr().out
    hand = json.loads(out.read_text())["images"][0]["hands"][0]
    assert all(v == round(v, 2) for v in [c for p in hand["keypoints"] for c in p] + hand["bbox"])


def test_an_unwritable_output_is_a_clear_error_not_a_traceback(tmp_path, fake_tracker, capsys):
    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((40, 40, 3), np.uint8))
    (tmp_path / "taken").mkdir()
    assert main(["predict", str(tmp_path / "a.png"), "--out", str(tmp_path / "taken")]) == 2
    assert "gesturekit: error:" in capsys.readouterr().err


def test_ctrl_c_ends_a_camera_run_and_keeps_what_was_tracked(tmp_path, monkeypatch, capsys):
    """``gesturekit track 0 --out cam.mp4 --json f.json``: Ctrl+C is the only way to stop a camera;
    it used to end in a traceback with no JSON and no stats."""
    def make(args, **extra):
        tr = HandTracker(TrackerOptions(max_hands=args.max_hands, **extra), detector=_Det(), regressor=_Reg())
        real, calls = tr.process, []

        def process(frame, timestamp_ms=None):
            calls.append(timestamp_ms)
            if len(calls) == 4:   # the user presses Ctrl+C during the 4th frame
                raise KeyboardInterrupt
            return real(frame, timestamp_ms)

        tr.process = process
        return tr

    monkeypatch.setattr(cli_predict, "_make_tracker", make)
    video = write_clip(tmp_path / "v.avi", 9, fps=30.0, start=0, step=0)
    js, out = tmp_path / "frames.json", tmp_path / "a.mp4"
    assert main(["track", str(video), "--json", str(js), "--out", str(out)]) == 130
    printed, err = capsys.readouterr()
    assert json.loads(printed.strip().splitlines()[-1])["frames"] == 3 and "Ctrl+C" in err
    assert len(json.loads(js.read_text())["frames"]) == 3
    assert cv2.VideoCapture(str(out)).get(cv2.CAP_PROP_FRAME_COUNT) == 3


@pytest.mark.parametrize("flags, problem", [
    (["--out", "{video}"], "--out: .* is the input video"),
    (["--json", "{video}"], "--json: .* is the input video"),
    (["--out", "{tmp}/x.mp4", "--json", "{tmp}/x.mp4"], "--out and --json: both"),
    (["--limit", "0"], "--limit: 0 must be >= 1"),
    (["--json", "{video}/f.json"], "--json: cannot write"),   # a file where a folder should be
])
def test_track_refuses_outputs_that_would_destroy_or_lose_work(tmp_path, fake_tracker, capsys, flags, problem):
    video = write_clip(tmp_path / "v.avi", 3, fps=30.0, start=0, step=0)
    before = video.read_bytes()
    args = [f.format(video=video, tmp=tmp_path) for f in flags]
    assert main(["track", str(video), *args]) == 2
    assert re.search(problem, capsys.readouterr().err)
    assert video.read_bytes() == before


def test_track_keeps_its_json_when_the_source_fails_and_every_frame_when_sizes_change(tmp_path, fake_tracker, capsys):
    (tmp_path / "imgs").mkdir()
    for i, size in enumerate([(48, 64), (48, 64), (60, 90), (48, 64)]):
        cv2.imwrite(str(tmp_path / "imgs" / f"f{i}.png"), np.zeros((*size, 3), np.uint8))
    js, out = tmp_path / "f.json", tmp_path / "a.mp4"
    assert main(["track", str(tmp_path / "imgs"), "--json", str(js), "--out", str(out)]) == 0
    assert cv2.VideoCapture(str(out)).get(cv2.CAP_PROP_FRAME_COUNT) == 4   # the odd size resized, not dropped
    (tmp_path / "imgs" / "f9.png").write_bytes(b"not an image")           # the source fails at its end
    assert main(["track", str(tmp_path / "imgs"), "--json", str(js)]) == 2
    assert len(json.loads(js.read_text())["frames"]) == 4
