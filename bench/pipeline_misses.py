"""Why static mode misses labelled hands of YOLO-pose photos (what ``eval pipeline`` counts as missed).

    python bench/pipeline_misses.py --data ../shared/data/hands26k/val --limit 1000

Same photos (seeded subset) and the same "found" as ``gesturekit eval pipeline``: a reported hand
whose keypoint box overlaps the label's by IoU ≥ 0.5. Each photo is run through ``process`` (what
``eval pipeline`` scores) and read once more through ``candidates`` to see what each stage held;
a diagnostic, so the second read is not worth saving. Each miss is put in the first stage that
lost it:

* ``no_box``: none of the boxes the tracker reads overlaps the label box (detector convention:
  keypoint box + 10 % margin) by IoU ≥ 0.5;
* ``read_off``: a box is on the hand, but no reading of it overlaps the label by IoU ≥ 0.5;
* ``refused``: a reading is on the hand, but the presence gate refused it;
* ``dropped``: it passed the gate, then lost to the ``max_hands`` limit or the overlap rule.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True, help="YOLO-pose folder (images/, labels/)")
    ap.add_argument("--limit", type=int, default=1000, help="seeded random subset of photos")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from gesturekit.geometry import box_of, iou
    from gesturekit.io import read_yolo_pose, seeded_subset
    from gesturekit.io.sample import boxes_from_keypoints
    from gesturekit.tracker import HandTracker, TrackerOptions
    from gesturekit.train.detector_data import keypoint_box

    tracker = HandTracker(TrackerOptions(max_hands=2, threads=a.threads))  # as `eval pipeline`
    counts = {"found": 0, "no_box": 0, "read_off": 0, "refused": 0, "dropped": 0}
    samples = seeded_subset(read_yolo_pose(Path(a.data)), a.limit, a.seed)
    for s in samples:
        img = cv2.imread(str(s.image))
        if img is None:
            raise SystemExit(f"{s.image}: cannot decode image")
        hands = tracker.process(img)
        dets, kp, conf = tracker.candidates(img)
        # the gate's own threshold: P(hand) with the presence model, keypoint confidence without
        p, need = tracker._presence(kp, conf, [d[1] for d in dets]) if len(kp) else ([], 1.0)
        for gt_kp, vis, label in zip(s.keypoints, s.visible, boxes_from_keypoints(s.keypoints, s.visible)):
            if any(iou(h.box, label) >= 0.5 for h in hands):
                counts["found"] += 1
                continue
            det_label = keypoint_box(gt_kp, vis=vis)
            on_hand = [i for i, d in enumerate(dets) if iou(d[0], det_label) >= 0.5]
            read = [i for i in range(len(kp)) if iou(box_of(kp[i]), label) >= 0.5]
            if not on_hand:
                counts["no_box"] += 1
            elif not read:
                counts["read_off"] += 1
            elif max(p[i] for i in read) < need:
                counts["refused"] += 1
            else:
                counts["dropped"] += 1
    total = sum(counts.values())
    print(json.dumps({"images": len(samples), "hands": total,
                      "share": {k: round(v / max(total, 1), 4) for k, v in counts.items()}, "counts": counts}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
