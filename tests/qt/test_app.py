"""gesturekit.qt.app: the plumbing the example apps share (no Qt needed)."""

from __future__ import annotations

import argparse

import cv2
import numpy as np
import pytest

from gesturekit.qt import app


def test_screenshot_alone_runs_30_frames_and_zero_frames_is_refused():
    args = app.parse_app_args(argparse.ArgumentParser(), ["--screenshot", "shot.png"])
    assert (args.source, args.frames) == ("0", 30)
    with pytest.raises(SystemExit):
        app.parse_app_args(argparse.ArgumentParser(), ["--frames", "0"])


def test_an_empty_source_is_refused(capsys):
    with pytest.raises(SystemExit):
        app.parse_app_args(argparse.ArgumentParser(), ["--source", ""])
    assert "--source: empty" in capsys.readouterr().err


def test_no_display_says_so_and_gives_2(monkeypatch, capsys):
    for k in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setattr(app.sys, "platform", "linux")
    args = argparse.Namespace(screenshot=None)
    assert app.prepare_display(args, "demo") == 2
    assert "demo: no display" in capsys.readouterr().err
    args.screenshot = "shot.png"            # a screenshot renders offscreen instead
    assert app.prepare_display(args, "demo") == 0


def test_a_bad_source_names_itself(tmp_path):
    with pytest.raises(app.AppError, match="nope.mp4"):
        app.open_stream(str(tmp_path / "nope.mp4"))


def test_a_tracker_that_cannot_start_closes_the_source_it_was_given_to(tmp_path, monkeypatch):
    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((8, 8, 3), np.uint8))
    closed = []
    import gesturekit
    import gesturekit.sources as sources

    opened = sources.open_source(str(tmp_path))
    monkeypatch.setattr(opened, "close", lambda: closed.append(True))
    monkeypatch.setattr(sources, "open_source", lambda s: opened)

    def broken(*a, **k):
        raise ValueError("models/keypoints.onnx: truncated")

    monkeypatch.setattr(gesturekit, "HandTracker", broken)
    with pytest.raises(app.AppError, match="truncated"):
        app.open_stream(str(tmp_path))
    assert closed == [True]


def test_an_injected_tracker_is_not_ours_to_close():
    tracker = object()
    source, got, own = app.open_stream("ignored", tracker=tracker, source=[np.zeros((4, 4, 3), np.uint8)])
    assert got is tracker and own is False


def test_a_screenshot_renders_offscreen_even_with_a_display(monkeypatch):
    # --help says "offscreen"; with DISPLAY set the window opened on the desktop, and where the
    # xcb plugin cannot load (no libxcb-cursor0) Qt aborted the process before the first frame
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    assert app.prepare_display(argparse.Namespace(screenshot="shot.png"), "demo") == 0
    assert app.os.environ["QT_QPA_PLATFORM"] == "offscreen"
    monkeypatch.setenv("QT_QPA_PLATFORM", "minimal")     # a platform the user chose stays
    assert app.prepare_display(argparse.Namespace(screenshot="shot.png"), "demo") == 0
    assert app.os.environ["QT_QPA_PLATFORM"] == "minimal"


def test_a_video_that_cannot_be_read_is_named_before_the_window_opens(tmp_path):
    # It opened lazily: the window came up, then showed "no video" and an error box
    bad = tmp_path / "clip.mp4"
    bad.write_text("not a video")
    with pytest.raises(app.AppError, match="clip.mp4"):
        app.open_stream(str(bad), tracker=object())


def test_run_window_reports_a_failed_stream_and_closes_a_batch_run(qapp, tmp_path, capsys):
    from PyQt6.QtWidgets import QWidget

    from gesturekit.qt import TrackerWorker

    class Broken:
        def stream(self, source):
            yield np.zeros((8, 8, 3), np.uint8), []
            raise OSError("camera unplugged")

    win, shown, ended = QWidget(), [], []
    worker = TrackerWorker(Broken(), "cam")
    shot = tmp_path / "shot.png"
    rc = app.run_window(qapp, win, worker, "demo", screenshot=shot, on_failed=shown.append,
                        on_done=ended.append)
    assert rc == 1 and shown == ["OSError: camera unplugged"] and ended == [1]
    assert "demo: OSError: camera unplugged" in capsys.readouterr().err
    assert shot.exists() and not win.isVisible()
    assert worker.stop(2000)


def test_a_screenshot_that_cannot_be_saved_is_an_error_message_not_an_exception(qapp, tmp_path):
    # raised inside the batch run's finish slot, it left the app waiting for ever
    from PyQt6.QtWidgets import QWidget

    from gesturekit.qt.app import save_screenshot

    (tmp_path / "afile").write_text("")
    err = save_screenshot(QWidget(), tmp_path / "afile" / "shot.png", 3)
    assert err is not None and "cannot write" in err
