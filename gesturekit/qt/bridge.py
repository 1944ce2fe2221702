"""EventBridge: gesture events from the EventBus worker thread → a Qt signal on the GUI thread."""

from __future__ import annotations

from ..errors import missing_extra

try:
    from PyQt6.QtCore import QObject, Qt, pyqtSignal, pyqtSlot
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
