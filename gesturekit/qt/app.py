"""What every gesturekit Qt app needs before and after its window: arguments, display, stream, screenshot.

::

    p = argparse.ArgumentParser()
    args = parse_app_args(p, argv)                 # --source, --screenshot, --frames
    if (rc := prepare_display(args, "my_app")):   # 2 with no display, else 0
        return rc
    source, tracker, own = open_stream(args.source, tracker, source)   # AppError on failure
"""

from __future__ import annotations

import argparse
import os
import sys
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


def save_screenshot(window, path: str | Path, frames: int) -> str | None:
    """Save ``window`` as an image; the error message, or None once saved (and said so)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not window.grab().save(str(path)):
        return f"cannot write {path}"
    print(f"saved {path} after {frames} frames")
    return None


__all__ = ["AppError", "have_display", "open_stream", "parse_app_args", "prepare_display", "save_screenshot"]
