"""A process that dies mid-drag must not leave the X button down: the ButtonGuard watchdog.

Each test runs a child python that presses the left button through DesktopController and
PynputBackend on a private Xvfb, then kills it (or lets it end) and reads the button state
back from the X server (``query_pointer().mask``).
"""

import logging
import os
import signal
import subprocess
import sys
import time

import pytest

from gesturekit.control import guard as guard_mod
from gesturekit.control.guard import ButtonGuard

# argv: guard (1/0), then "hold" (press and wait), "release" (press, release, exit without
# close) or "fork" (press, fork a process that outlives this one, print its pid, wait)
CHILD = r"""
import os, signal, sys, time
# Ctrl+C as a terminal delivers it: a job started in the background by a non-interactive shell (CI)
# inherits SIGINT ignored, and Python then installs no KeyboardInterrupt handler
signal.signal(signal.SIGINT, signal.default_int_handler)
from gesturekit.control import ControlConfig, DesktopController, PynputBackend
from gesturekit.control.config import SafetyConfig
from gesturekit.events import GestureEvent

def ev(kind):
    return GestureEvent(kind=kind, gesture="pinch", track_id=1, handedness="right", timestamp_ms=0.0)

be = PynputBackend(guard=sys.argv[1] == "1")
ctl = DesktopController(ControlConfig(safety=SafetyConfig(stop_hotkey=None)), be, hotkey=False)
ctl.handle(ev("started"))                    # the pinch starts: left button down
assert ctl.mouse.pressed == {"left"}
print(be.guard.pid if be.guard is not None else 0, flush=True)
if sys.argv[2] == "release":
    ctl.handle(ev("ended"))
    sys.exit(0)                              # no close(): the pipe ends with the process
if sys.argv[2] == "fork":                    # e.g. a multiprocessing helper (fork start)
    pid = os.fork()
    if pid == 0:
        time.sleep(30)
        os._exit(0)
    print(pid, flush=True)
time.sleep(60)                               # mid-drag, until killed
"""


class Desktop:
    """One X connection held for the whole test, as a real desktop's window manager holds one.

    An Xvfb without ``-noreset`` resets, and so lets go of every button, when its last client
    leaves: then a killed process would seem to release its button by itself.
    """

    def __init__(self, display: str):
        from Xlib import display as xdisplay

        self.display = display
        self._d = xdisplay.Display(display)

    def button1_down(self) -> bool:
        from Xlib import X

        return bool(self._d.screen().root.query_pointer().mask & X.Button1Mask)

    def close(self) -> None:
        if self.button1_down():   # a failed test must not leave the button down for the next ones
            subprocess.run(["xdotool", "mouseup", "1"], env={**os.environ, "DISPLAY": self.display})
        self._d.close()


@pytest.fixture
def desktop(xvfb):
    d = Desktop(xvfb)
    try:
        yield d
    finally:
        d.close()


def wait_for(pred, timeout=3.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.02)
    return pred()


def alive(pid: int) -> bool:
    """Running, not a zombie (PID 1 in a container may never reap an orphan)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False


def start_child(xvfb, guard: bool, mode: str = "hold") -> tuple[subprocess.Popen, int]:
    env = {**os.environ, "DISPLAY": xvfb}
    proc = subprocess.Popen([sys.executable, "-c", CHILD, "1" if guard else "0", mode],
                            stdout=subprocess.PIPE, text=True, env=env)
    line = proc.stdout.readline()
    assert line.strip().isdigit(), f"child failed: {line!r}, rc={proc.wait(10)}"
    return proc, int(line)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_killed_mid_drag_the_guard_releases_the_button(xvfb, desktop, sig):
    proc, guard_pid = start_child(xvfb, guard=True)
    try:
        assert guard_pid and alive(guard_pid)
        assert desktop.button1_down()
        proc.send_signal(sig)                # SIGKILL: nothing runs in the process; SIGTERM: no atexit
        proc.wait(5)
        assert wait_for(lambda: not desktop.button1_down()), "left button still down after the kill"
        assert wait_for(lambda: not alive(guard_pid)), "the guard outlived its work"
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_process_does_not_keep_the_guard_from_releasing(xvfb, desktop):
    # the fork inherited the pipe's write end: the guard saw no end of file while it lived
    proc, guard_pid = start_child(xvfb, guard=True, mode="fork")
    forked = int(proc.stdout.readline())
    try:
        assert desktop.button1_down()
        proc.kill()
        proc.wait(5)
        assert alive(forked)
        assert wait_for(lambda: not desktop.button1_down()), "left button down while the fork lives"
        assert wait_for(lambda: not alive(guard_pid)), "the guard outlived its work"
    finally:
        proc.kill()
        proc.wait()
        os.kill(forked, signal.SIGKILL)


def test_without_the_guard_a_kill_leaves_the_button_down(xvfb, desktop):
    # the bug the guard exists for: X keeps an XTest press of a dead client
    proc, _ = start_child(xvfb, guard=False)
    assert desktop.button1_down()
    proc.kill()
    proc.wait(5)
    time.sleep(0.5)
    assert desktop.button1_down()


def test_sigint_releases_in_process(xvfb, desktop):
    # Ctrl+C: KeyboardInterrupt, then the controller's atexit release (no guard needed)
    proc, _ = start_child(xvfb, guard=False)
    assert desktop.button1_down()
    proc.send_signal(signal.SIGINT)
    proc.wait(5)
    assert wait_for(lambda: not desktop.button1_down(), timeout=1.0)


def test_guard_exits_by_itself_after_a_normal_release(xvfb, desktop):
    proc, guard_pid = start_child(xvfb, guard=True, mode="release")
    assert proc.wait(10) == 0
    assert guard_pid and wait_for(lambda: not alive(guard_pid)), "orphaned button guard"
    assert not desktop.button1_down()


def test_close_stops_the_guard(xvfb, desktop):
    from gesturekit.control import PynputBackend

    be = PynputBackend()
    assert be.guard.pid is None              # lazy: nothing runs before the first press
    be.press("left")
    pid = be.guard.pid
    assert pid and alive(pid) and desktop.button1_down()
    be.release("left")
    be.press("left")                         # one watchdog for every press
    assert be.guard.pid == pid
    be.release("left")
    be.close()
    assert be.guard.pid is None and not alive(pid) and not desktop.button1_down()


def test_a_press_on_a_closed_backend_starts_no_guard(xvfb):
    from gesturekit.control import ControlUnavailableError, PynputBackend

    be = PynputBackend()
    be.close()
    with pytest.raises(ControlUnavailableError):
        be.press("left")
    assert be.guard.pid is None, "a watchdog started for a press that never happened"


def test_guard_that_cannot_start_only_warns(monkeypatch, caplog):
    monkeypatch.setattr(guard_mod.sys, "executable", "/nonexistent/python")
    g = ButtonGuard(display=":0")
    with caplog.at_level(logging.WARNING, logger="gesturekit.control.guard"):
        g.pressed("left")
        g.released("left")
        g.pressed("left")
    assert g.pid is None
    assert [r.message for r in caplog.records if "button guard" in r.message][:1]
    assert len(caplog.records) == 1          # warned once, then quiet
    g.close()


def test_frozen_app_does_not_start_a_second_copy_of_itself(monkeypatch, caplog):
    # PyInstaller & co.: sys.executable is the app, and would run the whole app again
    started = []
    monkeypatch.setattr(guard_mod.sys, "frozen", True, raising=False)
    monkeypatch.setattr(guard_mod.subprocess, "Popen", lambda *a, **k: started.append(a))
    g = ButtonGuard(display=":0")
    with caplog.at_level(logging.WARNING, logger="gesturekit.control.guard"):
        g.pressed("left")
        g.released("left")
    assert not started and g.pid is None
    assert len(caplog.records) == 1 and "not running" in caplog.records[0].message


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs pynput to fail without DISPLAY")
def test_guard_that_dies_only_warns(monkeypatch, caplog):
    # a watchdog that exits at once (here: no display to control) is noticed at the next message
    monkeypatch.delenv("DISPLAY", raising=False)
    g = ButtonGuard(display="")
    with caplog.at_level(logging.WARNING, logger="gesturekit.control.guard"):
        g.pressed("left")
        assert g._proc.wait(10) != 0
        g.released("left")
        g.pressed("left")
    assert g.pid is None and len(caplog.records) == 1
    assert "not running" in caplog.records[0].message
