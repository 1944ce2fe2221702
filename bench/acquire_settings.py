"""How static mode's search on a new hand's box trades accuracy for crops read.

    python bench/acquire_settings.py [--data ../shared/data/hands26k/val] [--limit 1000]
        [--rotations 1 2 4 8] [--zooms 1.0 1.0,1.6 1.0,1.3] [--json OUT]

For every setting, the whole pipeline from the full image (`gesturekit eval pipeline`'s scoring,
static mode) on the same seeded photos: hand found (IoU ≥ 0.5), PCK@0.1, and the keypoint crops
read per image (the regressor's cost: the detector is run once per image in every setting).
Rotations are swept at the default zooms and zooms at the default rotations.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from common import save_json

ROOT = Path(__file__).resolve().parents[1]


def score(data: Path, limit: int, **options) -> dict:
    from gesturekit import HandTracker, TrackerOptions
    from gesturekit.cli.predict import evaluate_pipeline

    tracker = HandTracker(TrackerOptions(max_hands=2, **options))
    crops = 0
    predict = tracker.regressor.predict

    def counted(frame, boxes):
        nonlocal crops
        crops += len(boxes)
        return predict(frame, boxes)

    tracker.regressor.predict = counted
    r = evaluate_pipeline(tracker, data, limit, 0)
    return {**{k: list(v) if isinstance(v, tuple) else v for k, v in options.items()},
            "found": round(r["found@iou0.5"], 4), "pck@0.1": round(r["pck@0.1"], 4),
            "crops_per_image": round(crops / r["images"], 2)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "hands26k" / "val")
    ap.add_argument("--limit", type=int, default=1000)
    ap.add_argument("--rotations", type=int, nargs="+", default=[1, 2, 4, 8])
    ap.add_argument("--zooms", nargs="+", default=["1.0", "1.0,1.6", "1.0,1.3"],
                    help="comma-separated crop zooms per setting")
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from gesturekit import TrackerOptions
    from gesturekit.tracker import SHIPPED_ZOOMS

    defaults = TrackerOptions()
    rows = [score(a.data, a.limit, acquire_rotations=r) for r in a.rotations]
    rows += [score(a.data, a.limit, acquire_zooms=tuple(float(x) for x in z.split(",")))
             for z in a.zooms]
    res = {"data": str(a.data), "images": a.limit,
           "defaults": {"acquire_rotations": defaults.acquire_rotations,
                        "acquire_zooms": list(defaults.acquire_zooms or SHIPPED_ZOOMS)}, "rows": rows}
    for row in rows:
        print(json.dumps(row))
    save_json(a.json, res)
    return 0


if __name__ == "__main__":
    sys.exit(main())
