"""End to end on a real clip: HandTracker (video mode) -> DesktopController -> pynput -> Xvfb.

The pointer read back from the X server must follow the tracked hand point, and
every button pressed on the way must be released by the end.
Set ``GESTUREKIT_WRITE_DOCS=1`` to also write the trace to ``docs/pointer_trace.png``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data"
CLIP = DATA / "videos" / "ali_hand.mp4"   # one hand moving over the whole clip
MODELS = [ROOT / "models" / "detector.onnx", ROOT / "models" / "keypoints.onnx"]
MAX_FRAMES = 160
CHECK_EVERY = 20   # frames between xdotool read-backs


class LoggingBackend:
    """Forwards to a real backend and logs every action (xdotool cannot query buttons)."""

    def __init__(self, inner):
        self.inner = inner
        self.log: list[tuple] = []
        self.last_move: tuple[int, int] | None = None

    def screen_bounds(self):
        return self.inner.screen_bounds()

    def move(self, x, y):
        self.inner.move(x, y)
        self.last_move = (int(x), int(y))
        self.log.append(("move", int(x), int(y)))

    def press(self, button):
        self.inner.press(button)
        self.log.append(("press", button))

    def release(self, button):
        self.inner.release(button)
        self.log.append(("release", button))

    def scroll(self, dx, dy):
        self.inner.scroll(dx, dy)
        self.log.append(("scroll", dx, dy))

    def key_down(self, key):
        self.inner.key_down(key)
        self.log.append(("key_down", key))

    def key_up(self, key):
        self.inner.key_up(key)
        self.log.append(("key_up", key))

    def close(self):
        self.inner.close()

    def count(self, kind, arg=None):
        return sum(1 for a in self.log if a[0] == kind and (arg is None or a[1] == arg))


@pytest.fixture
def clip():
    if not CLIP.exists():
        pytest.skip(f"{CLIP} not found (shared data absent)")
    for m in MODELS:
        if not m.exists():
            pytest.skip(f"{m} not found")
    return CLIP


def _corr(a, b) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.std() < 1e-9 or b.std() < 1e-9:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def _plot(path: Path, hand_xy: np.ndarray, ptr_xy: np.ndarray, screen, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.4), dpi=100)
    ax.plot(hand_xy[:, 0], hand_xy[:, 1], ".-", lw=1, ms=3, label="hand point mapped to screen")
    ax.plot(ptr_xy[:, 0], ptr_xy[:, 1], ".-", lw=1, ms=3, label="pointer (X server)")
    sx, sy, sw, sh = screen
    ax.set_xlim(sx, sx + sw)
    ax.set_ylim(sy + sh, sy)   # screen y grows downwards
    ax.set_aspect("equal")
    ax.set_xlabel("screen x (px)")
    ax.set_ylabel("screen y (px)")
    ax.set_title(title.replace(", presses", "\npresses"), fontsize=9)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def test_real_clip_pointer_follows_hand(xvfb, mouse_location, clip, tmp_path):
    from gesturekit import HandTracker
    from gesturekit.control import ControlConfig, DesktopController, PynputBackend
    from gesturekit.control.config import MouseConfig, SafetyConfig
    from gesturekit.tracker import TrackerOptions

    opts = TrackerOptions(threads=1, max_hands=1)  # shipped defaults otherwise
    # Whole frame as the active region and no acceleration: the pointer is then an
    # affine (mirrored) image of the filtered hand point, which is what we check.
    cfg = ControlConfig(mouse=MouseConfig(region=(0.0, 0.0, 1.0, 1.0), acceleration=0.0),
                        safety=SafetyConfig(stop_hotkey=None), mirrored=True)
    backend = LoggingBackend(PynputBackend())
    screen = backend.screen_bounds()
    rows = []          # (frame, hand tracked, hand x, hand y, pointer x, pointer y)
    checks = []        # (xdotool position, last position sent)
    with HandTracker(opts) as tracker, DesktopController(cfg, backend, hotkey=False) as ctl:

        def on_frame(frame, hands):
            i = len(rows)
            hand = ctl.select_hand(hands)
            if hand is not None and ctl.engaged:
                hx, hy = ctl.mouse.screen_target(hand)   # hand point in screen px, unfiltered
                px, py = backend.last_move if backend.last_move else (np.nan, np.nan)
                rows.append((i, 1, hx, hy, px, py))
            else:
                rows.append((i, 0, np.nan, np.nan, np.nan, np.nan))
            if i % CHECK_EVERY == 0 and backend.last_move is not None:
                checks.append((mouse_location(), backend.last_move))

        t0 = time.perf_counter()
        n = ctl.run(tracker, str(clip), max_frames=MAX_FRAMES, on_frame=on_frame)
        ms_per_frame = (time.perf_counter() - t0) * 1000 / max(n, 1)
        held_at_end = set(ctl.mouse.pressed)
        final = mouse_location()
    assert n == MAX_FRAMES

    r = np.array(rows, float)
    tracked = r[:, 1] == 1
    ok = tracked & np.isfinite(r[:, 4])
    share = float(tracked.mean())
    cx, cy = _corr(r[ok, 2], r[ok, 4]), _corr(r[ok, 3], r[ok, 5])
    presses = {b: backend.count("press", b) for b in ("left", "right", "middle")}
    releases = {b: backend.count("release", b) for b in ("left", "right", "middle")}
    summary = (f"{clip.name}: {n} frames, hand in {share:.0%}, corr x {cx:.3f} y {cy:.3f}, "
               f"presses {sum(presses.values())} releases {sum(releases.values())}, "
               f"{ms_per_frame:.1f} ms/frame, {len(checks)} xdotool checks")
    print(summary)

    hand_xy, ptr_xy = r[ok][:, 2:4], r[ok][:, 4:6]
    _plot(tmp_path / "pointer_trace.png", hand_xy, ptr_xy, screen, summary)
    if os.environ.get("GESTUREKIT_WRITE_DOCS") == "1":
        _plot(ROOT / "docs" / "pointer_trace.png", hand_xy, ptr_xy, screen, summary)

    # the tracker found the hand on a good part of the clip, and moved the OS pointer
    assert share >= 0.3, summary
    assert ok.sum() >= 30 and backend.count("move") >= 30, summary
    # the X server's pointer is where the controller put it
    assert checks and all(got == sent for got, sent in checks), checks
    assert final == backend.last_move
    # mirrored: hand moving right in the camera moves the pointer left, so the
    # mapped hand x (already mirrored) and pointer x must rise together
    assert cx > 0.8 and cy > 0.8, summary
    # no button left down; every press had its release
    assert not held_at_end
    assert presses == releases, (presses, releases)


PINCH_CLIP = DATA / "videos" / "huytung_volctl.mp4"   # the thumb and index tips meet three times


def test_real_pinches_press_and_release_the_real_button(xvfb, clip):
    """The default click gesture, pinch, read by the shipped tracker on a real clip."""
    from gesturekit import HandTracker
    from gesturekit.control import ControlConfig, DesktopController, PynputBackend
    from gesturekit.control.config import MouseConfig, SafetyConfig
    from gesturekit.tracker import TrackerOptions

    if not PINCH_CLIP.exists():
        pytest.skip(f"{PINCH_CLIP} not found (shared data absent)")
    cfg = ControlConfig(mouse=MouseConfig(region=(0.0, 0.0, 1.0, 1.0)), safety=SafetyConfig(stop_hotkey=None),
                        mirrored=True)
    backend = LoggingBackend(PynputBackend())
    with HandTracker(TrackerOptions(threads=1, max_hands=1)) as tracker, \
            DesktopController(cfg, backend, hotkey=False) as ctl:
        events = []
        tracker.on("pinch", lambda e: events.append((e.kind, round(e.timestamp_ms))), phase=None)
        n = ctl.run(tracker, str(PINCH_CLIP))
        tracker.events.wait_idle()
        held_at_end = set(ctl.mouse.pressed)
    presses, releases = backend.count("press", "left"), backend.count("release", "left")
    print(f"{PINCH_CLIP.name}: {n} frames, pinch events {[e for e in events if e[0] != 'held']}, "
          f"left presses {presses} releases {releases}")
    assert presses >= 2 and presses == releases and not held_at_end
    assert [k for k, _ in events if k != "held"][:2] == ["started", "ended"]
