"""Gesture viewer: keypoints, gestures and events live; record and train your own gestures.

    python examples/gesture_viewer.py                      # camera 0
    python examples/gesture_viewer.py --source clip.mp4
    python examples/gesture_viewer.py --samples my_gestures.csv --model my_gestures.npz

Type a label, press Record and hold the pose for a few seconds (move it
around a little); do the same for every gesture you want (at least two), then
press Train: a small MLP is trained on the recorded samples, its held-out
accuracy is shown, it is saved to --model and the tracker switches to it
(the rules still answer what the model is unsure about).

For tests and docs: ``--screenshot PATH --frames N`` runs N frames offscreen
and saves the window; ``--record LABEL`` starts recording at once and
``--train`` trains when the stream ends. Needs the ``qt`` extra.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

import numpy as np

from gesturekit.qt.app import AppError, open_stream, parse_app_args, prepare_display, run_window

STOP_WAIT_MS = 2000   # how long closing waits for the tracker thread (a stuck camera read) before exiting


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--samples", default="gesture_samples.csv", help="CSV the recorder appends to")
    p.add_argument("--model", default=None, help="where Train saves the model (default: samples name .npz)")
    p.add_argument("--mirror", action="store_true", help="show the frames mirrored (selfie view)")
    p.add_argument("--record", metavar="LABEL", help="start recording samples with this label")
    p.add_argument("--train", action="store_true", help="train when the stream ends (with --frames)")
    p.add_argument("--epochs", type=int, default=80, help="MLP training epochs (default 80)")
    a = parse_app_args(p, argv)
    if a.epochs < 1:   # else only Train, after the recording, would say so
        p.error("--epochs must be >= 1")
    if a.model is None:
        a.model = str(Path(a.samples).with_suffix(".npz"))
    return a


def train_samples(samples: Path, model_path: Path, epochs: int = 80) -> dict:
    """Train the gesture MLP on a recorded sample file; returns a summary (raises ValueError)."""
    from gesturekit.gestures import TrainOptions, fit_file

    report = fit_file(samples, options=TrainOptions(epochs=epochs))
    report.model.save(model_path)
    return {"classes": report.classes, "train_rows": report.train_rows, "val_rows": report.val_rows,
            "accuracy": report.accuracy, "model": str(model_path)}


def install_model(tracker, model_path: Path) -> bool:
    """Switch ``tracker`` to the trained model (rules fill in where it is unsure)."""
    if not hasattr(tracker, "recognizer"):
        return False
    from gesturekit.gestures import GestureOptions, GestureRecognizer

    tracker.recognizer = GestureRecognizer(GestureOptions(mode="both", model_path=model_path))
    return True


class Recorder:
    """Records the first hand of every frame under the current label (called on the worker thread)."""

    def __init__(self, path: Path):
        self.path = path
        self.label: str | None = None
        self._rec = None
        self.count = 0
        self.error: str | None = None
        # close() (GUI thread, Train) must not pull the file from under add() (worker thread)
        self._lock = threading.Lock()

    def start(self, label: str) -> None:
        from gesturekit.gestures import SampleRecorder
        from gesturekit.gestures.samples import check_label

        label = check_label(label)   # SampleRecorder.add's own rule, now rather than at the first sample
        with self._lock:
            if self._rec is None:
                self._rec = SampleRecorder(self.path)
        self.label = label

    def stop(self) -> None:
        self.label = None

    def __call__(self, frame, hands) -> None:
        label = self.label
        if label is None or not len(hands):
            return
        h = hands[0]
        if h.keypoints.shape != (21, 2) or not np.isfinite(h.keypoints).all():
            return
        with self._lock:
            if self._rec is None:
                return
            try:
                self._rec.add(label, h.keypoints, h.handedness)
                self.count += 1
            except (OSError, ValueError) as e:
                self.error = str(e)
                self.label = None

    def close(self) -> None:
        self.label = None
        with self._lock:
            if self._rec is not None:
                self._rec.close()
                self._rec = None


def build_window(tracker, source, args):
    from PyQt6.QtCore import QThread, pyqtSignal
    from PyQt6.QtGui import QFontDatabase
    from PyQt6.QtWidgets import (
        QGroupBox,
        QHBoxLayout,
        QLabel,
        QLineEdit,
        QPlainTextEdit,
        QPushButton,
        QVBoxLayout,
        QWidget,
    )

    from gesturekit.draw import annotate
    from gesturekit.qt import EventBridge, TrackerWorker, VideoWidget

    win = QWidget()
    win.setWindowTitle("gesturekit — gesture viewer")
    video = VideoWidget()
    video.setMinimumSize(480, 360)
    hands_label = QLabel("no hands")
    hands_label.setWordWrap(True)
    fps = QLabel("FPS –")
    log = QPlainTextEdit()
    log.setReadOnly(True)
    log.setMaximumBlockCount(300)
    log.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))

    recorder = Recorder(Path(args.samples))
    label_edit = QLineEdit(args.record or "")
    label_edit.setPlaceholderText("new gesture label, e.g. three_fingers")
    rec_button = QPushButton("Record")
    rec_button.setCheckable(True)
    rec_count = QLabel(f"samples → {args.samples}")
    train_button = QPushButton("Train")
    train_status = QLabel("record two or more labels, then Train")
    train_status.setWordWrap(True)

    def set_recording(on: bool):
        if on:
            try:
                recorder.start(label_edit.text())
            except (ValueError, OSError) as e:
                train_status.setText(f"cannot record: {e}")
                rec_button.setChecked(False)
                return
        else:
            recorder.stop()
        rec_button.setChecked(on)
        rec_button.setText("Stop recording" if on else "Record")

    rec_button.toggled.connect(set_recording)

    class TrainThread(QThread):
        finished_with = pyqtSignal(object)

        def run(self):
            try:
                self.finished_with.emit(train_samples(Path(args.samples), Path(args.model), args.epochs))
            except Exception as e:  # shown in the window
                self.finished_with.emit(e)

    trainer = TrainThread()

    def train():
        set_recording(False)
        recorder.close()   # flush; reopened by the next Record
        train_button.setEnabled(False)
        train_status.setText("training…")
        trainer.start()

    def trained(result):
        train_button.setEnabled(True)
        if isinstance(result, Exception):
            train_status.setText(f"training failed: {result}")
            win.train_result = result
            return
        used = install_model(tracker, Path(result["model"]))
        train_status.setText(
            f"trained {', '.join(result['classes'])} on {result['train_rows']} samples: "
            f"held-out accuracy {result['accuracy']:.0%} ({result['val_rows']} samples); "
            f"saved {result['model']}" + ("; now live" if used else ""))
        win.train_result = result

    trainer.finished_with.connect(trained)
    train_button.clicked.connect(train)

    side = QVBoxLayout()
    g1 = QGroupBox("Hands")
    QVBoxLayout(g1).addWidget(hands_label)
    g1.layout().addWidget(fps)
    g2 = QGroupBox("Events")
    QVBoxLayout(g2).addWidget(log)
    g3 = QGroupBox("Record a gesture")
    l3 = QVBoxLayout(g3)
    for w in (label_edit, rec_button, rec_count, train_button, train_status):
        l3.addWidget(w)
    for g in (g1, g2, g3):
        side.addWidget(g)
    lay = QHBoxLayout(win)
    lay.addWidget(video, 3)
    lay.addLayout(side, 2)

    events = getattr(tracker, "events", None)
    bridge = EventBridge(events) if events is not None else None
    t_start = time.monotonic()

    def on_event(ev):
        extra = f" {ev.duration_ms:.0f} ms" if ev.kind in ("held", "ended") else ""
        who = f"#{ev.track_id}" + (f" {ev.handedness}" if ev.handedness else "")
        log.appendPlainText(f"{time.monotonic() - t_start:6.2f}s  {who:10s} {ev.kind:13s} {ev.gesture or ''}{extra}")

    if bridge is not None:
        bridge.gesture_event.connect(on_event)

    worker = TrackerWorker(tracker, source, on_hands=recorder, max_frames=args.frames)

    def on_frame(frame, hands, stats):
        import cv2
        # mirror the frame, then draw the mirrored hands: drawn text stays readable
        view = annotate(cv2.flip(frame, 1), hands.mirrored()) if args.mirror else annotate(frame, hands)
        video.set_frame(view)
        fps.setText(f"FPS {stats['fps']:.1f} · {stats['latency_ms']:.1f} ms per frame")
        lines = []
        for h in hands:
            lines.append(f"#{h.track_id} {h.handedness or '?'}: <b>{h.gesture or '–'}</b>"
                         f" {h.gesture_score:.2f} (hand {h.score:.2f})")
        hands_label.setText("<br>".join(lines) or "no hands")
        if recorder.error:
            train_status.setText(f"recording stopped: {recorder.error}")
            recorder.error = None
            set_recording(False)
        if recorder.label is not None or recorder.count:
            rec_count.setText(f"{recorder.count} samples recorded → {args.samples}")

    worker.frame_ready.connect(on_frame)
    if args.record:
        set_recording(True)
    win.video, win.worker, win.log, win.recorder, win.bridge = video, worker, log, recorder, bridge
    win.trainer, win.train, win.train_status, win.train_result = trainer, train, train_status, None
    win.resize(1100, 620)
    return win, worker


def main(argv=None, tracker=None, source=None) -> int:
    """Run the app; ``tracker``/``source`` may be injected (tests, custom trackers). Returns the exit code."""
    args = parse_args(argv)
    if rc := prepare_display(args, "gesture_viewer"):
        return rc
    try:
        from PyQt6.QtCore import QTimer
        from PyQt6.QtWidgets import QApplication
    except ImportError as e:
        print(f"gesture_viewer: {e}", file=sys.stderr)
        return 1
    try:
        import gesturekit.gestures.mlp  # noqa: F401  (the trainer)
        from gesturekit.gestures import SampleRecorder  # noqa: F401
    except ImportError as e:
        print(f"gesture_viewer: gesturekit.gestures (SampleRecorder, MLP trainer) is missing: {e}",
              file=sys.stderr)
        return 1
    own_source = source is None   # opened by open_stream: ours to close, as the tracker
    try:
        source, tracker, own_tracker = open_stream(args.source, tracker, source)
    except AppError as e:
        print(f"gesture_viewer: {e}", file=sys.stderr)
        return 1

    busy = False
    try:
        app = QApplication.instance() or QApplication(sys.argv[:1])
        win, worker = build_window(tracker, source, args)

        def done(n):
            if args.train and (args.screenshot or args.frames):
                # started from the event loop, after run_window has connected to finished_with: a
                # training that fails at once (one label) would otherwise emit before that, unseen
                QTimer.singleShot(0, win.train)
                return win.trainer.finished_with   # the window closes once trained
            return None

        rc = run_window(app, win, worker, "gesture_viewer", frames=args.frames, screenshot=args.screenshot,
                        on_failed=lambda msg: win.train_status.setText(f"stream failed: {msg}"), on_done=done)
        busy = not worker.stop(STOP_WAIT_MS)   # a worker stuck in a camera read ends on its own
        win.trainer.wait(10000)
        r = win.train_result
        if isinstance(r, Exception):
            if args.train:   # else it was shown in the window
                print(f"gesture_viewer: training failed: {r}", file=sys.stderr)
                rc = rc or 1
        elif r is not None:
            print(f"trained {r['classes']}: held-out accuracy {r['accuracy']:.3f} "
                  f"({r['val_rows']} samples) -> {r['model']}")
        return rc
    finally:
        recorder = getattr(locals().get("win"), "recorder", None)
        if recorder is not None:
            recorder.close()
        if locals().get("win") is not None and win.bridge is not None:
            win.bridge.close()
        if not busy:   # a busy worker still uses them
            if own_source:   # already open: a run that failed before the worker read it kept the camera
                source.close()
            if own_tracker:
                tracker.close()


if __name__ == "__main__":
    sys.exit(main())
