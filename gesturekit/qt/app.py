"""What every gesturekit Qt app needs around its window: arguments, display, stream, run loop, screenshot.

::

    p = argparse.ArgumentParser()
    args = parse_app_args(p, argv)                 # --source, --screenshot, --frames
    if (rc := prepare_display(args, "my_app")):   # 2 with no display, else 0
        return rc
    source, tracker, own = open_stream(args.source, tracker, source)   # AppError on failure
    win, worker = build_my_window(tracker, source)   # a TrackerWorker wired to the window
    rc = run_window(app, win, worker, "my_app", frames=args.frames, screenshot=args.screenshot)
    busy = not worker.stop(2000)                     # close the tracker only when not busy
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
    """Render ``--screenshot`` offscreen (unless ``QT_QPA_PLATFORM`` names a platform); 2 (after
    saying why) when no window can open, else 0. Call before the QApplication exists."""
    if args.screenshot and not os.environ.get("QT_QPA_PLATFORM"):
        # as --help says: a screenshot run shows no window, and needs no working desktop platform
        # plugin (xcb aborts the process where libxcb-cursor0 is missing)
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
            if hasattr(source, "open"):
                # a camera, file or URL that cannot be read is named now, not after the window opened
                source.open()
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
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:   # raised in a Qt slot it would end nothing: the app would wait forever
        return f"cannot write {path} ({e})"
    if not window.grab().save(str(path)):
        return f"cannot write {path}"
    print(f"saved {path} after {frames} frames")
    return None


FINISH_DELAY_MS = 200   # a batch run's end waits this long, so queued events reach the window first


def run_window(app, win, worker, prog: str, *, frames: int | None = None, screenshot: str | Path | None = None,
               on_failed: Callable[[str], None] | None = None, on_done: Callable[[int], object] | None = None) -> int:
    """Show ``win``, start ``worker`` (a :class:`~gesturekit.qt.TrackerWorker`) and run the event loop
    (:func:`exec_app`) until the window closes. Returns the exit code: 1 after an error (the
    stream's, a slot's, the screenshot's), 130 after Ctrl+C, else 0.

    A stream error is printed and passed to ``on_failed`` (to show it in the window).
    ``on_done(n)`` runs when the stream ends. A batch run (``frames`` or ``screenshot`` given)
    then saves the window to ``screenshot`` and closes it: at once, or, when ``on_done``
    returns a signal (a training thread's), once that fires; the signal is connected after
    ``on_done`` returns, so start the work that emits it from the event loop
    (``QTimer.singleShot(0, start)``), not inside ``on_done``. The worker is left to the caller
    to stop, after whatever must not wait for it (a held mouse button's release).
    """
    from PyQt6.QtCore import QTimer

    errors: list[str] = []
    batch = bool(frames or screenshot)

    def failed(msg: str) -> None:
        errors.append(msg)
        print(f"{prog}: {msg}", file=sys.stderr)
        if on_failed is not None:
            on_failed(msg)

    def done(n: int) -> None:
        then = on_done(n) if on_done is not None else None
        if not batch:
            return
        if then is None:
            QTimer.singleShot(FINISH_DELAY_MS, finish)
        else:
            then.connect(lambda *_: QTimer.singleShot(FINISH_DELAY_MS, finish))

    def finish() -> None:
        try:
            app.processEvents()
            if screenshot and (err := save_screenshot(win, screenshot, worker.frames)):
                errors.append(err)
        finally:   # whatever went wrong, a batch run ends
            win.close()
            app.quit()

    worker.failed.connect(failed)
    worker.done.connect(done)
    win.show()
    worker.start()
    rc = exec_app(app, prog, on_error=errors.append)
    return rc or (1 if errors else 0)


__all__ = ["AppError", "exec_app", "have_display", "open_stream", "parse_app_args", "prepare_display",
           "run_window", "save_screenshot"]
