"""Where the keypoint regressor misses on labelled crops, and whether a second look helps.

    python bench/keypoint_misses.py --data ../shared/data/hands26k/val --limit 1500 [--grid misses.png]

Each hand is read on the seeded crop ``gesturekit eval keypoints`` uses (the label's upright crop
with a detector-like jitter), and scored per hand: the share of its labelled points within 0.1 of
the label box's longer side (PCK@0.1). Prints JSON: how the loss is spread over hands (the share of
hands under 0.5 / 0.8 / 0.95 and the share of all missed points they hold), PCK@0.1 per joint, the
mean confidence of good and bad readings, and PCK@0.1 of four second looks:

- ``refine``: every hand read again on the upright crop from its first reading's points (the
  tracker's next crop), kept unless 0.05 less confident, as the tracker does;

and, read on every hand whose first reading is unsure (mean confidence < ``TURN_BELOW``) and kept
where more confident:

- ``turns``: the crop turned by a quarter, a half and three quarters;
- ``small_turns``: the crop turned by ±20°;
- ``zooms``: the crop 0.85×, 1.2× and 1.4× as wide.

``--grid`` writes the first 24 hands under 0.5 (label green, reading red, "PCK conf" on each).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
# second looks: (zoom, turn in radians) relative to the first crop
LOOKS = {"turns": [(1.0, t) for t in (np.pi / 2, np.pi, -np.pi / 2)],
         "small_turns": [(1.0, t) for t in (-0.35, 0.35)],
         "zooms": [(z, 0.0) for z in (0.85, 1.2, 1.4)]}


def hand_pck(pred: np.ndarray, gt: np.ndarray, vis: np.ndarray, alpha: float = 0.1) -> np.ndarray:
    """Per point: within ``alpha`` × the longer side of the labelled points' box (False where
    unlabelled), as ``gesturekit eval keypoints`` counts it."""
    from gesturekit.train.metrics import label_sides

    return (np.linalg.norm(pred - gt, axis=1) <= alpha * label_sides(gt[None], vis[None])[0]) & vis


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True, help="YOLO-pose folder (images/, labels/)")
    ap.add_argument("--model", help="keypoint model (default: the shipped one)")
    ap.add_argument("--limit", type=int, default=1500, help="seeded random subset of hands")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--grid", type=Path, help="PNG of 24 hands read worst")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "keypoint_misses.json")
    a = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from common import save_grid, save_json

    from gesturekit.geometry import Crop, crop_from_keypoints
    from gesturekit.io import read_keypoints, seeded_subset
    from gesturekit.landmarks import CROP_SCALE, TURN_BELOW, LandmarkRegressor
    from gesturekit.layouts import HAND_21
    from gesturekit.train.cache import build_cache
    from gesturekit.train.keypoint_data import KeypointCrops

    reg = LandmarkRegressor(a.model, threads=a.threads)
    samples = seeded_subset(read_keypoints(a.data), a.limit, 0)
    cache = build_cache(samples)
    ds = KeypointCrops(cache, HAND_21, reg.input_size, None, 0)
    first, conf, second = [], [], {k: [] for k in ("refine", *LOOKS)}
    worst = []
    for i in range(len(ds)):
        j = int(ds.indices[i])
        img, gt, vis = np.asarray(cache["images"][j]), cache["keypoints"][j], cache["visible"][j]
        crop, _ = ds.crop_for(j, np.random.default_rng((0, i)))  # the evaluation's own crop
        kp, c = (x[0] for x in reg.predict(img, [crop]))
        ok = hand_pck(kp, gt, vis)
        first.append(ok)
        conf.append(float(c.mean()))
        k2, c2 = (x[0] for x in reg.predict(img, [crop_from_keypoints(kp, CROP_SCALE)]))
        second["refine"].append(hand_pck(k2, gt, vis) if c2.mean() >= c.mean() - 0.05 else ok)
        for name, looks in LOOKS.items():
            if c.mean() >= TURN_BELOW:
                second[name].append(ok)
                continue
            ks, cs = reg.predict(img, [Crop(crop.cx, crop.cy, crop.size * z, crop.angle + t) for z, t in looks])
            b = int(cs.mean(1).argmax())
            second[name].append(hand_pck(ks[b], gt, vis) if cs[b].mean() > c.mean() else ok)
        if a.grid and ok.sum() < 0.5 * vis.sum() and len(worst) < 24:
            worst.append((img, gt, vis, kp, ok.sum() / vis.sum(), c.mean()))
    vis_all = np.stack([cache["visible"][int(j)] for j in ds.indices])
    first = np.stack(first)
    per_hand = first.sum(1) / np.maximum(vis_all.sum(1), 1)
    missed = (vis_all & ~first).sum(1)
    conf = np.array(conf)
    out = {"model": str(reg.path), "hands": len(ds),
           "pck@0.1": round(float(first.sum() / vis_all.sum()), 4),
           "hands_under": {str(t): {"share": round(float((per_hand < t).mean()), 4),
                                    "share_of_missed_points": round(float(missed[per_hand < t].sum() / missed.sum()), 4)}
                           for t in (0.5, 0.8, 0.95)},
           "pck@0.1_per_joint": dict(zip(HAND_21.names, np.round(first.sum(0) / vis_all.sum(0), 3).tolist())),
           "mean_confidence": {"hands_at_least_0.8": round(float(np.median(conf[per_hand >= 0.8])), 3),
                               "hands_under_0.5": round(float(np.median(conf[per_hand < 0.5])), 3)},
           "unsure_readings": round(float((conf < TURN_BELOW).mean()), 4),
           "second_look_pck@0.1": {k: round(float(np.stack(v).sum() / vis_all.sum()), 4) for k, v in second.items()}}
    print(json.dumps(out, indent=2))
    save_json(a.out, out)
    if a.grid and worst:
        save_grid(a.grid, [drawn(*w, HAND_21.edges) for w in worst])
    return 0


def drawn(img: np.ndarray, gt: np.ndarray, vis: np.ndarray, kp: np.ndarray, score: float, c: float,
          edges) -> np.ndarray:
    """A 224 px tile: the label's skeleton green, the reading's red, "PCK conf" written on it."""
    im = img.copy()
    for p, q in edges:
        if vis[p] and vis[q]:
            cv2.line(im, tuple(map(int, gt[p])), tuple(map(int, gt[q])), (0, 255, 0), 1)
        cv2.line(im, tuple(map(int, kp[p])), tuple(map(int, kp[q])), (0, 0, 255), 1)
    im = cv2.resize(im, (224, 224))
    cv2.putText(im, f"{score:.2f} c{c:.2f}", (3, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 0), 1)
    return im


if __name__ == "__main__":
    raise SystemExit(main())
