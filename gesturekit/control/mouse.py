"""The OS pointer driven by a hand: mapping, smoothing, clicks, drags, scrolling.

Two halves:

* a backend (:class:`PynputBackend` for the real OS, :class:`DryRunBackend`
  that records and prints) that does single actions — move, press, release,
  scroll, key down/up — and knows the screen bounds;
* :class:`MouseController`, the per-hand state machine: the chosen hand point
  inside the active region is mapped to the bounding box of all screens,
  One-Euro filtered, accelerated; a pinch presses, pinch + move drags, the
  pinch's end releases. Whatever happens, :meth:`MouseController.release_all`
  leaves no button down.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Protocol, TextIO

import numpy as np

from ..errors import missing_extra
from ..filters import OneEuroFilter
from ..types import Hand
from .config import MouseConfig
from .guard import BUTTONS, ButtonGuard

_POINT_INDICES = {"index_tip": (8,), "index_mcp": (5,), "palm": (0, 5, 9, 13, 17)}


class ControlUnavailableError(RuntimeError):
    """The OS cannot be controlled here (no display, no permission)."""


class Backend(Protocol):
    """What :class:`MouseController` and the keyboard need from the OS."""

    def screen_bounds(self) -> tuple[int, int, int, int]: ...
    def move(self, x: int, y: int) -> None: ...
    def press(self, button: str) -> None: ...
    def release(self, button: str) -> None: ...
    def scroll(self, dx: int, dy: int) -> None: ...
    def key_down(self, key: str) -> None: ...
    def key_up(self, key: str) -> None: ...
    def close(self) -> None: ...


class DryRunBackend:
    """Records every action in :attr:`actions` and prints it; touches nothing.

    ``screen`` is the pretend bounding box ``(x, y, width, height)``.
    """

    def __init__(self, screen: tuple[int, int, int, int] = (0, 0, 1920, 1080),
                 echo: bool = True, file: TextIO | None = None):
        self.screen = tuple(int(v) for v in screen)
        self.echo = echo
        self.file = file
        self.actions: list[tuple] = []
        self.position: tuple[int, int] | None = None
        self.buttons_down: set[str] = set()
        self.keys_down: set[str] = set()

    def _log(self, *action) -> None:
        self.actions.append(action)
        if self.echo:
            print("[dry-run]", " ".join(str(a) for a in action), file=self.file or sys.stdout,
                  flush=True)

    def screen_bounds(self) -> tuple[int, int, int, int]:
        return self.screen  # type: ignore[return-value]

    def move(self, x: int, y: int) -> None:
        self.position = (int(x), int(y))
        self._log("move", int(x), int(y))

    def press(self, button: str) -> None:
        self.buttons_down.add(button)
        self._log("press", button)

    def release(self, button: str) -> None:
        self.buttons_down.discard(button)
        self._log("release", button)

    def scroll(self, dx: int, dy: int) -> None:
        self._log("scroll", int(dx), int(dy))

    def key_down(self, key: str) -> None:
        self.keys_down.add(key)
        self._log("key_down", key)

    def key_up(self, key: str) -> None:
        self.keys_down.discard(key)
        self._log("key_up", key)

    def close(self) -> None:
        pass

    def count(self, kind: str, arg=None) -> int:
        """How many recorded actions are ``kind`` (and, if given, have first argument ``arg``)."""
        return sum(1 for a in self.actions if a[0] == kind and (arg is None or a[1] == arg))


def _require_display() -> None:
    if sys.platform.startswith("linux") and not os.environ.get("DISPLAY"):
        hint = (" (a Wayland session: run the app under XWayland or use dry_run)"
                if os.environ.get("WAYLAND_DISPLAY") else "")
        raise ControlUnavailableError(
            "OS control needs an X display but DISPLAY is not set" + hint +
            "; start one (e.g. `Xvfb :99 &` and DISPLAY=:99) or use dry_run=true")


class PynputBackend:
    """The real mouse and keyboard through pynput (the ``control`` extra).

    ``guard``: on the first press, start a :class:`~gesturekit.control.guard.ButtonGuard`
    watchdog that releases held buttons if this process is killed (SIGKILL/SIGTERM) mid-drag.
    """

    def __init__(self, screen: tuple[int, int, int, int] | None = None, guard: bool = True):
        _require_display()
        try:
            from pynput import keyboard, mouse
        except ImportError as e:
            if "pynput" in str(getattr(e, "name", "") or "") or isinstance(e, ModuleNotFoundError):
                raise missing_extra("control", "pynput") from e
            raise ControlUnavailableError(f"pynput cannot reach the display: {e}") from e
        self._mouse_mod, self._kb_mod = mouse, keyboard
        self._mouse = mouse.Controller()
        self._kb = keyboard.Controller()
        self._screen = tuple(screen) if screen else _os_screen_bounds()
        self.guard = ButtonGuard() if guard else None

    def screen_bounds(self) -> tuple[int, int, int, int]:
        return self._screen  # type: ignore[return-value]

    def move(self, x: int, y: int) -> None:
        self._mouse.position = (int(x), int(y))

    def press(self, button: str) -> None:
        # before the press: a kill right after it is covered (not once closed: no press follows)
        if self.guard is not None and not isinstance(self._mouse, _Closed):
            self.guard.pressed(button)
        self._mouse.press(getattr(self._mouse_mod.Button, button))

    def release(self, button: str) -> None:
        self._mouse.release(getattr(self._mouse_mod.Button, button))
        if self.guard is not None:
            self.guard.released(button)

    def scroll(self, dx: int, dy: int) -> None:
        self._mouse.scroll(int(dx), int(dy))

    def _key(self, key: str):
        if len(key) == 1:
            return self._kb_mod.KeyCode.from_char(key)
        return getattr(self._kb_mod.Key, key)

    def key_down(self, key: str) -> None:
        self._kb.press(self._key(key))

    def key_up(self, key: str) -> None:
        self._kb.release(self._key(key))

    def close(self) -> None:
        # pynput's X controllers close their display connection when collected:
        # drop them now, while the display is surely still there.
        self._mouse = self._kb = _Closed()
        if self.guard is not None:
            self.guard.close()


class _Closed:
    def __getattr__(self, name):
        raise ControlUnavailableError("the pynput backend is closed")


def _os_screen_bounds() -> tuple[int, int, int, int]:
    """Bounding box ``(x, y, w, h)`` of all screens."""
    if sys.platform.startswith("linux"):
        # The X root window spans every monitor of the (Xinerama/RandR) screen.
        from Xlib import display as xdisplay  # pynput's own dependency on Linux

        d = xdisplay.Display()
        try:
            s = d.screen()
            return (0, 0, int(s.width_in_pixels), int(s.height_in_pixels))
        finally:
            d.close()
    if sys.platform == "win32":
        import ctypes

        m = ctypes.windll.user32.GetSystemMetrics
        return (m(76), m(77), m(78), m(79))  # SM_X/Y/CX/CYVIRTUALSCREEN
    if sys.platform == "darwin":
        import Quartz  # pyobjc, pynput's dependency on macOS

        _err, ids, n = Quartz.CGGetActiveDisplayList(16, None, None)
        rects = [Quartz.CGDisplayBounds(i) for i in ids[:n]]
        x1 = min(r.origin.x for r in rects)
        y1 = min(r.origin.y for r in rects)
        x2 = max(r.origin.x + r.size.width for r in rects)
        y2 = max(r.origin.y + r.size.height for r in rects)
        return (int(x1), int(y1), int(x2 - x1), int(y2 - y1))
    raise ControlUnavailableError(f"screen size unknown on {sys.platform}; set [screen] in the config")


def make_backend(name: str, screen: tuple[int, int, int, int] | None = None, **kw) -> Backend:
    """A backend by name: ``"pynput"`` or ``"dry_run"``."""
    if name == "pynput":
        return PynputBackend(screen=screen, **kw)
    if name in ("dry_run", "dry-run"):
        return DryRunBackend(screen=screen or (0, 0, 1920, 1080), **kw)
    raise ValueError(f"backend: unknown backend {name!r}; known: pynput, dry_run")


def hand_point(hand: Hand, point: str) -> np.ndarray:
    """The pointer point of ``hand`` in pixels (``palm`` = mean of wrist and finger roots)."""
    kp = np.asarray(hand.keypoints, np.float64)
    if kp.ndim != 2 or kp.shape[0] < 21 or kp.shape[1] != 2:
        raise ValueError(f"hand.keypoints: expected (21, 2), got {kp.shape}")
    p = kp[list(_POINT_INDICES[point])].mean(axis=0)
    return p


class MouseController:
    """Turns per-frame hand positions and gesture phases into pointer actions.

    Call :meth:`update` each frame with the pointer hand (or ``None`` when it
    is lost), and :meth:`gesture_started` / :meth:`gesture_ended` from gesture
    events. ``mirrored`` flips x; the active region is given in the flipped
    (user's) view.
    """

    # Speed (screen widths per second) at which the acceleration gain is 1.
    REF_SPEED = 0.5

    def __init__(self, config: MouseConfig, backend: Backend, mirrored: bool = True,
                 screen: tuple[int, int, int, int] | None = None):
        self.config = config
        self.backend = backend
        self.mirrored = mirrored
        self.screen = tuple(screen) if screen else tuple(backend.screen_bounds())
        s = config.smoothing
        self._filter = OneEuroFilter(min_cutoff=s.min_cutoff, beta=s.beta, d_cutoff=s.d_cutoff)
        self.pressed: set[str] = set()
        self.position: tuple[float, float] | None = None   # current pointer (screen px)
        self.mode: str = "point"                          # point | drag | scroll
        self._last_target: np.ndarray | None = None
        self._last_t: float | None = None
        self._press_at: np.ndarray | None = None          # pointer pinned here after a press
        self._scroll_y: float | None = None
        self._scroll_acc = 0.0
        self._keep_position = False

    # -- settings that the GUI changes live
    def set_sensitivity(self, value: float) -> None:
        self.config.sensitivity = float(np.clip(value, 0.05, 20.0))

    def set_smoothing(self, min_cutoff: float | None = None, beta: float | None = None) -> None:
        if min_cutoff is not None:
            self.config.smoothing.min_cutoff = float(min_cutoff)
            self._filter.min_cutoff = float(min_cutoff)
        if beta is not None:
            self.config.smoothing.beta = float(beta)
            self._filter.beta = float(beta)

    # -- mapping
    def normalized_point(self, hand: Hand) -> np.ndarray:
        """The pointer point as (u, v) in 0..1 of the (mirrored) frame."""
        w, h = hand.image_size
        u, v = hand_point(hand, self.config.point) / np.array([w, h], np.float64)
        if self.mirrored:
            u = 1.0 - u
        return np.array([u, v])

    def screen_target(self, hand: Hand) -> np.ndarray:
        """Where the hand point maps on screen, before filtering and acceleration."""
        x1, y1, x2, y2 = self.config.region
        u, v = self.normalized_point(hand)
        rx = np.clip((u - x1) / (x2 - x1), 0.0, 1.0)
        ry = np.clip((v - y1) / (y2 - y1), 0.0, 1.0)
        sx, sy, sw, sh = self.screen
        return np.array([sx + rx * (sw - 1), sy + ry * (sh - 1)])

    def _clamp(self, p: np.ndarray) -> np.ndarray:
        sx, sy, sw, sh = self.screen
        return np.array([min(max(p[0], sx), sx + sw - 1), min(max(p[1], sy), sy + sh - 1)])

    def update(self, hand: Hand | None, t_seconds: float | None = None) -> tuple[int, int] | None:
        """Move (or drag, or scroll) for this frame; ``None`` = hand lost (releases all)."""
        if hand is None:
            self.lost()
            return None
        t = time.monotonic() if t_seconds is None else float(t_seconds)
        if not np.isfinite(self.normalized_point(hand)).all():
            return None   # no pointer point this frame (NaN): skip it, a NaN would stay in the filter
        if self.mode == "scroll":
            self._scroll(hand)
            return None if self.position is None else (round(self.position[0]), round(self.position[1]))
        target = self._filter(self.screen_target(hand), t)
        if self.position is not None and self._last_target is None and self._keep_position:
            self._keep_position = False
            self._last_target, self._last_t = target, t
            return round(self.position[0]), round(self.position[1])
        if self.position is None or self._last_target is None:
            pos = self._clamp(target)
        else:
            delta = target - self._last_target
            dt = max(t - self._last_t, 1e-3)
            speed = float(np.hypot(*delta)) / dt / self.screen[2]
            # Power curve: slow hand moves shrink (precise), fast ones grow.
            gain = self.config.sensitivity * float(
                np.clip((max(speed, 1e-6) / self.REF_SPEED) ** self.config.acceleration, 0.25, 4.0))
            pos = self._clamp(np.asarray(self.position) + gain * delta)
        self._last_target, self._last_t = target, t
        if self._press_at is not None:
            # Pinned after a press so that the pinch itself does not drag; a
            # deliberate move past the threshold starts the drag.
            if np.hypot(*(pos - self._press_at)) < self.config.drag_threshold_px:
                self.position = tuple(pos)
                return round(self._press_at[0]), round(self._press_at[1])
            self._press_at = None
        self.position = tuple(pos)
        xy = round(pos[0]), round(pos[1])
        self.backend.move(*xy)
        return xy

    def _scroll(self, hand: Hand) -> None:
        v = self.normalized_point(hand)[1]
        if self._scroll_y is None:
            self._scroll_y = v
            return
        # Hand up (smaller v) scrolls up (positive wheel steps).
        self._scroll_acc += (self._scroll_y - v) * self.config.scroll_speed
        self._scroll_y = v
        steps = int(self._scroll_acc)
        if steps:
            self._scroll_acc -= steps
            self.backend.scroll(0, steps)

    # -- gesture phases
    def gesture_started(self, gesture: str | None) -> None:
        c = self.config
        if gesture is None:
            return
        if gesture == c.click:
            self.press("left")
            self.mode = "drag"
            if self.position is not None:
                self._press_at = np.asarray(self.position, np.float64)
        elif gesture == c.right_click:
            self.click("right")
        elif gesture == c.scroll:
            self.mode = "scroll"
            self._scroll_y, self._scroll_acc = None, 0.0

    def gesture_ended(self, gesture: str | None) -> None:
        c = self.config
        if gesture is None:
            return
        if gesture == c.click:
            self.release("left")
            self._press_at = None
            self.mode = "point"
        elif gesture == c.scroll and self.mode == "scroll":
            self.mode = "point"
            self._scroll_y = None
            self.reanchor()   # the pointer must not jump by the hand's scroll travel

    def reanchor(self) -> None:
        """Go on from where the pointer is: the next hand position becomes the reference, so the
        hand's travel while the pointer was not following it (a scroll, a pause) is not applied."""
        self._last_target = None
        self._filter.reset()
        self._keep_position = True

    # -- buttons
    def press(self, button: str = "left") -> None:
        if button not in BUTTONS:
            raise ValueError(f"button: expected one of {BUTTONS}, got {button!r}")
        if button in self.pressed:
            return  # never two presses without a release
        self.backend.press(button)
        self.pressed.add(button)

    def release(self, button: str = "left") -> None:
        if button in self.pressed:
            self.pressed.discard(button)
            self.backend.release(button)

    def click(self, button: str = "left") -> None:
        self.press(button)
        self.release(button)

    def release_all(self) -> None:
        """Release every button this controller pressed (safe to call any time)."""
        errors = []
        for b in list(self.pressed):
            self.pressed.discard(b)
            try:
                self.backend.release(b)
            except Exception as e:  # keep releasing the others
                errors.append(e)
        self._press_at = None
        self.mode = "point"
        if errors:
            raise errors[0]

    def lost(self) -> None:
        """The pointer hand is gone: release buttons and restart the filter."""
        self.release_all()
        self._filter.reset()
        self._last_target = self._last_t = None
        self._scroll_y = None
