"""Virtual mouse: move the OS pointer with your hand, pinch to click and drag.

    python examples/virtual_mouse.py                       # camera 0, real control
    python examples/virtual_mouse.py --source clip.mp4 --dry-run
    python examples/virtual_mouse.py --config my_controls.toml
    python examples/virtual_mouse.py --source clip.mp4 --screenshot shot.png --frames 60

The window shows the (mirrored) camera with the hand skeleton, the active
region (the part of the frame mapped onto the whole screen) and the current
gesture; a start/pause button, sliders for sensitivity and smoothing, and FPS
and latency read-outs. The stop hotkey (default Ctrl+Alt+G) stops control from
any window; losing the hand, pausing and closing always release the buttons.
Needs the ``qt`` and ``control`` extras.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

from gesturekit.qt.app import AppError, open_stream, parse_app_args, prepare_display, run_window

HERE = Path(__file__).resolve().parent
DEFAULT_CONFIG = HERE / "controls.toml"
STOP_WAIT_MS = 2000   # how long closing waits for the tracker thread (a stuck camera read) before exiting


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config", default=str(DEFAULT_CONFIG), help="control TOML (default examples/controls.toml)")
    p.add_argument("--dry-run", action="store_true", help="print mouse/keyboard actions instead of doing them")
    return parse_app_args(p, argv)


def draw_view(frame: np.ndarray, hands, controller) -> np.ndarray:
    """The frame as the user sees it: mirrored if configured, skeleton, active region, gesture."""
    from gesturekit.draw import annotate

    cfg = controller.config
    h, w = frame.shape[:2]
    view = cv2.flip(frame, 1) if cfg.mirrored else frame.copy()
    shown = hands.mirrored() if cfg.mirrored else hands
    view = annotate(view, shown, copy=False)
    x1, y1, x2, y2 = cfg.mouse.region
    state = controller.state
    col = {"running": (80, 200, 80), "paused": (0, 190, 255), "stopped": (60, 60, 230)}[state]
    cv2.rectangle(view, (int(x1 * w), int(y1 * h)), (int(x2 * w), int(y2 * h)), col, 2, cv2.LINE_AA)
    hand = controller.select_hand(hands)
    if hand is not None:
        u, v = controller.mouse.normalized_point(hand)
        if np.isfinite([u, v]).all():   # a frame may lack the pointer point (NaN): int() would raise
            cv2.circle(view, (int(u * w), int(v * h)), 7, col, -1, cv2.LINE_AA)
        label = f"{hand.gesture or '-'}  [{controller.mouse.mode}]"
        cv2.putText(view, label, (10, h - 14), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (0, 0, 0), 4, cv2.LINE_AA)
        cv2.putText(view, label, (10, h - 14), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (255, 255, 255), 2,
                    cv2.LINE_AA)
    return view


def build_window(controller, tracker, source, frames=None):
    """The main window (a QWidget) wired to a TrackerWorker; returns (window, worker)."""
    from PyQt6.QtCore import Qt
    from PyQt6.QtWidgets import (
        QGridLayout,
        QGroupBox,
        QHBoxLayout,
        QLabel,
        QPushButton,
        QSlider,
        QVBoxLayout,
        QWidget,
    )

    from gesturekit.qt import TrackerWorker, VideoWidget

    win = QWidget()
    win.setWindowTitle("gesturekit — virtual mouse" + ("  (dry run)" if controller.config.dry_run else ""))
    video = VideoWidget()
    video.setMinimumSize(480, 360)

    state = QLabel()
    state.setObjectName("state")
    button = QPushButton()

    def show_state(s=None):
        s = controller.state
        state.setText(f"control: <b>{s}</b>")
        button.setText({"running": "Pause", "paused": "Start", "stopped": "Resume"}[s])

    def toggle():
        if controller.state == "stopped":
            controller.resume()
        else:
            controller.set_engaged(controller.state != "running")
        show_state()

    button.clicked.connect(toggle)

    def slider(lo, hi, value, scale):
        s = QSlider(Qt.Orientation.Horizontal)
        s.setRange(int(lo * scale), int(hi * scale))
        s.setValue(round(value * scale))
        return s

    sens = slider(0.2, 5.0, controller.config.mouse.sensitivity, 10)
    sens_label = QLabel()
    smooth = slider(0.05, 5.0, controller.config.mouse.smoothing.min_cutoff, 100)
    smooth_label = QLabel()

    def on_sens(v):
        controller.mouse.set_sensitivity(v / 10)
        sens_label.setText(f"sensitivity {v / 10:.1f}×")

    def on_smooth(v):
        controller.mouse.set_smoothing(min_cutoff=v / 100)
        smooth_label.setText(f"smoothing: cutoff {v / 100:.2f} Hz (lower = steadier)")

    sens.valueChanged.connect(on_sens)
    smooth.valueChanged.connect(on_smooth)
    on_sens(sens.value())
    on_smooth(smooth.value())

    fps = QLabel("FPS –")
    latency = QLabel("latency –")
    gesture = QLabel("gesture –")
    pointer = QLabel("pointer –")
    hint = QLabel(f"stop hotkey: {controller.config.safety.stop_hotkey or 'off'}"
                  + (f" · pause: hold {controller.config.safety.engage}" if controller.config.safety.engage else ""))
    hint.setWordWrap(True)

    box = QGroupBox("Control")
    g = QGridLayout(box)
    for r, wdg in enumerate((state, button, sens_label, sens, smooth_label, smooth, fps, latency, gesture,
                             pointer, hint)):
        g.addWidget(wdg, r, 0)
    g.setRowStretch(g.rowCount(), 1)
    side = QVBoxLayout()
    side.addWidget(box)
    lay = QHBoxLayout(win)
    lay.addWidget(video, 3)
    lay.addLayout(side, 1)
    show_state()

    def on_hands(frame, hands):
        controller.update(hands)

    worker = TrackerWorker(tracker, source, on_hands=on_hands, max_frames=frames)

    def on_frame(frame, hands, stats):
        video.set_frame(draw_view(frame, hands, controller))
        fps.setText(f"FPS {stats['fps']:.1f}")
        upd = (controller.last_update_s or 0.0) * 1000
        latency.setText(f"latency {stats['latency_ms']:.1f} ms (control {upd:.2f} ms)")
        hand = controller.select_hand(hands)
        gesture.setText(f"gesture {hand.gesture if hand is not None and hand.gesture else '–'}")
        p = controller.mouse.position
        pointer.setText("pointer –" if p is None else f"pointer {p[0]:.0f}, {p[1]:.0f}"
                        + (f"  {sorted(controller.mouse.pressed)} down" if controller.mouse.pressed else ""))
        show_state()

    worker.frame_ready.connect(on_frame)
    win.video, win.worker, win.controller = video, worker, controller
    win.labels = {"fps": fps, "latency": latency, "gesture": gesture, "state": state, "pointer": pointer}
    win.sliders = {"sensitivity": sens, "smoothing": smooth}
    win.button = button
    win.resize(1000, 560)
    return win, worker


def main(argv=None, tracker=None, source=None) -> int:
    """Run the app; ``tracker``/``source`` may be injected (tests, custom trackers). Returns the exit code."""
    args = parse_args(argv)
    if rc := prepare_display(args, "virtual_mouse"):
        return rc
    try:
        from PyQt6.QtWidgets import QApplication, QMessageBox

        from gesturekit.control import (
            ConfigError,
            ControlUnavailableError,
            DesktopController,
            load_config,
        )
    except ImportError as e:
        print(f"virtual_mouse: {e}", file=sys.stderr)
        return 1

    try:
        config = load_config(args.config)
    except ConfigError as e:
        print(f"virtual_mouse: {e}", file=sys.stderr)
        return 1
    if args.dry_run:
        config.dry_run = True
    try:
        controller = DesktopController(config)
    except (ControlUnavailableError, ImportError) as e:
        print(f"virtual_mouse: {e}", file=sys.stderr)
        return 1

    own_tracker, own_source, worker = False, source is None, None
    try:
        try:
            source, tracker, own_tracker = open_stream(args.source, tracker, source)
        except AppError as e:
            print(f"virtual_mouse: {e}", file=sys.stderr)
            return 1
        controller.attach(tracker)

        app = QApplication.instance() or QApplication(sys.argv[:1])
        win, worker = build_window(controller, tracker, source, args.frames)

        def failed(msg):
            if not args.screenshot:
                QMessageBox.critical(win, "virtual mouse", msg)

        return run_window(app, win, worker, "virtual_mouse", frames=args.frames, screenshot=args.screenshot,
                          on_failed=failed, on_done=lambda n: controller.release_all())
    finally:
        # Release first: the worker may be stuck in a camera read for seconds.
        controller.close()
        busy = worker is not None and not worker.stop(STOP_WAIT_MS)
        if not busy:   # a busy worker still uses them; it ends on its own
            if own_source and source is not None:   # open_stream opened it before the window
                source.close()
            if own_tracker:
                tracker.close()


if __name__ == "__main__":
    sys.exit(main())
