"""Do track ids and sides hold on real video? The shipped tracker over every clip in ../shared/data/videos.

    python bench/track_ids.py [--json bench/results/track_ids.json]

Per clip: the ids issued (a clip's hands never leave the frame, so each hand should need one),
id switches (a hand that overlaps one of the previous frame's hands, box IoU > 0.3, under
another id), the frames where two hands' boxes touch or overlap and the switches among them,
and how often a track's reported side (left/right) changes. There is no peer figure:
MediaPipe Hands gives no track ids.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from common import save_json

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from gesturekit import HandTracker, TrackerOptions  # noqa: E402
from gesturekit.geometry import iou  # noqa: E402

VIDEOS = ROOT.parent / "shared" / "data" / "videos"


def clip_ids(tracker: HandTracker, path: Path) -> dict:
    """Id and side stability of ``tracker`` over one clip (see the module docstring)."""
    prev: list = []
    ids, sides = set(), {}
    frames = hands = switches = touching = touching_switches = side_flips = 0
    for _, result in tracker.stream(str(path)):
        frames += 1
        hands += len(result)
        touch = len(result) >= 2 and any(iou(a.box, b.box) > 0 for i, a in enumerate(result) for b in result[i + 1:])
        touching += touch
        for h in result:
            ids.add(h.track_id)
            before = max(prev, key=lambda p: iou(p.box, h.box), default=None)
            if before is not None and iou(before.box, h.box) > 0.3 and before.track_id != h.track_id:
                switches += 1
                touching_switches += touch
            if h.handedness is not None:
                side_flips += h.track_id in sides and sides[h.track_id] != h.handedness
                sides[h.track_id] = h.handedness
        prev = list(result)
    return {"frames": frames, "hands_per_frame": round(hands / max(frames, 1), 3), "ids_issued": len(ids),
            "id_switches": switches, "frames_hands_touch": touching, "id_switches_while_touching": touching_switches,
            "side_changes_within_a_track": side_flips}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--videos", type=Path, default=VIDEOS)
    ap.add_argument("--max-hands", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    clips = sorted(a.videos.glob("*.mp4"))
    if not clips:
        ap.error(f"--videos: no .mp4 files in {a.videos}")
    with HandTracker(TrackerOptions(max_hands=a.max_hands, threads=a.threads)) as tracker:
        res = {p.name: clip_ids(tracker, p) for p in clips}
    print(json.dumps(res, indent=1))
    save_json(a.json, {"max_hands": a.max_hands, "clips": res})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
