"""The example windows run offscreen on scripted frames, save a screenshot, exit cleanly."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def load(name):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def read_png(path):
    import cv2
    img = cv2.imread(str(path))
    assert img is not None, f"{path} is not a PNG"
    return img


def test_virtual_mouse_screenshot(qapp, tmp_path, capsys):
    from qt_fakes import ScriptedTracker

    vm = load("virtual_mouse")
    shot = tmp_path / "virtual_mouse.png"
    tracker = ScriptedTracker(48)
    rc = vm.main(["--dry-run", "--screenshot", str(shot), "--frames", "48"], tracker=tracker, source="scripted")
    tracker.close()
    out = capsys.readouterr().out
    assert rc == 0
    assert f"saved {shot} after 48 frames" in out
    # The scripted pinch (frames 12-35) pressed and released once, through the real event path.
    assert out.count("[dry-run] press left") == 1 and out.count("[dry-run] release left") == 1
    assert out.index("press left") < out.index("release left")
    img = read_png(shot)
    assert img.shape[0] >= 400 and img.shape[1] >= 800
    # The active region outline (running = green) is drawn on the video.
    green = np.all(np.abs(img.astype(int) - (80, 200, 80)) < 10, axis=2)
    assert green.sum() > 500


def test_virtual_mouse_view_of_a_hand_without_pointer_point():
    from qt_fakes import ScriptedTracker

    from gesturekit.control import ControlConfig, DesktopController, DryRunBackend

    vm = load("virtual_mouse")
    tracker = ScriptedTracker(1)
    hands = tracker.hands_at(0)
    hands[0].keypoints[5] = np.nan      # the index MCP, the default pointer point
    ctl = DesktopController(ControlConfig(dry_run=True), DryRunBackend(echo=False))
    ctl.update(hands)
    # raised in the GUI thread's slot, which aborts a PyQt6 app
    view = vm.draw_view(tracker.frame_at(0), hands, ctl)
    assert view.shape == (480, 640, 3)
    ctl.close()
    tracker.close()


def test_gesture_viewer_records_trains_and_screenshots(qapp, tmp_path, capsys):
    from qt_fakes import ScriptedTracker

    from gesturekit.gestures.samples import SampleRecorder, read_samples

    gv = load("gesture_viewer")
    tracker = ScriptedTracker(60)
    samples = tmp_path / "samples.csv"
    with SampleRecorder(samples) as rec:     # a second class recorded earlier
        for i in range(40):
            kp = tracker.hands_at(i)[0].keypoints.copy()
            kp[5:9] = kp[0] + (kp[5:9] - kp[0]) * 0.3    # index finger folded
            rec.add("fold", kp, "right")
    shot = tmp_path / "gesture_viewer.png"
    rc = gv.main(["--screenshot", str(shot), "--frames", "60", "--samples", str(samples),
                  "--record", "flat", "--train", "--epochs", "30"], tracker=tracker, source="scripted")
    tracker.close()
    out = capsys.readouterr().out
    assert rc == 0, out
    s = read_samples(samples)
    assert (s.labels == "flat").sum() == 60 and (s.labels == "fold").sum() == 40
    assert "trained ['flat', 'fold']" in out
    assert (tmp_path / "samples.npz").exists()
    # The tracker now recognises the new labels.
    assert set(tracker.recognizer.labels) >= {"flat", "fold"}
    assert read_png(shot).shape[1] >= 800


def run_example(name, *args, env_extra=None, drop=()):
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(env_extra or {})
    return subprocess.run([sys.executable, str(EXAMPLES / f"{name}.py"), *args], check=False, capture_output=True,
                          text=True, timeout=60, env=env, cwd=ROOT)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="display detection is X11/Wayland")
@pytest.mark.parametrize("name", ["virtual_mouse", "gesture_viewer"])
def test_no_display_exits_cleanly(name):
    r = run_example(name, drop=("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"))
    assert r.returncode == 2 and "no display" in r.stderr


@pytest.mark.parametrize("name", ["virtual_mouse", "gesture_viewer"])
def test_missing_source_exits_cleanly(name, tmp_path):
    r = run_example(name, "--source", str(tmp_path / "nope.mp4"), "--dry-run" if name == "virtual_mouse" else "--mirror",
                    env_extra={"QT_QPA_PLATFORM": "offscreen"})
    assert r.returncode == 1 and "nope.mp4" in r.stderr, r.stderr
