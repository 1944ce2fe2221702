"""Qt bridges: bus events → a GUI-thread signal (EventBridge); a tracker stream → a worker thread (TrackerWorker)."""

from __future__ import annotations

import threading
import time

from ..errors import missing_extra

try:
    from PyQt6.QtCore import QObject, Qt, QThread, pyqtSignal, pyqtSlot
except ImportError as e:  # the qt extra is optional
    raise missing_extra("qt", "PyQt6") from e


class EventBridge(QObject):
    """Re-emit a bus's :class:`~gesturekit.events.GestureEvent` s as :attr:`gesture_event` on the GUI thread.

    ::

        bridge = EventBridge(tracker.events)               # or any EventBus
        bridge.gesture_event.connect(self.on_gesture)      # runs on the GUI thread

    (The signal is not called ``event``: that name is ``QObject.event``, the
    virtual Qt calls for every QEvent, and shadowing it aborts the process.)

    The bus calls back on its worker thread; the bridge hops to the thread it
    lives on (create it on the GUI thread) through a queued connection, so
    slots may touch widgets. The filters are those of ``EventBus.on``.
    """

    gesture_event = pyqtSignal(object)
    _incoming = pyqtSignal(object)

    def __init__(self, bus, gesture: str | None = None, *, phase: str | None = None,
                 hand: str | int | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.bus = bus
        # Queued explicitly: even a slot that is a plain function runs on our thread.
        self._incoming.connect(self._deliver, Qt.ConnectionType.QueuedConnection)
        self._sub = bus.on(gesture, self._incoming.emit, phase=phase, hand=hand)

    @pyqtSlot(object)
    def _deliver(self, ev) -> None:
        self.gesture_event.emit(ev)

    def close(self) -> None:
        """Stop listening to the bus (idempotent)."""
        if self._sub is not None:
            self.bus.off(self._sub)
            self._sub = None


_BUSY: set = set()   # workers asked to stop that have not ended yet


class TrackerWorker(QThread):
    """Runs ``tracker.stream(source)`` on its own thread and hands results to the GUI.

    ``on_hands(frame, hands)`` (e.g. ``DesktopController.update``) is called on
    the worker for *every* frame, so control never waits for painting; the GUI
    gets :attr:`frame_ready` ``(frame, hands, stats)`` latest-wins: while it
    has not taken the last one, newer frames replace it instead of queueing.
    ``stats`` has ``fps``, ``latency_ms`` (frame read + tracking + on_hands)
    and ``frame`` (index). :attr:`failed` carries an error message;
    :attr:`done` fires when the stream ends or :meth:`stop` is called.
    """

    frame_ready = pyqtSignal(object, object, object)
    failed = pyqtSignal(str)
    done = pyqtSignal(int)

    def __init__(self, tracker, source, on_hands=None, max_frames: int | None = None,
                 parent: QObject | None = None):
        super().__init__(parent)
        self.tracker, self.source, self.on_hands = tracker, source, on_hands
        self.max_frames = max_frames
        self.frames = 0
        self._stop = False
        self._pending = False
        self._lock = threading.Lock()

    def stop(self, timeout_ms: int = 10000) -> bool:
        """Ask the loop to end after the current frame and wait for it; False if it is still busy.

        A worker still running after ``timeout_ms`` (a source blocked in a read) is
        kept referenced until it ends: Qt aborts if a running QThread is destroyed.
        """
        self._stop = True
        if self.isRunning() and QThread.currentThread() is not self:
            if not self.wait(timeout_ms):
                _BUSY.add(self)
                self.finished.connect(lambda: _BUSY.discard(self))
                return False
        return True

    def taken(self) -> None:
        """The GUI calls this once it has shown a frame, so the next one is sent."""
        with self._lock:
            self._pending = False

    def run(self) -> None:
        times: list[float] = []
        try:
            it = iter(self.tracker.stream(self.source))
            while not self._stop:
                t0 = time.perf_counter()
                try:
                    frame, hands = next(it)
                except StopIteration:
                    break
                if self.on_hands is not None:
                    self.on_hands(frame, hands)
                t1 = time.perf_counter()
                times.append(t1)
                times[:] = times[-30:]
                fps = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0
                self.frames += 1
                stats = {"fps": fps, "latency_ms": (t1 - t0) * 1000.0, "frame": self.frames}
                with self._lock:
                    send = not self._pending or self.max_frames is not None
                    self._pending = True
                if send:
                    self.frame_ready.emit(frame, hands, stats)
                if self.max_frames is not None and self.frames >= self.max_frames:
                    break
            close = getattr(it, "close", None)
            if close is not None:
                close()
        except Exception as e:  # shown to the user; the thread ends cleanly
            self.failed.emit(f"{type(e).__name__}: {e}")
        finally:
            self.done.emit(self.frames)
