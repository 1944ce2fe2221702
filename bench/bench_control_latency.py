"""Latency from a frame's Hands (or a gesture event) to the OS input event.

The clock starts when ``DesktopController.update(hands)`` / ``.handle(event)``
is called and stops when the X server delivers the resulting event to a
pynput listener (XRecord) — i.e. what any application would see. The peer is
pynput itself driven directly (no mapping, filter or state machine), so the
ratio is gesturekit's overhead. Runs under its own Xvfb unless ``--display``.

    python bench/bench_control_latency.py [--runs 300] [--display :0]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import print_table


def start_xvfb() -> tuple[subprocess.Popen, str]:
    r, w = os.pipe()
    proc = subprocess.Popen(["Xvfb", "-displayfd", str(w), "-screen", "0", "1920x1080x24", "-nolisten", "tcp"],
                            pass_fds=(w,), stderr=subprocess.DEVNULL)
    os.close(w)
    num = b""
    while not num.endswith(b"\n"):
        chunk = os.read(r, 16)
        if not chunk:
            break
        num += chunk
    os.close(r)
    if not num.strip():
        raise SystemExit("Xvfb did not start (apt-get install -y xvfb)")
    return proc, f":{int(num)}"


class Deliveries:
    """Timestamps of the input events the X server delivers."""

    def __init__(self):
        from pynput import keyboard, mouse

        self.cond = threading.Condition()
        self.moves: dict[tuple[int, int], float] = {}
        self.clicks: list[tuple[bool, float]] = []
        self.keys: list[float] = []
        self.mouse = mouse.Listener(on_move=self._move, on_click=self._click)
        self.kb = keyboard.Listener(on_press=self._key)
        for li in (self.mouse, self.kb):
            li.start()
            li.wait()

    def _move(self, x, y):
        t = time.perf_counter()
        with self.cond:
            self.moves[(int(x), int(y))] = t
            self.cond.notify_all()

    def _click(self, x, y, button, pressed):
        t = time.perf_counter()
        with self.cond:
            self.clicks.append((pressed, t))
            self.cond.notify_all()

    def _key(self, key):
        t = time.perf_counter()
        with self.cond:
            self.keys.append(t)
            self.cond.notify_all()

    def wait(self, pred, timeout=1.0):
        with self.cond:
            if not self.cond.wait_for(pred, timeout):
                raise TimeoutError("the X server did not deliver the event within 1 s")

    def stop(self):
        from gesturekit.control.controller import stop_listener

        stop_listener(self.mouse)
        stop_listener(self.kb)


def make_hands(u, v, t_ms):
    from gesturekit.types import Hand, Hands

    kp = np.tile(np.array([[u * 640, v * 480]], np.float32), (21, 1))
    h = Hand(kp, np.ones(21, np.float32), np.zeros(4, np.float32), 0.9, (640, 480), handedness="right",
             track_id=1)
    return Hands([h], (640, 480), t_ms)


def stats(ms: list[float]) -> dict:
    a = np.asarray(ms)
    return {"n": len(a), "median_ms": f"{np.median(a):.3f}", "p90_ms": f"{np.percentile(a, 90):.3f}",
            "max_ms": f"{a.max():.3f}"}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=300)
    ap.add_argument("--display", help="use this X display instead of a private Xvfb")
    args = ap.parse_args(argv)

    proc = None
    if args.display:
        os.environ["DISPLAY"] = args.display
    else:
        proc, os.environ["DISPLAY"] = start_xvfb()
    try:
        from pynput import mouse as pmouse

        from gesturekit.control import (
            ControlConfig,
            DesktopController,
            DryRunBackend,
            PynputBackend,
        )
        from gesturekit.events import GestureEvent

        cfg = ControlConfig(keys={"swipe_left": "left"})   # the shipped defaults otherwise
        ctl = DesktopController(cfg, PynputBackend(), hotkey=False)
        rec = Deliveries()
        rng = np.random.default_rng(0)
        rows = []

        # -- peer: pynput directly
        raw = pmouse.Controller()
        lat = []
        for _ in range(args.runs):
            xy = (int(rng.integers(0, 1920)), int(rng.integers(0, 1080)))
            t0 = time.perf_counter()
            raw.position = xy
            rec.wait(lambda xy=xy, t0=t0: rec.moves.get(xy, 0) >= t0)
            lat.append((rec.moves[xy] - t0) * 1000)
        peer = stats(lat)
        rows.append({"path": "pynput direct: position = (x, y) → X event", **peer})

        # -- Hands → pointer move
        lat, calls = [], []
        t_ms = 0.0
        for _ in range(args.runs):
            t_ms += 33.3
            u, v = rng.uniform(0.2, 0.8), rng.uniform(0.15, 0.75)
            hands = make_hands(u, v, t_ms)
            ctl.mouse.lost()   # jump: every frame is a distinct, large move
            t0 = time.perf_counter()
            xy = ctl.update(hands)
            t1 = time.perf_counter()
            rec.wait(lambda xy=xy, t0=t0: rec.moves.get(tuple(xy), 0) >= t0)
            lat.append((rec.moves[tuple(xy)] - t0) * 1000)
            calls.append((t1 - t0) * 1000)
        move = stats(lat)
        rows.append({"path": "update(Hands) → X pointer motion", **move})
        rows.append({"path": "  of which update() call (in process)", **stats(calls)})

        # -- pinch started/ended → button press/release
        press, release = [], []
        for _ in range(args.runs // 3):
            n = len(rec.clicks)
            t0 = time.perf_counter()
            ctl.handle(GestureEvent("started", "pinch", 1, "right", t_ms))
            rec.wait(lambda n=n: len(rec.clicks) > n)
            press.append((rec.clicks[n][1] - t0) * 1000)
            t0 = time.perf_counter()
            ctl.handle(GestureEvent("ended", "pinch", 1, "right", t_ms))
            rec.wait(lambda n=n: len(rec.clicks) > n + 1)
            release.append((rec.clicks[n + 1][1] - t0) * 1000)
        rows.append({"path": "pinch started → button press", **stats(press)})
        rows.append({"path": "pinch ended → button release", **stats(release)})

        # -- dynamic gesture → key
        keys = []
        for _ in range(args.runs // 3):
            n = len(rec.keys)
            t0 = time.perf_counter()
            ctl.handle(GestureEvent("started", "swipe_left", 1, "right", t_ms))
            rec.wait(lambda n=n: len(rec.keys) > n)
            keys.append((rec.keys[n] - t0) * 1000)
        rows.append({"path": "swipe_left started → key press", **stats(keys)})

        # -- pure compute (dry-run backend, no OS)
        dry = DesktopController(ControlConfig(screen=(0, 0, 1920, 1080)), DryRunBackend(echo=False), hotkey=False)
        calls = []
        for i in range(args.runs * 3):
            hands = make_hands(0.5 + 0.1 * np.sin(i / 10), 0.5, i * 33.3)
            t0 = time.perf_counter()
            dry.update(hands)
            calls.append((time.perf_counter() - t0) * 1000)
        rows.append({"path": "update(Hands), dry-run backend (mapping + filter only)", **stats(calls)})

        rec.stop()
        ctl.close()
        dry.close()
        print(f"# control latency, X display {os.environ['DISPLAY']}"
              f"{' (private Xvfb 1920x1080)' if proc else ''}, {os.cpu_count()} CPUs, runs={args.runs}")
        print_table(rows, ["path", "n", "median_ms", "p90_ms", "max_ms"])
        print(f"ratio update→motion / pynput direct (median): "
              f"{float(move['median_ms']) / float(peer['median_ms']):.2f}×")
        return 0
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(5)


if __name__ == "__main__":
    sys.exit(main())
