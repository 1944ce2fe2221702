"""Qt bridges: bus events → a GUI-thread signal (EventBridge); a tracker stream → a worker thread (TrackerWorker)."""

from __future__ import annotations

import contextlib
import functools
import threading
import time

from ..errors import missing_extra
from ..images import as_bgr_uint8

try:
    from PyQt6.QtCore import QObject, Qt, QThread, QTimer, pyqtSignal, pyqtSlot
except ImportError as e:  # the qt extra is optional
    raise missing_extra("qt", "PyQt6") from e


class _Relay(QObject):
    """Carries events from the bus thread to a bridge. Never a Qt child, so it is never deleted
    under the bus's feet: emitting on a bridge whose C++ side is gone crashes the process."""

    hop = pyqtSignal(object)


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
    It listens until :meth:`close` or until it is destroyed (with its ``parent``).
    """

    gesture_event = pyqtSignal(object)

    def __init__(self, bus, gesture: str | None = None, *, phase: str | None = None,
                 hand: str | int | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.bus = bus
        # Queued explicitly: even a slot that is a plain function runs on our thread.
        # Qt drops the connection (and queued events) when this bridge is deleted.
        self._relay = relay = _Relay()
        relay.hop.connect(self._deliver, Qt.ConnectionType.QueuedConnection)
        # The closure holds the relay: a bound ``hop.emit`` does not keep its QObject alive, and
        # the bus thread may still be emitting after the bridge (and its last reference) is gone.
        self._sub = sub = bus.on(gesture, lambda ev: relay.hop.emit(ev), phase=phase, hand=hand)
        # Deleted with its parent (a closed dialog): leave the bus, or it keeps a dead bridge.
        self._leave = lambda *_: bus.off(sub)   # not a method: it runs after self is gone
        self.destroyed.connect(self._leave)

    @pyqtSlot(object)
    def _deliver(self, ev) -> None:
        self.gesture_event.emit(ev)

    def close(self) -> None:
        """Stop listening to the bus (idempotent)."""
        if self._sub is not None:
            self.bus.off(self._sub)
            self._sub = None
            # RuntimeError: already deleted with its parent (and so off the bus)
            with contextlib.suppress(RuntimeError, TypeError):
                self.destroyed.disconnect(self._leave)


_LIVE: set = set()   # started workers not yet ended: Qt aborts if a running QThread is destroyed


def _let_go(worker: TrackerWorker) -> None:
    """Drop a worker that has ended (unless started again since) from :data:`_LIVE`."""
    try:
        running = worker._runs_ended != worker._runs or worker.isRunning()
    except RuntimeError:   # deleted with its parent meanwhile: nothing runs any more
        running = False
    if not running:
        _LIVE.discard(worker)


class TrackerWorker(QThread):
    """Runs ``tracker.stream(source)`` on its own thread and hands results to the GUI.

    ``on_hands(frame, hands)`` (e.g. ``DesktopController.update``) is called on
    the worker for *every* frame, so control never waits for painting; the GUI
    gets :attr:`frame_ready` ``(frame, hands, stats)`` latest-wins: until the
    GUI thread has run the slots for the last one, newer frames are dropped
    instead of queueing. Frames are BGR uint8 (gray and BGRA sources converted).
    ``stats`` has ``fps``, ``latency_ms`` (frame read + tracking + on_hands)
    and ``frame`` (index). :attr:`failed` carries an error message;
    :attr:`done` fires when the stream ends or :meth:`stop` is called.

    Create it on the GUI thread. A started worker is kept alive until it ends,
    and one whose ``parent`` is destroyed is stopped, not destroyed while running (it sends no
    more frames; :attr:`done` and :attr:`failed` still reach their slots).
    """

    frame_ready = pyqtSignal(object, object, object)
    failed = pyqtSignal(str)
    done = pyqtSignal(int)
    _frame = pyqtSignal(object, object, object)

    def __init__(self, tracker, source, on_hands=None, max_frames: int | None = None,
                 parent: QObject | None = None):
        super().__init__(parent)
        self.tracker, self.source, self.on_hands = tracker, source, on_hands
        self.max_frames = max_frames
        self.frames = 0
        self._stop = False
        self._pending = False
        self._detached = False   # its parent was destroyed while it ran: no more frames
        self._lock = threading.Lock()
        self._runs = self._runs_ended = 0
        # Through our own (GUI) thread, so the frame counts as taken once its slots have run.
        self._frame.connect(self._deliver, Qt.ConnectionType.QueuedConnection)
        self.finished.connect(self._ended)
        if parent is not None:
            parent.destroyed.connect(self._orphaned)

    def start(self, *args) -> None:
        """Start the thread (``QThread.start``); it stays referenced until it ends. Does nothing
        while its stream runs (as ``QThread.start``); once the stream has ended (e.g. from a
        :attr:`done` slot) it starts again."""
        if self.isRunning():
            if self._runs_ended != self._runs:
                # Qt's start() is a no-op now: counted, this run would never be seen to end
                # and the worker (and its tracker) would stay in _LIVE for ever
                return
            self.wait()   # run() is over, the thread is about to end: Qt's start() would be a no-op
        _LIVE.add(self)
        self._runs += 1
        super().start(*args)

    def stop(self, timeout_ms: int = 10000) -> bool:
        """Ask the loop to end after the current frame and wait for it; False if it is still busy
        (a source blocked in a read): it then ends on its own, and is kept alive until it does."""
        self._stop = True
        if self.isRunning() and QThread.currentThread() is not self:
            return self.wait(timeout_ms)
        return True

    def taken(self) -> None:
        """Let the next frame be sent now (done for you once the :attr:`frame_ready` slots return)."""
        with self._lock:
            self._pending = False

    @pyqtSlot(object, object, object)
    def _deliver(self, frame, hands, stats) -> None:
        try:
            if not self._detached:
                self.frame_ready.emit(frame, hands, stats)
        finally:
            self.taken()

    @pyqtSlot()
    def _ended(self) -> None:
        # Kept referenced until here, its last queued signal: no queued delivery outlives it
        # (dropping it in stop() instead segfaulted a later test running its queued `done`).
        if self._runs_ended == self._runs:   # not started again (a looped video) meanwhile
            self.wait()   # `finished` comes just before the thread really ends
            # Let go from the event loop, not here: the last reference dropped in this slot deleted
            # the worker inside its own slot, and Qt threw away the slots still queued for it (a
            # subclass's own `finished` slot). A partial, not a bound method: its proxy, not the
            # worker, is the receiver that runs it.
            QTimer.singleShot(0, functools.partial(_let_go, self))

    def _orphaned(self, *_) -> None:
        # The parent deletes its children next: a running QThread must not be one of them.
        self._stop = True
        if not self.isRunning():
            # deleted with the parent, and with it the queued `finished` that would drop it
            _LIVE.discard(self)
        else:
            self.setParent(None)
            # The frames were for the parent's view, which is gone; the connections stay: Qt drops
            # those to the parent's objects itself, and the others (a `done` that releases the
            # mouse) are the user's.
            self._detached = True

    def run(self) -> None:
        this_run, times = self._runs, []
        try:
            it = iter(self.tracker.stream(self.source))
            while not self._stop:
                t0 = time.perf_counter()
                try:
                    frame, hands = next(it)
                except StopIteration:
                    break
                frame = as_bgr_uint8(frame)   # what annotate and VideoWidget take (no copy if BGR)
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
                    self._frame.emit(frame, hands, stats)
                if self.max_frames is not None and self.frames >= self.max_frames:
                    break
            close = getattr(it, "close", None)
            if close is not None:
                close()
        except Exception as e:  # shown to the user; the thread ends cleanly
            self.failed.emit(f"{type(e).__name__}: {e}")
        finally:
            self._runs_ended = this_run
            self.done.emit(self.frames)
