"""A watchdog process that lets go of mouse buttons when the controlling process dies.

The X server keeps a button pressed through XTest down after the client that
pressed it is gone: a SIGKILL mid-drag (or a SIGTERM, which skips ``atexit``)
would leave the whole desktop dragging. No handler runs on SIGKILL, so
:class:`ButtonGuard` starts, on the first press, a tiny child process
(this file run as a script) that reads ``press <button>`` / ``release <button>``
lines from a pipe. At end of file (:meth:`ButtonGuard.close`, or the parent is
gone, however it died) the child releases whatever is still down, through pynput
on the same display, and exits; until then it waits, holding nothing.

The child imports only the standard library and pynput (not gesturekit, numpy or
OpenCV), so it starts fast and stays small.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import weakref

log = logging.getLogger(__name__)

BUTTONS = ("left", "right", "middle")

_GUARDS: weakref.WeakSet = weakref.WeakSet()


def _forget_in_forked_child() -> None:
    # A forked child (os.fork, multiprocessing's default start on Linux) inherits the pipe's write
    # end: the watchdog would see no end of file while the child lives, so a SIGKILL of the app
    # left the button down (and the watchdog running) until that child ended. The child lets go.
    for g in list(_GUARDS):
        g._lock = threading.Lock()   # another thread may have held it at the fork
        proc, g._proc = g._proc, None
        if proc is not None:
            proc.returncode = 0      # not this process's child: never wait for it here
            try:
                proc.stdin.close()
            except (OSError, ValueError):
                pass


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_in_forked_child)


class ButtonGuard:
    """The parent's side: starts the watchdog lazily and tells it which buttons are held.

    Never raises: if the watchdog cannot start or dies, a warning is logged once and
    control carries on unguarded. ``display`` is the X display the buttons were pressed
    on (default: ``$DISPLAY`` now).
    """

    def __init__(self, display: str | None = None):
        self.display = display if display is not None else os.environ.get("DISPLAY")
        self._proc: subprocess.Popen | None = None
        self._failed = False
        self._lock = threading.Lock()
        _GUARDS.add(self)

    @property
    def pid(self) -> int | None:
        """The watchdog's process id, or None while it is not running."""
        return self._proc.pid if self._proc is not None else None

    def pressed(self, button: str) -> None:
        """Call *before* pressing ``button``: a death right after the press is then covered."""
        self._send(f"press {button}", start=True)

    def released(self, button: str) -> None:
        """Call after releasing ``button``."""
        self._send(f"release {button}", start=False)

    def _send(self, message: str, start: bool) -> None:
        with self._lock:
            if self._failed:
                return
            if self._proc is None:
                if not start:
                    return
                self._proc = self._start()
                if self._proc is None:
                    return
            if self._proc.poll() is not None:
                self._fail(f"it exited with code {self._proc.returncode}")
                return
            try:
                self._proc.stdin.write(message.encode() + b"\n")
                self._proc.stdin.flush()
            except (OSError, ValueError) as e:   # BrokenPipeError: it died
                self._fail(str(e))

    def _start(self) -> subprocess.Popen | None:
        script = os.path.abspath(__file__)
        if getattr(sys, "frozen", False) or not sys.executable or not os.path.isfile(script):
            # frozen (PyInstaller & co.): sys.executable is the app itself, which would start a
            # second copy of the app; no interpreter, or this file inside a zip: nothing to run
            self._fail("no Python interpreter to run it with (frozen or embedded app)")
            return None
        env = dict(os.environ)
        if self.display:
            env["DISPLAY"] = self.display
        try:
            return subprocess.Popen(
                [sys.executable, script], stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL, env=env,
                # its own session: a Ctrl+C or a kill of the app's process group must not take
                # the watchdog along before it has released the buttons
                start_new_session=os.name == "posix")
        except (OSError, ValueError) as e:
            self._fail(str(e))
            return None

    def _fail(self, why: str) -> None:
        self._failed = True
        log.warning("the button guard (which releases held mouse buttons if this process is "
                    "killed) is not running: %s; carrying on without it", why)
        self._close_proc(timeout=0.0)

    def close(self, timeout: float = 2.0) -> None:
        """Stop the watchdog (end of file: it releases anything still marked held, then exits)."""
        with self._lock:
            self._close_proc(timeout)

    def _close_proc(self, timeout: float) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            proc.stdin.close()
        except OSError:
            pass
        if timeout <= 0:
            proc.poll()   # reaps it if it has already exited
            return
        try:
            proc.wait(timeout)   # reap it: no zombie left behind
        except subprocess.TimeoutExpired:
            log.warning("the button guard (pid %d) did not exit within %.1f s", proc.pid, timeout)


# ---------------------------------------------------------------- the child

def _release(mouse, held: set[str]) -> None:
    from pynput.mouse import Button

    for b in sorted(held):
        try:
            mouse.release(getattr(Button, b))
        except Exception as e:  # keep releasing the others
            print(f"gesturekit button guard: releasing {b} failed: {e}", file=sys.stderr)


def main() -> int:
    """The watchdog: track ``press``/``release`` lines on stdin; at end of file release what is held."""
    # The parent owns the lifetime: group signals (a terminal's Ctrl+C, a hang-up) are ignored
    # so that the pipe's end, not the signal, ends the watchdog. SIGTERM releases and exits.
    for name in ("SIGINT", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        from pynput.mouse import Controller

        mouse = Controller()   # connect now: the release at the end must not wait for it
    except Exception as e:  # the parent sees the exit and warns
        print(f"gesturekit button guard: cannot control the mouse: {e}", file=sys.stderr)
        return 1
    held: set[str] = set()
    try:
        for line in sys.stdin.buffer:
            op, _, button = line.decode("ascii", "replace").strip().partition(" ")
            if button not in BUTTONS:
                continue
            if op == "press":
                held.add(button)
            elif op == "release":
                held.discard(button)
    finally:
        if held:
            _release(mouse, held)
    return 0


if __name__ == "__main__":
    # Run as a script, this file's folder is sys.path[0]; it holds mouse.py and keyboard.py,
    # which must not shadow anything pynput imports.
    if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
        sys.path.pop(0)
    sys.exit(main())
