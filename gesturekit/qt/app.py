"""What every gesturekit Qt app needs before and after its window: arguments, display, stream, screenshot.

::

    p = argparse.ArgumentParser()
    args = parse_app_args(p, argv)                 # --source, --screenshot, --frames
    if (rc := prepare_display(args, "my_app")):   # 2 with no display, else 0
        return rc
    source, tracker, own = open_stream(args.source, tracker, source)   # AppError on failure
    rc = exec_app(app, "my_app", on_error=errors.append)   # instead of app.exec()
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable
from pathlib import Path


class AppError(RuntimeError):
    """The app cannot start (bad source, no tracker): the message is for the user."""


def parse_app_args(parser: argparse.ArgumentParser, argv=None) -> argparse.Namespace:
    """Add ``--source``, ``--screenshot`` and ``--frames`` to ``parser`` and parse ``argv``
    (``--screenshot`` alone runs 30 frames)."""
    parser.add_argument("--source", default="0", help="camera index, video file, folder or URL (default 0)")
    parser.add_argument("--screenshot", metavar="PATH", help="run --frames frames offscreen, save the window, exit")
    parser.add_argument("--frames", type=int, default=None, help="stop after this many frames")
    args = parser.parse_args(argv)
    if not args.source.strip():   # e.g. an unset "$CAMERA": "" would open the current folder's images
        parser.error("--source: empty; give a camera index, video file, folder or URL")
    if args.screenshot and not args.frames:
        args.frames = 30
    if args.frames is not None and args.frames < 1:
        parser.error("--frames must be >= 1")
    return args


def have_display() -> bool:
    """Whether Qt can open a window here (an offscreen platform counts)."""
    if os.environ.get("QT_QPA_PLATFORM", "").startswith(("offscreen", "minimal", "vnc")):
        return True
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def prepare_display(args: argparse.Namespace, prog: str) -> int:
    """Render offscreen for ``--screenshot`` without a display; 2 (after saying why) when no
    window can open, else 0. Call before the QApplication exists."""
    if args.screenshot and not have_display():
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    if not have_display():
        print(f"{prog}: no display (DISPLAY/WAYLAND_DISPLAY unset); use --screenshot PATH "
              "to render offscreen", file=sys.stderr)
        return 2
    return 0


def open_stream(source_arg: str, tracker=None, source=None, max_hands: int = 2):
    """(source, tracker, whether the tracker is ours to close): ``source`` and ``tracker`` are
    opened from ``source_arg`` and the defaults unless given (tests inject them).
    Raises :class:`AppError` naming the source's or the tracker's problem (closing what it opened)."""
    opened = source is None
    if opened:
        from ..sources import SourceError, open_source

        try:
            source = open_source(source_arg)
        except (SourceError, OSError, ValueError) as e:
            raise AppError(f"cannot open source {source_arg!r}: {e}") from None
    if tracker is not None:
        return source, tracker, False
    try:
        from .. import HandTracker, TrackerOptions

        return source, HandTracker(TrackerOptions(max_hands=max_hands)), True
    except (ImportError, OSError, ValueError) as e:
        if opened and hasattr(source, "close"):
            source.close()
        raise AppError(f"cannot start the hand tracker: {e}") from None


def exec_app(app, prog: str, on_error: Callable[[str], None] | None = None) -> int:
    """``app.exec()``, but Ctrl+C quits the event loop (returns 130) and an exception in a slot
    is printed and passed to ``on_error`` instead of aborting the process; both as they were after.

    Why: PyQt6 calls qFatal (abort: no cleanup, a held mouse button stays held) for an exception
    that escapes a slot while ``sys.excepthook`` is the default; and a Ctrl+C is only seen when
    Python code next runs, so it is ignored while Qt idles, then raised inside some slot.
    """
    from PyQt6.QtCore import QTimer

    interrupted, seen = [], set()

    def quit_app(*_):
        interrupted.append(True)
        app.quit()

    def hook(kind, value, tb):
        if issubclass(kind, KeyboardInterrupt):
            quit_app()
            return
        msg = f"{kind.__name__}: {value}"
        if msg not in seen:   # a slot that fails on every frame prints its traceback once
            seen.add(msg)
            print(f"{prog}: error in a Qt slot:\n{''.join(traceback.format_exception(kind, value, tb))}",
                  end="", file=sys.stderr)
        if on_error is not None:
            on_error(msg)

    old_hook, old_int, tick = sys.excepthook, None, None
    sys.excepthook = hook
    if threading.current_thread() is threading.main_thread():
        old_int = signal.signal(signal.SIGINT, quit_app)
        tick = QTimer()
        tick.timeout.connect(lambda: None)   # runs Python now and then, so the signal handler runs
        tick.start(200)
    try:
        rc = app.exec()
    finally:
        sys.excepthook = old_hook
        if tick is not None:
            tick.stop()
            signal.signal(signal.SIGINT, signal.SIG_DFL if old_int is None else old_int)
    return 130 if interrupted else rc


def save_screenshot(window, path: str | Path, frames: int) -> str | None:
    """Save ``window`` as an image; the error message, or None once saved (and said so)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not window.grab().save(str(path)):
        return f"cannot write {path}"
    print(f"saved {path} after {frames} frames")
    return None


__all__ = ["AppError", "exec_app", "have_display", "open_stream", "parse_app_args", "prepare_display", "save_screenshot"]
