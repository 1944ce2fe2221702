"""Where the detector misses the labelled hand of YOLO-pose photos, by the label's size.

    python bench/detector_misses.py --data ../shared/data/hands26k/val --limit 2000 [--grid misses.png]

For each photo the detection (score ≥ 0.05) that overlaps the label box most is kept; the
label box follows the detector's convention (keypoint box + 10 % margin). Prints JSON: found
(IoU ≥ 0.5) per bin of the label box's longer side, the misses' IoU quantiles, and the median
ratio of the box's side to the label's. ``--grid`` writes 18 random misses (label green,
best box red, "score/IoU" written on each) to look at.
"""

from __future__ import annotations

import argparse
import json
import sys
from itertools import pairwise
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
BINS = (0, 60, 120, 180, 10**6)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True, help="YOLO-pose folder (images/, labels/)")
    ap.add_argument("--model", help="detector file (default: the shipped one)")
    ap.add_argument("--limit", type=int, default=2000, help="seeded random subset of photos")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--grid", type=Path, help="PNG of 18 random misses")
    a = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from common import save_grid

    from gesturekit.detector import DetectorOptions, HandDetector
    from gesturekit.geometry import box_iou
    from gesturekit.io import read_yolo_pose, seeded_subset
    from gesturekit.train.detector_data import keypoint_box

    samples = seeded_subset(read_yolo_pose(a.data, num_points=None), a.limit, 0)
    opts = {"threads": a.threads, "score_threshold": 0.05, **({"model_path": a.model} if a.model else {})}
    det = HandDetector(DetectorOptions(**opts))
    label, best, score, overlap = [], [], [], []
    for s in samples:
        g = keypoint_box(s.keypoints[0], vis=s.visible[0])   # unlabelled points (at 0, 0) left out
        img = cv2.imread(str(s.image))
        if img is None:
            raise SystemExit(f"{s.image}: cannot read or decode the image")
        d = det.detect(img)
        ious = box_iou(g[None], d.boxes)[0] if len(d.boxes) else np.zeros(1)
        j = int(np.argmax(ious))
        label.append(g)
        best.append(d.boxes[j] if len(d.boxes) else np.full(4, np.nan))
        score.append(float(d.scores[j]) if len(d.boxes) else 0.0)
        overlap.append(float(ious[j]))
    label, best, overlap = np.array(label), np.array(best), np.array(overlap)
    side = (label[:, 2:] - label[:, :2]).max(1)
    ratio = (best[:, 2:] - best[:, :2]).max(1) / side
    found = overlap >= 0.5
    miss_q = np.quantile(overlap[~found], [0.1, 0.5, 0.9]) if (~found).any() else []
    res = {"photos": len(samples), "found@0.5": round(float(found.mean()), 4),
           "no_box": int(np.isnan(best[:, 0]).sum()), "by_label_side_px": {},
           "miss_iou_q10_50_90": [round(float(v), 3) for v in miss_q]}
    for lo, hi in pairwise(BINS):
        m = (side >= lo) & (side < hi)
        if m.any():
            res["by_label_side_px"][f"{lo}-{hi if hi < 10**6 else ''}"] = {
                "photos": int(m.sum()), "found": round(float(found[m].mean()), 3),
                "box_side_over_label_median": round(float(np.nanmedian(ratio[m])), 3)}
    print(json.dumps(res, indent=2))
    if a.grid is not None:
        miss = np.flatnonzero(~found)
        tiles = []
        for i in np.random.default_rng(1).choice(miss, min(18, len(miss)), replace=False):
            img = cv2.imread(str(samples[i].image))
            cv2.rectangle(img, *[tuple(int(v) for v in p) for p in label[i].reshape(2, 2)], (0, 255, 0), 1)
            if np.isfinite(best[i]).all():
                cv2.rectangle(img, *[tuple(int(v) for v in p) for p in best[i].reshape(2, 2)], (0, 0, 255), 1)
            cv2.putText(img, f"{score[i]:.2f}/{overlap[i]:.2f}", (3, 15), 0, 0.45, (255, 255, 0), 1)
            tiles.append(cv2.resize(img, (224, 224)))
        save_grid(a.grid, tiles)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
