"""Live mode: a tracker's frames processed on a background thread, newest frame first.

:meth:`gesturekit.HandTracker.start_live` starts one :class:`LiveRun`; each run has its own
reader, thread and stop flag, so a worker that outlives ``stop()``'s timeout (a slow callback)
neither feeds its old frames nor reports its error into the next session.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import numpy as np

from .sources import LatestFrameReader

log = logging.getLogger(__name__)


class LiveRun:
    """``process(frame, ts)`` then ``callback(frame, result)`` for the newest frame of ``source``,
    on a daemon thread, until the source ends or :meth:`stop`. A callback that raises is logged
    and the run goes on; a source that fails ends it, its error kept in :attr:`error`."""

    def __init__(self, source, process: Callable[[np.ndarray, float], object],
                 callback: Callable[[np.ndarray, object], None], realtime: bool | None = None):
        self.error: BaseException | None = None
        self.reader = LatestFrameReader(source, realtime=realtime)
        self._stop = threading.Event()
        self._process, self._callback = process, callback
        self._thread = threading.Thread(target=self._loop, name="gesturekit-tracker", daemon=True)
        self._thread.start()

    @property
    def alive(self) -> bool:
        """Running and not asked to stop (a worker still finishing a slow callback is not)."""
        return self._thread.is_alive() and not self._stop.is_set()

    def _loop(self) -> None:
        last = None
        try:
            while not self._stop.is_set():
                item = self.reader.read(timeout=0.1)
                if item is None:
                    if self.reader._done and self.reader.pending == 0:
                        break
                    continue
                frame, ts = item
                if last is not None and ts <= last:
                    ts = last + 1e-3  # a source clock that stalls must not stop the live loop
                last = ts
                result = self._process(frame, ts)
                try:
                    self._callback(frame, result)
                except Exception:  # the user's bug must not end the stream
                    log.exception("live callback raised; the stream goes on")
        except Exception as e:  # noqa: BLE001 - kept for the caller (e.g. a camera unplugged)
            self.error = e
            log.error("live tracking stopped: %s", e)
        finally:
            self.reader.stop(timeout=1.0)

    def stop(self, timeout: float = 2.0) -> None:
        """Ask the run to end and wait at most ``timeout`` s (never for a blocked source or callback)."""
        self._stop.set()
        self.reader.stop(timeout=min(timeout, 1.0))
        if self._thread is not threading.current_thread():
            self._thread.join(timeout)
