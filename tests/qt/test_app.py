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
