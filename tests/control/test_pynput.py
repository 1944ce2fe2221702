"""The real OS path: pynput under a private Xvfb, read back with xdotool and an X listener."""

import os
import subprocess
import threading
import time

import pytest

from gesturekit.control import (
    ControlConfig,
    ControlUnavailableError,
    DesktopController,
    PynputBackend,
)
from gesturekit.control.config import MouseConfig, SafetyConfig, SmoothingConfig
from gesturekit.control.controller import stop_listener
from gesturekit.events import GestureEvent


def ev(kind, gesture=None, tid=1):
    return GestureEvent(kind=kind, gesture=gesture, track_id=tid, handedness="right",
                        timestamp_ms=0.0)


def config(hotkey=None):
    return ControlConfig(
        mouse=MouseConfig(region=(0, 0, 1, 1), acceleration=0.0,
                          smoothing=SmoothingConfig(min_cutoff=1e6)),
        safety=SafetyConfig(stop_hotkey=hotkey), mirrored=False)


class ButtonLog:
    """Button events as the X server delivers them (pynput's XRecord listener)."""

    def __init__(self):
        from pynput import mouse
        self.events = []
        self.lock = threading.Lock()
        self.listener = mouse.Listener(on_click=self._click)
        self.listener.start()
        self.listener.wait()

    def _click(self, x, y, button, pressed):
        with self.lock:
            self.events.append((button.name, pressed))

    def settle(self, n, timeout=2.0):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self.lock:
                if len(self.events) >= n:
                    break
            time.sleep(0.01)
        time.sleep(0.05)
        return list(self.events)

    def stop(self):
        stop_listener(self.listener)
        assert not self.listener.is_alive()


def test_no_display_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    with pytest.raises(ControlUnavailableError, match="DISPLAY is not set.*dry_run"):
        PynputBackend()


def test_pointer_moves_where_the_hand_points(xvfb, make_hands, mouse_location):
    be = PynputBackend()
    assert be.screen_bounds() == (0, 0, 1280, 800)
    with DesktopController(config(), be, hotkey=False) as ctl:
        for t, (u, v) in enumerate([(0.25, 0.5), (0.5, 0.25), (0.75, 0.75)]):
            ctl.mouse.lost()
            xy = ctl.update(make_hands([(u, v, 1, "right")], t * 33))
            assert mouse_location() == xy == (round(u * 1279), round(v * 799))


def test_scripted_pinch_one_press_one_release(xvfb, make_hands, mouse_location):
    log = ButtonLog()
    try:
        with DesktopController(config(), PynputBackend(), hotkey=False) as ctl:
            ctl.update(make_hands([(0.5, 0.5, 1, "right")], 0))
            ctl.handle(ev("started", "pinch"))
            for i, u in enumerate((0.55, 0.6, 0.65)):
                ctl.update(make_hands([(u, 0.5, 1, "right")], 33 * (i + 1)))
            assert mouse_location() == (round(0.65 * 1279), round(0.5 * 799))
            ctl.handle(ev("held", "pinch"))
            ctl.handle(ev("ended", "pinch"))
        assert log.settle(2) == [("left", True), ("left", False)]
    finally:
        log.stop()


def test_hand_lost_mid_drag_releases_button(xvfb, make_hands, mouse_location):
    log = ButtonLog()
    try:
        ctl = DesktopController(config(), PynputBackend(), hotkey=False)
        ctl.update(make_hands([(0.5, 0.5, 1, "right")], 0))
        ctl.handle(ev("started", "pinch"))
        ctl.update(make_hands([(0.6, 0.5, 1, "right")], 33))
        ctl.update(make_hands([], 66))
        assert log.settle(2) == [("left", True), ("left", False)]
        ctl.close()
        assert log.settle(3, timeout=0.3) == [("left", True), ("left", False)]
    finally:
        log.stop()


def test_stop_hotkey_stops_control(xvfb, make_hands, mouse_location):
    log = ButtonLog()
    try:
        ctl = DesktopController(config(hotkey="<ctrl>+<alt>+g"), PynputBackend())
        ctl.update(make_hands([(0.5, 0.5, 1, "right")], 0))
        ctl.handle(ev("started", "pinch"))
        subprocess.run(["xdotool", "key", "ctrl+alt+g"], check=True,
                       env={**os.environ, "DISPLAY": xvfb})
        end = time.monotonic() + 3
        while ctl.state != "stopped" and time.monotonic() < end:
            time.sleep(0.02)
        assert ctl.state == "stopped"
        assert log.settle(2) == [("left", True), ("left", False)]
        before = mouse_location()
        ctl.update(make_hands([(0.1, 0.1, 1, "right")], 100))
        assert mouse_location() == before
        ctl.close()
    finally:
        log.stop()


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")  # pynput's thread
def test_stop_hotkey_without_record_extension_fails_clearly(xvfb_without_record, monkeypatch):
    from gesturekit.control import StopHotkey

    monkeypatch.setenv("DISPLAY", xvfb_without_record)
    result = []

    def make():
        try:
            StopHotkey("<ctrl>+<alt>+g", lambda: None)
        except ControlUnavailableError as e:
            result.append(e)

    # pynput's listener thread dies there and its wait() blocked for ever (the app never started)
    t = threading.Thread(target=make, daemon=True)
    t.start()
    t.join(15)
    assert not t.is_alive(), "StopHotkey hangs"
    assert result and "stop_hotkey" in str(result[0])


def test_missing_pynput_names_the_extra(monkeypatch):
    import sys
    monkeypatch.setenv("DISPLAY", ":12345")
    monkeypatch.setitem(sys.modules, "pynput", None)
    with pytest.raises(ImportError, match=r"pip install 'gesturekit\[control\]'"):
        PynputBackend()
