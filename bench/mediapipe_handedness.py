"""Teacher labels for handedness: MediaPipe's left/right on hands26k photos. Runs in the MediaPipe venv.

    /work/mpenv/bin/python bench/mediapipe_handedness.py --data ../shared/data/hands26k/train \
        --out runs/hands26k_sides/train.csv

hands26k has keypoints (MediaPipe's own) but no side, and its poses (backs of hands, spread fingers,
desk and first-person views) are the ones HaGRID's front-facing gestures lack. Each photo is run
through MediaPipe Hands (static mode, full model); where one of its hands lies on the labelled one
(mean point distance ≤ 0.15 of the label's size) its side is kept, turned from MediaPipe's
mirrored-selfie convention to the image as it is. The CSV has the columns of the shared
``keypoints_mediapipe.csv`` files (image, width, height, handedness, handedness_score, x0 … y20;
the points are the label's), so :func:`gesturekit.handedness.read_mediapipe_csv` reads it.
MediaPipe is never a gesturekit dependency; only this script and ``bench_tracker.py`` use it.
"""

from __future__ import annotations

import argparse
import csv
import os
import time
from pathlib import Path

import cv2
import numpy as np

MATCH = 0.15  # mean point distance / label size below which MediaPipe's hand is the labelled one


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True, type=Path, help="YOLO-pose folder (images/, labels/)")
    ap.add_argument("--out", required=True, type=Path)
    a = ap.parse_args()
    import mediapipe as mp

    hands = mp.solutions.hands.Hands(static_image_mode=True, max_num_hands=2, model_complexity=1,
                                     min_detection_confidence=0.5)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    files = sorted((a.data / "images").iterdir())
    kept, t0 = 0, time.time()
    with a.out.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["image", "width", "height", "handedness", "handedness_score"]
                   + [f"{c}{i}" for i in range(21) for c in "xy"])
        for n, path in enumerate(files):
            label = a.data / "labels" / (path.stem + ".txt")
            if not label.is_file():
                continue
            vals = np.array(label.read_text().split()[:68], float)
            if len(vals) < 68:
                continue
            kp = vals[5:].reshape(21, 3)
            vis = kp[:, 2] > 0
            img = cv2.imread(str(path))
            if vis.sum() < 15 or img is None:
                continue
            res = hands.process(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
            best = None
            for side, lm in zip(res.multi_handedness or [], res.multi_hand_landmarks or []):
                p = np.array([[q.x, q.y] for q in lm.landmark])
                d = np.linalg.norm(p[vis] - kp[vis, :2], axis=1).mean() / max(np.ptp(kp[vis, :2], 0).max(), 1e-3)
                if best is None or d < best[0]:
                    best = (d, side.classification[0])
            if best is None or best[0] > MATCH:
                continue
            h, wd = img.shape[:2]
            xy = kp[:, :2] * [wd, h]
            # MediaPipe assumes a mirrored (selfie) image: its "Left" is a right hand in the image as it is
            w.writerow([os.path.relpath(path, a.out.parent), wd, h, "right" if best[1].label == "Left" else "left",
                        round(best[1].score, 3)] + [round(float(v), 2) for v in xy.reshape(-1)])
            kept += 1
            if n % 2000 == 0:
                print(f"{n}/{len(files)} photos, {kept} labelled, {time.time() - t0:.0f} s", flush=True)
    print(f"{len(files)} photos, {kept} labelled, {time.time() - t0:.0f} s -> {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
