import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from gesturekit.events import EventBus, GestureEvent


def test_video_widget_shows_frame_keeping_aspect(qapp):
    from gesturekit.qt import VideoWidget

    w = VideoWidget()
    w.resize(400, 400)
    frame = np.zeros((120, 320, 3), np.uint8)
    frame[:, :160] = (255, 0, 0)      # left half blue (BGR)
    frame[:, 160:] = (0, 0, 255)      # right half red
    w.set_frame(frame)
    w.show()
    qapp.processEvents()
    img = w.grab().toImage()
    # 320x120 fit into 400x400 → 400x150 centred vertically (letterbox above and below).
    assert (w.frame_rect.width(), w.frame_rect.height()) == (400, 150)
    assert w.frame_rect.top() == 125
    left, right, top = img.pixelColor(100, 200), img.pixelColor(300, 200), img.pixelColor(200, 50)
    assert (left.blue(), left.red()) == (255, 0)
    assert (right.red(), right.blue()) == (255, 0)
    assert (top.red(), top.green(), top.blue()) == (0x20, 0x20, 0x20)
    assert w.frames_shown == 1
    w.close()


def test_video_widget_rejects_bad_frames(qapp):
    from gesturekit.qt import VideoWidget, frame_to_qimage

    w = VideoWidget()
    with pytest.raises(ValueError, match="uint8"):
        w.set_frame(np.zeros((10, 10, 3), np.float32))
    with pytest.raises(ValueError, match="shape"):
        frame_to_qimage(np.zeros((10, 10, 2), np.uint8))
    # An empty crop: once painted, it divided by zero inside paintEvent, which aborts the process.
    with pytest.raises(ValueError, match="empty"):
        w.set_frame(np.zeros((0, 10, 3), np.uint8))
    w.grab()
    # A non-contiguous view (a crop) is copied, not read with wrong strides.
    big = np.arange(40 * 60 * 3, dtype=np.uint8).reshape(40, 60, 3)
    img = frame_to_qimage(big[5:15, 10:30])
    c = img.pixelColor(0, 0)
    assert (c.blue(), c.green(), c.red()) == tuple(big[5, 10])


def test_bridge_delivers_on_gui_thread(qapp, wait):
    from PyQt6.QtCore import QThread

    from gesturekit.qt import EventBridge

    bus = EventBus(gestures=["pinch", "fist"])
    bridge = EventBridge(bus, phase="started")
    got = []
    bridge.gesture_event.connect(lambda ev: got.append((ev, QThread.currentThread() is qapp.thread(),
                                                threading.current_thread() is threading.main_thread())))
    ev = GestureEvent("started", "pinch", 3, "right", 1000.0)
    bus.publish([GestureEvent("ended", "pinch", 3, "right", 900.0), ev])
    assert wait(lambda: got)
    assert got == [(ev, True, True)]          # the filter held back "ended"
    bridge.close()
    bus.publish([GestureEvent("started", "fist", 3, "right", 1100.0)])
    bus.wait_idle()
    qapp.processEvents()
    assert len(got) == 1
    bus.close()


def test_missing_pyqt_names_the_extra_and_app_helpers_still_load():
    code = ("import sys; sys.modules['PyQt6'] = None\n"
            "import gesturekit.qt.app as app\n"
            "print(callable(app.open_stream))\n"
            "try:\n    from gesturekit.qt import VideoWidget\nexcept ImportError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.startswith("True") and "pip install 'gesturekit[qt]'" in out


def test_video_widget_shows_bgra_and_gray_with_a_channel_axis(qapp):
    from gesturekit.qt import VideoWidget, frame_to_qimage

    bgra = np.zeros((6, 9, 4), np.uint8)
    bgra[..., :3] = (255, 0, 0)          # blue, alpha 0 as screen grabs often have
    c = frame_to_qimage(bgra).pixelColor(4, 3)
    assert (c.blue(), c.red(), c.alpha()) == (255, 0, 255)
    gray = np.full((5, 7, 1), 77, np.uint8)
    img = frame_to_qimage(gray)
    assert (img.width(), img.height(), img.pixelColor(6, 4).red()) == (7, 5, 77)
    w = VideoWidget()
    w.set_frame(bgra)                   # raised in the GUI slot, which aborts a PyQt6 app
    w.grab()


def run_qt_script(code):
    """Run ``code`` in a fresh offscreen Python: what it tests crashed the process before."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})


def test_bridge_destroyed_with_its_parent_leaves_the_bus():
    code = """
import logging
from PyQt6 import sip
from PyQt6.QtCore import QObject
from PyQt6.QtWidgets import QApplication
from gesturekit.events import EventBus, GestureEvent
from gesturekit.qt import EventBridge

class Errors(logging.Handler):
    def emit(self, record):
        errors.append(record)

errors = []
logging.getLogger("gesturekit.events").addHandler(Errors())
app = QApplication([])
bus = EventBus(gestures=["pinch"])
parent = QObject()
EventBridge(bus, parent=parent).gesture_event.connect(lambda ev: None)
sip.delete(parent)                  # a closed dialog deletes its children
app.processEvents()
for i in range(3):                  # each emitted on the dead bridge; the 2nd crashed the process
    bus.publish([GestureEvent("started", "pinch", 3, "right", 1000.0 + i)])
    bus.wait_idle()
    app.processEvents()
print("errors", len(errors))
"""
    r = run_qt_script(code)
    assert r.returncode == 0 and "errors 0" in r.stdout, r.stdout + r.stderr



def test_bridges_deleted_while_events_stream_never_crash():
    # the bus thread may be emitting on a bridge's relay as the bridge's parent deletes it
    code = """
import threading, time
from PyQt6.QtCore import QCoreApplication, QEvent, QObject
from gesturekit.events import EventBus, GestureEvent
from gesturekit.qt import EventBridge

app = QCoreApplication([])
bus = EventBus(max_queue=10000)
stop = False
def pump():
    while not stop:
        bus.publish([GestureEvent("started", "pinch", 1, "right", 0.0)] * 5)
        time.sleep(0.002)
t = threading.Thread(target=pump, daemon=True)
t.start()
for i in range(60):
    win = QObject()
    EventBridge(bus, parent=win).gesture_event.connect(lambda ev: None)
    for _ in range(5):
        app.processEvents()
        time.sleep(0.002)
    del win   # the parent goes, and its bridge with it
stop = True
t.join()
bus.wait_idle(5)
print("subscriptions left", len(bus._subs))
"""
    r = run_qt_script(code)
    assert r.returncode == 0 and "subscriptions left" in r.stdout, (r.returncode, r.stdout + r.stderr[-2000:])


def test_bridge_close_after_its_parent_deleted_it(qapp):
    # close() is idempotent: a bridge its parent (a closed dialog) deleted has left the bus already
    from PyQt6 import sip
    from PyQt6.QtCore import QObject

    from gesturekit.qt import EventBridge

    bus, parent = EventBus(gestures=["pinch"]), QObject()
    bridge = EventBridge(bus, parent=parent)
    sip.delete(parent)
    assert not bus._subs
    bridge.close()
    bridge.close()
    bus.close()


class _Stream:
    """A tracker stand-in: ``frames`` in order, no hands, ``delay`` seconds apart."""

    def __init__(self, frames, delay=0.0):
        self.frames, self.delay = frames, delay

    def stream(self, source):
        from gesturekit.types import Hands

        for i, f in enumerate(self.frames):
            time.sleep(self.delay)
            yield f, Hands([], (f.shape[1], f.shape[0]), timestamp_ms=i * 33.0)


def run_worker(wait, worker, slot):
    ended = []
    worker.frame_ready.connect(slot)
    worker.done.connect(ended.append)
    worker.start()
    assert wait(lambda: ended, 5.0)
    assert worker.wait(2000)


def test_worker_frames_keep_coming_to_a_slot_that_never_calls_taken(qapp, wait):
    from gesturekit.qt import TrackerWorker

    frames = [np.full((48, 64, 3), i, np.uint8) for i in range(20)]
    worker = TrackerWorker(_Stream(frames, delay=0.01), "scripted")
    got = []
    run_worker(wait, worker, lambda f, h, s: got.append((int(f[0, 0, 0]), threading.current_thread()
                                                              is threading.main_thread())))
    assert len(got) > 1, "only the first frame reached the GUI"
    assert all(on_gui for _, on_gui in got)
    assert [i for i, _ in got] == sorted(i for i, _ in got)


def test_worker_started_again_when_its_stream_ends(qapp, wait):
    from gesturekit.qt import TrackerWorker

    frames = [np.zeros((8, 8, 3), np.uint8)] * 3
    worker = TrackerWorker(_Stream(frames, delay=0.01), "scripted")
    ends = []
    worker.done.connect(lambda n: (ends.append(n), len(ends) == 1 and worker.start()))   # loop once
    worker.start()
    assert wait(lambda: len(ends) == 2 and worker.isFinished(), 5.0)
    assert ends == [3, 6]


def test_worker_restarted_from_done_while_its_thread_is_still_ending(qapp, wait):
    # `done` reaches the GUI while the worker thread is still inside run(): QThread.start() is a
    # no-op then, so the loop silently stopped (and the worker stayed referenced for ever)
    from PyQt6.QtCore import Qt

    from gesturekit.qt import TrackerWorker

    worker = TrackerWorker(_Stream([np.zeros((8, 8, 3), np.uint8)] * 2), "scripted")
    ends = []
    worker.done.connect(lambda n: (ends.append(n), len(ends) == 1 and worker.start()))
    worker.done.connect(lambda n: time.sleep(0.3), Qt.ConnectionType.DirectConnection)  # thread lingers
    worker.start()
    assert wait(lambda: len(ends) == 2 and worker.isFinished(), 5.0), ends
    assert ends == [2, 4]


def _released(wait, ref) -> bool:
    import gc

    return wait(lambda: gc.collect() >= 0 and ref() is None, 3.0)


def test_worker_started_twice_lets_go_of_its_tracker_when_it_ends(qapp, wait):
    import weakref

    from gesturekit.qt import TrackerWorker

    stream = _Stream([np.zeros((8, 8, 3), np.uint8)] * 500, delay=0.005)
    ref, worker = weakref.ref(stream), TrackerWorker(stream, "scripted")
    del stream
    worker.start()
    assert wait(lambda w=worker: w.frames > 0, 3.0)
    worker.start()                      # a double click on Start: Qt ignores it while running
    assert worker.stop(5000)
    del worker
    assert _released(wait, ref), "the worker (and its tracker) is referenced for ever"


def test_worker_stopped_then_deleted_with_its_parent_lets_go_of_its_tracker(qapp, wait):
    import weakref

    from PyQt6 import sip
    from PyQt6.QtCore import QObject

    from gesturekit.qt import TrackerWorker

    stream = _Stream([np.zeros((8, 8, 3), np.uint8)] * 500, delay=0.005)
    parent = QObject()
    ref, worker = weakref.ref(stream), TrackerWorker(stream, "scripted", parent=parent)
    del stream
    worker.start()
    assert worker.stop(5000)
    sip.delete(parent)                  # before the queued `finished` that let go of it ran
    del worker
    assert _released(wait, ref), "the worker (and its tracker) is referenced for ever"


def test_worker_hands_the_gui_bgr_frames_from_gray_and_bgra_sources(qapp, wait):
    from gesturekit.draw import annotate
    from gesturekit.qt import TrackerWorker, VideoWidget

    frames = [np.full((48, 64), 9, np.uint8), np.full((48, 64, 1), 9, np.uint8),
              np.full((48, 64, 4), 9, np.uint8)]
    worker = TrackerWorker(_Stream(frames), "scripted", max_frames=3)
    video, got = VideoWidget(), []

    def on_frame(frame, hands, stats):
        got.append((frame.shape, frame.dtype))
        if frame.shape == (48, 64, 3):
            video.set_frame(annotate(frame, hands))   # what the example apps do

    run_worker(wait, worker, on_frame)
    assert got == [((48, 64, 3), np.uint8)] * 3


def test_worker_survives_its_parent_and_nobody_holding_it():
    # Qt aborts the process when a running QThread is destroyed: by its parent (a window
    # closed with WA_DeleteOnClose) or by the garbage collector (``TrackerWorker(...).start()``).
    code = """
import gc, time
import numpy as np
from PyQt6 import sip
from PyQt6.QtCore import QObject
from PyQt6.QtWidgets import QApplication
from gesturekit.qt import TrackerWorker
from gesturekit.types import Hands

ended = []

class Slow:
    def stream(self, source):
        try:
            for i in range(40):
                time.sleep(0.01)
                yield np.zeros((8, 8, 3), np.uint8), Hands([], (8, 8), timestamp_ms=float(i))
        finally:
            ended.append(True)

app = QApplication([])
parent = QObject()
w = TrackerWorker(Slow(), None, parent=parent)
w.frame_ready.connect(lambda *a: None)
w.start()
time.sleep(0.05)
del w
sip.delete(parent)
TrackerWorker(Slow(), None).start()
gc.collect()
end = time.monotonic() + 5
while len(ended) < 2 and time.monotonic() < end:
    app.processEvents()
    time.sleep(0.01)
time.sleep(0.1)
app.processEvents()
gc.collect()
print("ended", len(ended))
"""
    r = run_qt_script(code)
    assert r.returncode == 0 and "ended 2" in r.stdout, r.stderr


def test_a_worker_nobody_holds_runs_the_slots_queued_for_it_before_it_goes(qapp, wait):
    # Dropped from the live set inside its own `finished` slot, the worker was deleted there (Qt's
    # rule: deleteLater, never delete, an object whose slot runs), and Qt threw away the slots
    # still queued for it: a subclass's own `finished` slot never ran.
    from PyQt6.QtCore import pyqtSlot

    from gesturekit.qt import TrackerWorker

    seen, gone = [], []

    class Logged(TrackerWorker):
        def __init__(self, *a):
            super().__init__(*a)
            self.finished.connect(self.log_end)

        @pyqtSlot()
        def log_end(self):
            seen.append(self.frames)

    worker = Logged(_Stream([np.zeros((8, 8, 3), np.uint8)] * 3), "scripted")
    worker.destroyed.connect(lambda *_: gone.append(True))
    worker.start()
    del worker
    assert wait(lambda: gone, 5.0), "the worker is referenced for ever"
    assert seen == [3]


def test_a_worker_orphaned_while_running_keeps_the_users_connections(qapp, wait):
    # Its parent gone, the worker disconnected every slot of its signals: a `done` that releases
    # the mouse button, connected by the user to an object that lives on, never ran.
    from PyQt6 import sip
    from PyQt6.QtCore import QObject

    from gesturekit.qt import TrackerWorker

    class View(QObject):
        calls = []

        def on_frame(self, *a):
            self.calls.append("frame")

        def on_done(self, n):
            self.calls.append("done")

    parent, done, frames_after = View(), [], []
    worker = TrackerWorker(_Stream([np.zeros((8, 8, 3), np.uint8)] * 200, delay=0.01), "scripted",
                           parent=parent)
    worker.frame_ready.connect(parent.on_frame)
    worker.done.connect(parent.on_done)
    worker.done.connect(done.append)
    worker.start()
    assert wait(lambda: View.calls, 3.0)
    sip.delete(parent)                  # a window closed with WA_DeleteOnClose
    View.calls.clear()
    worker.frame_ready.connect(lambda *a: frames_after.append(True))   # the view is gone: no frames
    assert wait(lambda: done, 5.0), "the user's `done` slot was disconnected"
    assert worker.wait(2000)
    assert View.calls == [] and frames_after == []


def test_a_worker_deleted_with_its_parent_just_after_it_ended():
    # Its release, queued when it ended, then found a deleted worker: a RuntimeError in a Qt
    # callback, which aborts a PyQt6 app inside exec().
    code = """
import time
import numpy as np
from PyQt6 import sip
from PyQt6.QtCore import QObject
from PyQt6.QtWidgets import QApplication
from gesturekit.qt import TrackerWorker, bridge
from gesturekit.types import Hands

class Three:
    def stream(self, source):
        for i in range(3):
            yield np.zeros((8, 8, 3), np.uint8), Hands([], (8, 8), timestamp_ms=float(i))

app = QApplication([])
parent = QObject()
w = TrackerWorker(Three(), None, parent=parent)
w.finished.connect(lambda: sip.delete(parent))   # runs just after the worker's own `finished` slot
w.start()
del w
end = time.monotonic() + 1
while time.monotonic() < end:
    app.processEvents()
    time.sleep(0.01)
print("live", len(bridge._LIVE))
"""
    r = run_qt_script(code)
    assert r.returncode == 0 and "live 0" in r.stdout and "Error" not in r.stderr, r.stdout + r.stderr
