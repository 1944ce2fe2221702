"""DesktopController: hands and gesture events in, mouse and keyboard actions out.

::

    from gesturekit import HandTracker
    from gesturekit.control import DesktopController, load_config

    with HandTracker() as tracker, DesktopController(load_config("controls.toml")) as ctl:
        ctl.attach(tracker)                 # gesture events -> clicks, keys
        for frame, hands in tracker.stream(0):
            ctl.update(hands)               # per frame -> pointer

Safety: every button and key is released when the pointer hand is lost, when
control is paused or stopped, when an update raises, on :meth:`close` and at
interpreter exit (Ctrl+C included); if the process is killed (SIGKILL, or SIGTERM,
which skips exit handlers) the pynput backend's watchdog process
(:mod:`gesturekit.control.guard`) releases held buttons. The stop hotkey (default
``<ctrl>+<alt>+g``) stops control at once from any window.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path

from ..types import Hand, Hands
from .config import ControlConfig, load_config
from .keyboard import KeyboardController
from .mouse import Backend, ControlUnavailableError, DryRunBackend, MouseController, make_backend

log = logging.getLogger(__name__)

_MOUSE_KINDS = ("started", "held", "ended")


class StopHotkey:
    """A global hotkey (pynput ``GlobalHotKeys``) calling ``callback`` on its own thread."""

    def __init__(self, hotkey: str, callback: Callable[[], None]):
        from pynput import keyboard  # the caller already checked that pynput works

        self.hotkey = hotkey
        self._listener = keyboard.GlobalHotKeys({hotkey: callback})
        self._listener.daemon = True
        self._listener.start()
        wait_ready(self._listener)   # grabbing started: the hotkey works from now on

    def stop(self) -> None:
        stop_listener(self._listener)


def wait_ready(listener, timeout: float = 10.0) -> None:
    """Wait until a started pynput listener listens; ControlUnavailableError if it dies first.

    pynput's own ``wait`` blocks for ever when the listener thread fails, as it does on an X
    server without the RECORD extension.
    """
    if not hasattr(listener, "_ready"):   # another pynput: its own wait
        listener.wait()
        return
    end = time.monotonic() + timeout
    while not listener._ready:
        if not listener.is_alive() or time.monotonic() > end:
            raise ControlUnavailableError(
                "the stop hotkey cannot listen to the keyboard here (an X server without the "
                "RECORD extension?); set [safety].stop_hotkey = \"\" to run without it")
        time.sleep(0.01)


def stop_listener(listener, timeout: float = 2.0) -> None:
    """Stop a pynput listener and wait for its thread.

    On X11, pynput's ``stop`` only takes effect at the next input event; disabling
    the RECORD context from the listener's second connection ends it at once.
    """
    listener.stop()
    disp, ctx = getattr(listener, "_display_stop", None), getattr(listener, "_context", None)
    if disp is not None and ctx is not None:
        try:
            disp.record_disable_context(ctx)
            disp.flush()
        except Exception:  # already closed: the thread is ending anyway
            pass
    if listener is not threading.current_thread():
        listener.join(timeout)


def _release_at_exit(ref: weakref.ref) -> None:
    ctl = ref()
    if ctl is not None:
        ctl.release_all()


class DesktopController:
    """Drives the OS pointer from one hand and turns gesture events into clicks and keys.

    Args:
        config: a :class:`ControlConfig`, a path to a TOML file, or None for defaults.
        backend: a backend object, ``"pynput"``, ``"dry_run"``, or None
            (``dry_run`` when ``config.dry_run`` else ``pynput``).
        hotkey: listen for ``config.safety.stop_hotkey`` (default: only with pynput).
    """

    def __init__(self, config: ControlConfig | str | Path | None = None,
                 backend: Backend | str | None = None, *, hotkey: bool | None = None):
        if config is None:
            config = ControlConfig()
        elif not isinstance(config, ControlConfig):
            config = load_config(config)
        self.config = config
        if backend is None:
            backend = "dry_run" if config.dry_run else "pynput"
        if isinstance(backend, str):
            backend = make_backend(backend, screen=config.screen)
        self.backend = backend
        self.mouse = MouseController(config.mouse, backend, mirrored=config.mirrored,
                                     screen=config.screen)
        self.keyboard = KeyboardController(config.keys, backend)
        self._lock = threading.RLock()
        self.engaged: bool = config.safety.start_engaged
        self.stopped: bool = False
        self.closed: bool = False
        self.track_id: int | None = None          # the pointer hand's track
        self.last_update_s: float | None = None   # time the last update took (seconds)
        self._engage_toggled: set[int] = set()    # engage gesture instances already used
        self._state_callbacks: list[Callable[[str], None]] = []
        self._subs: list[tuple[object, object]] = []
        self._hotkey: StopHotkey | None = None
        if hotkey is None:
            hotkey = not isinstance(backend, DryRunBackend)
        if hotkey and config.safety.stop_hotkey:
            self._hotkey = StopHotkey(config.safety.stop_hotkey, self.stop)
        atexit.register(_release_at_exit, weakref.ref(self))

    # ---------------------------------------------------------------- state
    @property
    def state(self) -> str:
        """``"running"``, ``"paused"`` (engage gesture / button) or ``"stopped"`` (hotkey/close)."""
        if self.stopped or self.closed:
            return "stopped"
        return "running" if self.engaged else "paused"

    def on_state_change(self, callback: Callable[[str], None]) -> None:
        """Call ``callback(state)`` whenever :attr:`state` changes (from any thread)."""
        self._state_callbacks.append(callback)

    def _notify(self) -> None:
        s = self.state
        for cb in list(self._state_callbacks):
            try:
                cb(s)
            except Exception:  # a broken UI callback must not break control
                log.exception("state callback %r raised", cb)

    def set_engaged(self, engaged: bool) -> None:
        """Pause (False) or resume (True) control; pausing releases everything."""
        with self._lock:
            if not engaged:
                self.release_all()
            elif not self.engaged:
                self.mouse.reanchor()   # the hand moved while paused: no jump on resume
            self.engaged = bool(engaged)
        self._notify()

    def stop(self) -> None:
        """Stop control at once (the hotkey's action); :meth:`resume` undoes it."""
        with self._lock:
            self.stopped = True
            self.release_all()
        log.warning("gesture control stopped")
        self._notify()

    def resume(self) -> None:
        with self._lock:
            if self.stopped or not self.engaged:
                self.mouse.reanchor()
            self.stopped = False
            self.engaged = True
        self._notify()

    def release_all(self) -> None:
        """Release every mouse button and key this controller holds."""
        with self._lock:
            try:
                self.mouse.release_all()
            finally:
                self.keyboard.release_all()

    # ---------------------------------------------------------------- input
    def select_hand(self, hands: Hands) -> Hand | None:
        """The pointer hand: the current track if still there, else the preferred side, else the first."""
        if not hands.hands:
            return None
        if self.track_id is not None:
            for h in hands:
                if h.track_id == self.track_id:
                    return h
        for h in hands:
            if h.handedness == self.config.pointer_hand:
                return h
        # Side only chooses between hands: a lone hand points whatever side it was read as,
        # because a misread side must not freeze the pointer.
        return hands[0]

    def update(self, hands: Hands) -> tuple[int, int] | None:
        """Per frame: move the pointer from the pointer hand; returns the pointer (screen px)."""
        t0 = time.perf_counter()
        with self._lock:
            if self.closed or self.stopped:
                return None
            try:
                hand = self.select_hand(hands)
                if hand is None:
                    if self.track_id is not None or self.mouse.pressed:
                        self.mouse.lost()
                    self.track_id = None
                    return None
                if self.track_id is not None and hand.track_id != self.track_id:
                    self.mouse.lost()   # a different hand took over: start clean
                self.track_id = hand.track_id
                if not self.engaged:
                    return None
                t = None if hands.timestamp_ms is None else hands.timestamp_ms / 1000.0
                return self.mouse.update(hand, t)
            except BaseException:
                self.release_all()
                raise
            finally:
                self.last_update_s = time.perf_counter() - t0

    def handle(self, event) -> None:
        """Per gesture event: engage toggle, clicks/drag/scroll (pointer hand), key bindings."""
        with self._lock:
            if self.closed or self.stopped:
                return
            try:
                self._handle(event)
            except BaseException:
                self.release_all()
                raise

    def _handle(self, ev) -> None:
        kind, gesture = ev.kind, ev.gesture
        tid = ev.track_id
        mine = self.track_id is None or tid == self.track_id
        if kind == "hand_lost":
            if tid == self.track_id:
                self.mouse.lost()
                self.track_id = None
            self._engage_toggled.discard(tid)
            return
        engage = self.config.safety.engage
        if engage is not None and gesture == engage and mine:
            if kind == "ended":
                self._engage_toggled.discard(tid)
            elif kind in ("started", "held") and tid not in self._engage_toggled:
                held = float(getattr(ev, "duration_ms", 0.0) or 0.0)
                if held >= self.config.safety.engage_hold_ms:
                    self._engage_toggled.add(tid)
                    self.set_engaged(not self.engaged)
            return
        if not self.engaged:
            return
        if self.keyboard.handle(ev):
            return
        if not mine:
            return
        if kind == "started":
            if self.track_id is None:
                self.track_id = tid
            self.mouse.gesture_started(gesture)
        elif kind == "ended":
            self.mouse.gesture_ended(gesture)

    # ---------------------------------------------------------------- wiring
    def attach(self, tracker) -> object:
        """Subscribe :meth:`handle` to ``tracker``'s events (``tracker.on``); returns the subscription.

        A :class:`~gesturekit.control.config.ConfigError` (a ValueError) when the config names a
        gesture that the tracker's event bus does not know: that binding could never fire.
        """
        known = getattr(getattr(tracker, "events", None), "known_gestures", None)
        if known is not None:
            self.config.check_gestures(known, "control config",
                                       hint="; the tracker's recognizer does not emit it")
        sub = tracker.on(callback=self.handle)
        self._subs.append((tracker, sub))
        return sub

    def detach(self) -> None:
        """Undo every :meth:`attach`."""
        while self._subs:
            tracker, sub = self._subs.pop()
            for owner in (tracker, getattr(tracker, "events", None), getattr(tracker, "bus", None)):
                off = getattr(owner, "off", None)
                if callable(off):
                    try:
                        off(sub)
                    except Exception:
                        log.exception("detaching from %r failed", tracker)
                    break

    def run(self, tracker, source, max_frames: int | None = None,
            on_frame: Callable | None = None) -> int:
        """Attach to ``tracker`` and drive the pointer from ``tracker.stream(source)``; returns frames seen."""
        self.attach(tracker)
        n = 0
        stream = tracker.stream(source)
        try:
            for frame, hands in stream:
                self.update(hands)
                if on_frame is not None:
                    on_frame(frame, hands)
                n += 1
                if self.stopped or (max_frames is not None and n >= max_frames):
                    break
        finally:
            try:
                close = getattr(stream, "close", None)
                if close is not None:
                    close()   # now, not at garbage collection: the stream publishes its last ended events
            finally:
                # Handle what the bus still holds before leaving it: a started it delivers after the
                # release below would press a button whose ended nobody then hears.
                wait_idle = getattr(getattr(tracker, "events", None), "wait_idle", None)
                if callable(wait_idle):
                    wait_idle(2.0)
                self.detach()
                self.release_all()
        return n

    def close(self) -> None:
        """Release everything, stop the hotkey, detach; idempotent."""
        if self.closed:
            return
        try:
            with self._lock:
                # Closed first, under the lock: an event the bus thread handles after the
                # release must not press a button that nothing would release again.
                self.closed = True
                self.release_all()
        finally:
            self.detach()
            if self._hotkey is not None:
                self._hotkey.stop()
                self._hotkey = None
            self.backend.close()
            self._notify()

    def __enter__(self) -> DesktopController:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
