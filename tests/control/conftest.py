"""Fixtures for the control tests: a private Xvfb display and scripted hands."""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import numpy as np
import pytest

from gesturekit.layouts import HAND_21
from gesturekit.types import Hand, Hands


def start_xvfb(*args: str) -> tuple[subprocess.Popen, str]:
    """Start ``Xvfb`` (extra ``args``) on a free display: (process, display name).

    Skips when Xvfb or xdotool is missing (``apt-get install -y xvfb xdotool``).
    """
    for tool in ("Xvfb", "xdotool"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} not installed (apt-get install -y xvfb xdotool)")
    r, w = os.pipe()
    # -displayfd: Xvfb picks a free display number and writes it to the pipe.
    # -noreset: like a desktop, whose window manager never leaves, the server keeps its state
    # when its last client goes (a reset would also let go of a button a dead client held, and
    # drop a client that connects while it runs).
    proc = subprocess.Popen(["Xvfb", "-displayfd", str(w), "-screen", "0", "1280x800x24",
                             "-nolisten", "tcp", "-noreset", *args], pass_fds=(w,),
                            stderr=subprocess.DEVNULL)
    os.close(w)
    num = b""
    deadline = time.monotonic() + 10
    while not num.endswith(b"\n") and time.monotonic() < deadline:
        chunk = os.read(r, 16)
        if not chunk:
            break
        num += chunk
    os.close(r)
    if not num.strip():
        proc.kill()
        pytest.skip("Xvfb did not start")
    return proc, f":{int(num)}"


def stop_xvfb(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="session")
def xvfb():
    """A private Xvfb for the session with DISPLAY set to it; yields the display name."""
    proc, display = start_xvfb()
    old = os.environ.get("DISPLAY")
    os.environ["DISPLAY"] = display
    try:
        yield display
    finally:
        if old is None:
            os.environ.pop("DISPLAY", None)
        else:
            os.environ["DISPLAY"] = old
        stop_xvfb(proc)


@pytest.fixture
def xvfb_without_record(xvfb):
    """A second Xvfb without the RECORD extension, which pynput's listeners need; yields its name."""
    proc, display = start_xvfb("-extension", "RECORD")
    try:
        yield display
    finally:
        stop_xvfb(proc)


@pytest.fixture
def mouse_location(xvfb):
    """A function returning the X pointer as ``xdotool getmouselocation`` reports it."""

    def read() -> tuple[int, int]:
        out = subprocess.run(["xdotool", "getmouselocation"], capture_output=True, text=True,
                             check=True, env={**os.environ, "DISPLAY": xvfb}).stdout
        d = dict(kv.split(":") for kv in out.split())
        return int(d["x"]), int(d["y"])

    return read


@pytest.fixture
def make_hands():
    """``make_hands([(u, v, track, handedness), ...], t_ms)``: a Hands whose pointer points
    (wrist, index MCP, index tip, every point) sit at normalised (u, v) of a 640×480 frame."""

    def make(points, t_ms=None, size=(640, 480), gesture=None):
        w, h = size
        hands = []
        for p in points:
            u, v = p[0], p[1]
            tid = p[2] if len(p) > 2 else 1
            side = p[3] if len(p) > 3 else None
            kp = np.tile(np.array([[u * w, v * h]], np.float32), (HAND_21.num_points, 1))
            hands.append(Hand(keypoints=kp, confidence=np.ones(21, np.float32),
                              box=np.array([u * w - 40, v * h - 40, u * w + 40, v * h + 40],
                                           np.float32),
                              score=0.9, image_size=size, handedness=side, track_id=tid,
                              gesture=gesture))
        return Hands(hands=hands, image_size=size, timestamp_ms=t_ms)

    return make
