import threading

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
        frame_to_qimage(np.zeros((10, 10, 4), np.uint8))
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
    import subprocess
    import sys
    code = ("import sys; sys.modules['PyQt6'] = None\n"
            "import gesturekit.qt.app as app\n"
            "print(callable(app.open_stream))\n"
            "try:\n    from gesturekit.qt import VideoWidget\nexcept ImportError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.startswith("True") and "pip install 'gesturekit[qt]'" in out
