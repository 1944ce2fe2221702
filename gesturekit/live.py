"""Live mode: a tracker's frames processed on a background thread, newest frame first.

:meth:`gesturekit.HandTracker.start_live` starts one :class:`LiveRun`; each run has its own
reader, thread and stop flag, so a worker that outlives ``stop()``'s timeout (a slow callback)
neither feeds its old frames nor reports its error into the next session.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import numpy as np

from .sources import LatestFrameReader

log = logging.getLogger(__name__)


class LiveRun:
    """``process(frame, ts)`` then ``callback(frame, result)`` for the newest frame of ``source``,
    on a daemon thread, until the source ends or :meth:`stop`. A callback that raises is logged
    and the run goes on; a source that fails ends it, its error kept in :attr:`error`."""

    def __init__(self, source, process: Callable[[np.ndarray, float], object],
                 callback: Callable[[np.ndarray, object], None], realtime: bool | None = None,
                 on_end: Callable[[], None] | None = None):
        self.error: BaseException | None = None
        self.reader = LatestFrameReader(source, realtime=realtime)
        self._stop = threading.Event()
        self._process, self._callback, self._on_end = process, callback, on_end
        self._thread = threading.Thread(target=self._loop, name="gesturekit-tracker", daemon=True)
        self._thread.start()

    @property
    def alive(self) -> bool:
        """Running and not asked to stop (a worker still finishing a slow callback is not)."""
        return self._thread.is_alive() and not self._stop.is_set()

    def _loop(self) -> None:
        clock = _MonotonicClock()
        try:
            while not self._stop.is_set():
                item = self.reader.read(timeout=0.1)
                if item is None:
                    if self.reader._done and self.reader.pending == 0:
                        self.reader.read(timeout=0)  # raises the source's error if it failed meanwhile
                        break
                    continue
                frame, ts = item
                result = self._process(frame, clock(ts))
                try:
                    self._callback(frame, result)
                except Exception:  # the user's bug must not end the stream
                    log.exception("live callback raised; the stream goes on")
        except BaseException as e:  # noqa: BLE001 - kept for the caller (a camera unplugged, a sys.exit)
            self.error = e
            log.error("live tracking stopped: %r", e)
        finally:
            self.reader.stop(timeout=1.0)
            if self._on_end is not None:
                try:
                    self._on_end()
                except Exception:  # noqa: BLE001 - a subscriber's bug must not hide the run's own end
                    log.exception("live run: ending the stream's events failed")

    def stop(self, timeout: float = 2.0) -> None:
        """Ask the run to end and wait at most ``timeout`` s (never for a blocked source or callback)."""
        deadline = time.monotonic() + timeout
        self._stop.set()
        self.reader.stop(timeout=min(timeout, 1.0))
        if self._thread is not threading.current_thread():
            self._thread.join(max(0.0, deadline - time.monotonic()))


class _MonotonicClock:
    """A source's timestamps made strictly increasing for the tracker: a clock that stalls or
    jumps back (a clip played in a loop, a camera's clock reset) is shifted forward to go on one
    frame interval after the last, rather than crawling on by a microsecond a frame, which would
    freeze the smoothing and every timer."""

    def __init__(self, default_step_ms: float = 1000.0 / 30.0):
        self.offset, self.last, self.step = 0.0, None, default_step_ms

    def __call__(self, ts: float) -> float:
        t = ts + self.offset
        if self.last is not None:
            if t > self.last:
                self.step = t - self.last
            else:
                self.offset += self.last + self.step - t
                t = self.last + self.step
        self.last = t
        return t
