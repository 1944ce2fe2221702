"""The whole pipeline from the full image, gesturekit and MediaPipe Hands scored the same way.

    python bench/pipeline_vs_mediapipe.py [--data ../shared/data/hands26k/val] [--limit N] \
        [--json bench/results/pipeline_vs_mediapipe.json]

The issue's pipeline target (hand found ≥ 0.98, PCK@0.1 ≥ 0.93 on hands26k val) is scored against
labels MediaPipe made. This runs MediaPipe itself (0.10.21, static mode, two hands, lite and full,
in its own venv through ``bench_tracker``'s worker) on the same photos and scores its points with
``gesturekit eval pipeline``'s own scoring (:func:`gesturekit.cli.predict.match_hands`): how
far the label maker, run again, is from its own labels says how much of the target is reachable.
``overlap`` counts the hands each reader finds that the other misses (gesturekit against
MediaPipe full). Times are left to ``bench_tracker.py``; this measures accuracy only.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np
from bench_tracker import run_mediapipe
from common import save_json

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "hands26k" / "val")
    ap.add_argument("--limit", type=int, help="a seeded subset of this many photos (default: all)")
    ap.add_argument("--mp-python", default="/work/mpenv/bin/python")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", type=Path, help="write the results here")
    a = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from gesturekit import HandTracker, TrackerOptions
    from gesturekit.cli.predict import match_hands, summarize_matches
    from gesturekit.io import read_yolo_pose, seeded_subset

    samples = seeded_subset(read_yolo_pose(a.data), a.limit, 0)
    frames = [cv2.imread(str(s.image)) for s in samples]
    bad = [str(s.image) for s, f in zip(samples, frames) if f is None]
    if bad:
        raise SystemExit(f"cannot decode {len(bad)} photos, e.g. {bad[0]}")
    shapes = {f.shape for f in frames}
    if len(shapes) != 1:
        raise SystemExit(f"photos of {len(shapes)} sizes: the MediaPipe worker takes one stacked array")
    readings = {}
    with tempfile.TemporaryDirectory() as tmp:
        stack = Path(tmp) / "frames.npy"
        np.save(stack, np.stack(frames))
        for name, complexity in (("mediapipe_lite", 0), ("mediapipe_full", 1)):
            res = run_mediapipe(a.mp_python, {"static": True, "max_hands": 2, "complexity": complexity,
                                              "frames": str(stack)}, a.threads)
            readings[name] = [[np.array(k, np.float32) for k in r["kps"]] for r in res]
    with HandTracker(TrackerOptions(max_hands=2, threads=a.threads)) as tracker:
        readings["gesturekit"] = [[h.keypoints for h in tracker.process(f)] for f in frames]
    matches = {name: match_hands(samples, r) for name, r in readings.items()}
    rows = {name: summarize_matches(len(samples), *m) for name, m in matches.items()}
    for name, row in rows.items():
        print(name, {k: round(v, 4) for k, v in row.items() if isinstance(v, float)})
    ours, theirs = matches["gesturekit"][0], matches["mediapipe_full"][0]
    overlap = {"both": int((ours & theirs).sum()), "gesturekit_only": int((ours & ~theirs).sum()),
               "mediapipe_full_only": int((~ours & theirs).sum()), "neither": int((~ours & ~theirs).sum())}
    print("found by (gesturekit vs MediaPipe full):", overlap)
    save_json(a.json, {"data": str(a.data), "images": len(samples), "rows": rows, "overlap": overlap})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
