"""Frame sources: webcam, video file, image folder, stream URL → ``(frame, timestamp_ms)``.

:func:`open_source` picks the kind from what it is given. Frames are H×W×3 uint8
BGR. :class:`LatestFrameReader` reads a source on a thread and hands out only
the newest frame, so a slow consumer sees fresh frames instead of a backlog.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import cv2
import numpy as np

from .errors import GestureKitError

log = logging.getLogger(__name__)

IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")
VIDEO_EXTS = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".gif")

Frame = tuple[np.ndarray, float]

# A file's frame that fails to decode is skipped while the file says more frames follow, up to
# this many in a row (about a second at 30 fps): one damaged frame must not end a clip halfway.
MAX_BAD_FRAMES = 30
# A camera or stream that fails a read is read again for this long before it counts as gone:
# webcams drop a read while warming up or on a USB hiccup, and streams stall.
LIVE_PATIENCE_S = 2.0
RETRY_PAUSE_S = 0.02


class SourceError(GestureKitError, OSError, ValueError):
    """A source cannot be opened, or stopped delivering frames (the message names it).

    Both an OSError (I/O went wrong) and a ValueError (the input given is unusable)."""


class FrameSource:
    """Iterable of ``(frame BGR uint8, timestamp_ms)``; closes itself at the end. Use as a context manager."""

    name: str = "source"
    # Independent photos (an image folder, one image), not a sequence: read each in static mode.
    photos: bool = False

    def __iter__(self) -> Iterator[Frame]:  # pragma: no cover - overridden
        raise NotImplementedError

    def open(self) -> FrameSource:
        """Open the source now, so that one that cannot be read is named at once (SourceError),
        before slow set-up such as loading models; iterating opens it otherwise. Returns self."""
        return self

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _CaptureSource(FrameSource):
    """OpenCV VideoCapture over a camera index, a file or a URL."""

    def __init__(self, target: int | str, name: str, live: bool, patience_s: float = LIVE_PATIENCE_S):
        if not patience_s >= 0:
            raise SourceError(f"{name}: patience_s must be 0 or more seconds, got {patience_s}")
        self.target, self.name, self.live, self.patience_s = target, name, live, float(patience_s)
        self.fps: float | None = None   # frames per second, known once opened (30 when the source does not say)
        self._cap: cv2.VideoCapture | None = None
        self.frames_read = 0            # frames delivered by the last iteration

    def _open(self) -> cv2.VideoCapture:
        cap = cv2.VideoCapture(self.target)
        if not cap.isOpened():
            cap.release()
            raise SourceError(f"{self.name}: cannot open (no such device, unsupported codec or unreachable)")
        self._cap = cap
        return cap

    def open(self) -> FrameSource:
        if self._cap is None:
            self._open()
        return self

    def __iter__(self) -> Iterator[Frame]:
        cap = self.open()._cap
        fps = cap.get(cv2.CAP_PROP_FPS) or 0.0
        fps = self.fps = fps if 1.0 <= fps <= 1000.0 else 30.0
        t0 = time.monotonic()
        self.frames_read = 0
        i = 0          # frames read, damaged ones included: a file's timestamps keep their places
        bad: list[int] = []   # a file's frames that failed to decode since the last good one
        failed_since: float | None = None   # a live source's first failed read since its last frame
        try:
            while True:
                ok, frame = cap.read()
                if not ok or frame is None:
                    if self.live:
                        # A camera or stream has no end: no frame for patience_s means it went away.
                        failed_since = failed_since or time.monotonic()
                        if time.monotonic() - failed_since < self.patience_s:
                            time.sleep(RETRY_PAUSE_S)
                            continue
                        what = "delivered no frame" if i == 0 else f"stopped delivering frames after {i}"
                        raise SourceError(f"{self.name}: {what} (none for {self.patience_s:g} s: "
                                          "disconnected or in use by another program?)")
                    if len(bad) < MAX_BAD_FRAMES and i < _frame_count(cap):
                        bad.append(i)   # a damaged frame mid-file: the frames after it still decode
                        i += 1
                        continue
                    self._end_of_file(bad)
                    return  # end of file: every decoded frame, the last one included, was yielded
                failed_since = None
                if bad:
                    log.warning("%s: %s could not be decoded, skipped", self.name, _frames_named(bad))
                    bad.clear()
                if frame.ndim == 2 or frame.shape[2] != 3:
                    from .images import as_bgr_uint8

                    frame = as_bgr_uint8(frame, self.name)
                # Files: presentation time from the frame index (CAP_PROP_POS_MSEC is unreliable
                # across backends); live sources: wall clock since opening.
                ts = (time.monotonic() - t0) * 1000.0 if self.live else i * 1000.0 / fps
                i += 1
                self.frames_read += 1
                yield frame, ts
        finally:
            self.close()

    def _end_of_file(self, bad: list[int]) -> None:
        """A file ended: SourceError when not one frame decoded (it opened, but nothing in it can
        be read), a warning when its last frames were damaged (a truncated copy)."""
        if not self.frames_read:
            raise SourceError(f"{self.name}: no frame could be decoded (damaged file or unsupported codec?)")
        # headers can claim one frame more than decodes (huytung_2hand.mp4: 138 for 137), so one
        # short is no news
        if len(bad) > 1:
            log.warning("%s: the last %s could not be decoded (damaged or truncated file?)",
                        self.name, _frames_named(bad))

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


def _frame_count(cap: cv2.VideoCapture) -> float:
    """The frame count a file's header claims (0 when it does not say)."""
    n = cap.get(cv2.CAP_PROP_FRAME_COUNT)
    return n if n > 0 else 0.0


def _frames_named(idx: list[int]) -> str:
    """``frame 7`` or ``3 frames (7–9)``, for warnings about damaged frames."""
    return f"frame {idx[0]}" if len(idx) == 1 else f"{len(idx)} frames ({idx[0]}–{idx[-1]})"


class CameraSource(_CaptureSource):
    """A webcam by index; ``width``/``height``/``fps`` are requests the driver may ignore.

    A failed read is retried for ``patience_s`` seconds before the camera counts as gone
    (:class:`SourceError`)."""

    def __init__(self, index: int = 0, width: int | None = None, height: int | None = None,
                 fps: float | None = None, patience_s: float = LIVE_PATIENCE_S):
        if int(index) < 0:  # OpenCV's "any camera" (-1) crashes the process in some builds (5.0.0 here)
            raise SourceError(f"camera {index}: a camera index is 0 or more")
        super().__init__(int(index), f"camera {index}", live=True, patience_s=patience_s)
        self.req = (width, height, fps)

    def _open(self) -> cv2.VideoCapture:
        cap = super()._open()
        w, h, fps = self.req
        if w:
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, w)
        if h:
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, h)
        if fps:
            cap.set(cv2.CAP_PROP_FPS, fps)
        return cap


class VideoFileSource(_CaptureSource):
    """A video file; timestamps are frame index / fps."""

    def __init__(self, path: str | Path):
        path = Path(path)
        if not path.is_file():
            raise SourceError(f"{path}: video file not found")
        super().__init__(str(path), str(path), live=False)


class StreamSource(_CaptureSource):
    """An RTSP/HTTP stream URL; wall-clock timestamps. A stall is waited out for ``patience_s`` seconds."""

    def __init__(self, url: str, patience_s: float = LIVE_PATIENCE_S):
        super().__init__(url, url, live=True, patience_s=patience_s)


class ImageFolderSource(FrameSource):
    """Images under a folder, recursive, sorted by relative path; timestamps step by 1000/fps ms.
    Hidden files and folders (``.name``: macOS ``._x.jpg`` copies, editor backups) are left out.

    An unreadable image raises :class:`SourceError` naming it. ``skip_bad=True`` skips it with
    a logged warning; a function instead is called with its path (e.g. to print the warning);
    either way its path is added to ``skipped``.
    """

    photos = True

    def __init__(self, folder: str | Path, fps: float = 30.0,
                 skip_bad: bool | Callable[[Path], object] = False):
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise SourceError(f"{self.folder}: image folder not found")
        self.name, self.fps, self.skip_bad = str(self.folder), _check_fps(fps), skip_bad
        self.skipped: list[Path] = []
        self.paths = sorted((p for p in self.folder.rglob("*") if p.suffix.lower() in IMAGE_EXTS
                             and not _hidden(p.relative_to(self.folder)) and p.is_file()),
                            key=lambda p: p.relative_to(self.folder).as_posix())
        if not self.paths:
            raise SourceError(f"{self.folder}: no images ({', '.join(IMAGE_EXTS)}) found")

    def __len__(self) -> int:
        return len(self.paths)

    def __iter__(self) -> Iterator[Frame]:
        i = 0
        for p in self.paths:
            img = cv2.imread(str(p), cv2.IMREAD_COLOR)
            if img is None:
                self._bad(p)
                continue
            yield img, i * 1000.0 / self.fps
            i += 1

    def _bad(self, path: Path) -> None:
        if not self.skip_bad:
            raise SourceError(f"{path}: cannot decode image")
        self.skipped.append(path)
        if callable(self.skip_bad):
            self.skip_bad(path)
        else:
            log.warning("%s: cannot decode image, skipped", path)


def _check_fps(fps) -> float:
    if isinstance(fps, bool) or not isinstance(fps, (int, float, np.number)) or not 0 < fps < float("inf"):
        raise ValueError(f"fps: {fps!r} must be a number > 0 (frames per second)")
    return float(fps)


def _hidden(rel: Path) -> bool:
    return any(part.startswith(".") for part in rel.parts)


class ArraySource(FrameSource):
    """Frames already in memory (tests, generated sequences)."""

    def __init__(self, frames: Iterable[np.ndarray], fps: float = 30.0):
        if isinstance(frames, np.ndarray) and (frames.ndim < 3 or (frames.ndim == 3 and frames.shape[-1] in (1, 3, 4))):
            # iterating one image walks its rows, each taken for a frame
            raise ValueError(f"frames: an array of shape {frames.shape} is one image, not a sequence of frames; "
                             "pass [image] (or an N×H×W×C array)")
        self.frames, self.fps, self.name = frames, _check_fps(fps), "frames"

    def __iter__(self) -> Iterator[Frame]:
        for i, f in enumerate(self.frames):
            yield f, i * 1000.0 / self.fps


def open_source(source: int | str | Path | FrameSource | Iterable, **kwargs) -> FrameSource:
    """A :class:`FrameSource` from a camera index (``0`` or ``"0"``), a video file, an image
    folder, a single image, a stream URL (``rtsp://…``, ``http://…``), or a FrameSource.

    Missing files raise :class:`SourceError` naming the path.
    """
    if isinstance(source, FrameSource):
        return source
    if isinstance(source, bool):
        raise TypeError(f"source: {source!r} is not a camera index, path or URL")
    if isinstance(source, int):
        return CameraSource(source, **kwargs)
    if isinstance(source, (str, Path)):
        s = str(source)
        if not s.strip():  # Path("") is ".": an unset $CAM would silently read this folder's images
            raise ValueError("source: empty; expected a camera index, a video or image path, a folder or a URL")
        if s.isdigit() and not Path(s).exists():   # "2024" may be a folder of images
            return CameraSource(int(s), **kwargs)
        if "://" in s:
            return StreamSource(s, **kwargs)
        p = Path(s)
        if p.is_dir():
            return ImageFolderSource(p, **kwargs)
        if not p.exists():
            raise SourceError(f"{p}: no such file or folder")
        if p.suffix.lower() in IMAGE_EXTS:
            img = cv2.imread(str(p), cv2.IMREAD_COLOR)
            if img is None:
                raise SourceError(f"{p}: cannot decode image")
            one = ArraySource([img])
            one.name, one.photos = str(p), True
            return one
        return VideoFileSource(p)
    if isinstance(source, Iterable):
        return ArraySource(source, **kwargs)
    raise ValueError(f"source: {type(source).__name__} is not a camera index, path, URL or iterable of frames")


class LatestFrameReader:
    """Reads a source on a background thread; :meth:`read` returns the newest unseen frame.

    Frames that arrive while the consumer is busy replace each other: at most one
    frame ever waits, so the consumer is never more than one frame behind the
    source. ``dropped`` counts frames replaced before being read. An error in the
    source (a camera unplugged) is raised from :meth:`read` in the consumer.

    ``realtime`` releases each frame at its timestamp, as a camera would; by default a video
    file plays at its own rate (read as fast as it decodes, a consumer would see one frame in
    several), and every other source as fast as it delivers.
    """

    def __init__(self, source, realtime: bool | None = None, **kwargs):
        self.source = open_source(source, **kwargs)
        self.realtime = isinstance(self.source, VideoFileSource) if realtime is None else bool(realtime)
        self._cond = threading.Condition()
        self._slot: Frame | None = None
        self._done = False
        self._error: BaseException | None = None
        self._stop = threading.Event()
        self.dropped = 0
        self.delivered = 0
        self._thread = threading.Thread(target=self._run, name="gesturekit-reader", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        it = None
        t0 = time.monotonic()
        try:
            it = iter(self.source)   # in the try: a source that fails to start must still end the reader
            for item in it:
                if self.realtime and self._stop.wait(max(0.0, t0 + item[1] / 1000.0 - time.monotonic())):
                    break
                with self._cond:
                    if self._slot is not None:
                        self.dropped += 1
                    self._slot = item
                    self._cond.notify_all()
                if self._stop.is_set():
                    break
        except BaseException as e:  # noqa: BLE001 - handed to the consumer, never lost on this thread
            self._error = e
        finally:
            try:
                close = getattr(it, "close", None)
                if close is not None:
                    close()
                self.source.close()
            except Exception as e:  # noqa: BLE001 - still set _done below, or read() waits forever
                log.warning("closing %s failed: %s", getattr(self.source, "name", "the source"), e)
            with self._cond:
                self._done = True
                self._cond.notify_all()

    def read(self, timeout: float | None = None) -> Frame | None:
        """The newest frame not yet read; waits for one. None at the end (or on timeout)."""
        with self._cond:
            ok = self._cond.wait_for(lambda: self._slot is not None or self._done, timeout)
            if self._slot is not None:
                item, self._slot = self._slot, None
                self.delivered += 1
                return item
            if self._error is not None and ok:
                err, self._error = self._error, None
                raise err
            return None

    @property
    def pending(self) -> int:
        """Frames waiting to be read: 0 or 1."""
        return int(self._slot is not None)

    def __iter__(self) -> Iterator[Frame]:
        while True:
            item = self.read()
            if item is None:
                return
            yield item

    def stop(self, timeout: float = 2.0) -> None:
        """Ask the thread to end and wait up to ``timeout`` s (a blocked camera read may outlast it;
        the thread is a daemon and never keeps the program alive)."""
        self._stop.set()
        self._thread.join(timeout)

    close = stop

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


__all__ = ["ArraySource", "CameraSource", "FrameSource", "ImageFolderSource", "LatestFrameReader",
           "SourceError", "StreamSource", "VideoFileSource", "open_source"]
