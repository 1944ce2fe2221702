"""Soak: the real HandTracker (shipped models, gesture events on) over 10,000+ video frames.

    python bench/soak_tracker.py [--frames 10000] [--json bench/results/soak.json]

Plays the clips of ../shared/data/videos one after another, again and again, as one video
(timestamps keep rising; each cut to the next clip is a scene change the tracker must take),
with a callback on every gesture event. Samples the process's resident memory (RSS, from
/proc) every 500 frames and prints JSON: RSS after the first 1,000 frames (models loaded,
buffers grown), at the end, its growth in between, the least-squares slope per 1,000 frames
over that span, and the frames, hands and events seen. tests/test_tracker.py has the same
check on fake models and Python's heap (tracemalloc); this one covers ONNX Runtime and OpenCV.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from common import save_json

ROOT = Path(__file__).resolve().parents[1]
VIDEOS = ROOT.parent / "shared" / "data" / "videos"
SAMPLE_EVERY = 500
SETTLED = 1000   # frames before memory counts: sessions allocate their arenas on first use


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def frames_forever(videos: list[Path]):
    """(frame, ms since the previous frame) from the clips, in turn, without end."""
    while True:
        for v in videos:
            cap = cv2.VideoCapture(str(v))
            step = 1000.0 / (cap.get(cv2.CAP_PROP_FPS) or 30.0)
            try:
                while True:
                    ok, frame = cap.read()
                    if not ok:
                        break
                    yield frame, step
            finally:
                cap.release()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--frames", type=int, default=10_000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", type=Path, help="also write the result here")
    a = ap.parse_args()
    if a.frames < 2 * SETTLED:
        ap.error(f"--frames must be at least {2 * SETTLED}")
    videos = sorted(VIDEOS.glob("*.mp4"))
    if not videos:
        raise SystemExit(f"no clips in {VIDEOS}")
    sys.path.insert(0, str(ROOT))
    from gesturekit import HandTracker, TrackerOptions

    events = 0

    def on_event(ev) -> None:
        nonlocal events
        events += 1

    samples, hands_seen, ts = [], 0, 0.0
    t0 = time.perf_counter()
    with HandTracker(TrackerOptions(max_hands=2, threads=a.threads)) as tracker:
        tracker.on(callback=on_event)
        for i, (frame, step) in enumerate(frames_forever(videos)):
            if i == a.frames:
                break
            ts += step
            hands_seen += len(tracker.process(frame, ts))
            if (i + 1) % SAMPLE_EVERY == 0:
                samples.append((i + 1, rss_mb()))
        tracker.events.wait_idle()
    wall = time.perf_counter() - t0
    n, mb = np.array(samples).T
    late = n >= SETTLED
    slope = float(np.polyfit(n[late] / 1000, mb[late], 1)[0])
    at_settled = float(mb[n == SETTLED][0])
    res = {"frames": a.frames, "clips": [v.name for v in videos], "hands": hands_seen, "events": events,
           "rss_mb_at_1000": round(at_settled, 1), "rss_mb_end": round(float(mb[-1]), 1),
           "rss_growth_mb": round(float(mb[-1]) - at_settled, 1), "rss_slope_mb_per_1000_frames": round(slope, 3),
           "rss_mb_max": round(float(mb.max()), 1), "wall_s": round(wall, 1),
           "rss_mb_every_500": [round(float(x), 1) for x in mb]}
    print(json.dumps(res))
    save_json(a.json, res)
    return 0


if __name__ == "__main__":
    sys.exit(main())
