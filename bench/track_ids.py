"""Do track ids and sides hold on real video? The shipped tracker over every clip in ../shared/data/videos.

    python bench/track_ids.py [--json bench/results/track_ids.json]

Per clip: the ids issued (a clip's hands never leave the frame, so each hand should need one),
id switches (a hand that overlaps one of the previous frame's hands, box IoU > 0.3, under
another id), the frames where two hands' boxes touch or overlap and the switches among them,
how often a track's reported side (left/right) changes, and how often it is the true side.

The true sides were read by eye and MediaPipe Hands agrees on every clip: ali's and volctl's hand
is a right hand (palm, then back of the hand, then a fist; a palm toward the camera), lujun's and
mohanad's a left hand (the back of the hand, over a desk); on 2hand the hand on the image's left
is the person's right (they face the camera; the track's mean wrist position decides). Sides are as
the image is (``mirror=False``). ``side_right_per_frame`` scores the classifier's own reading of
each frame, ``side_right`` the side the tracker reports after voting over the track. There is no
peer figure for ids: MediaPipe Hands gives no track ids.
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
TRUE_SIDE = {"ali_hand.mp4": "right", "huytung_volctl.mp4": "right", "lujun_hand.mp4": "left",
             "mohanad_hands.mp4": "left", "huytung_2hand.mp4": "by position"}


def clip_ids(tracker: HandTracker, path: Path) -> dict:
    """Id and side stability of ``tracker`` over one clip (see the module docstring)."""
    prev: list = []
    ids, sides = set(), {}
    frames = hands = switches = touching = touching_switches = side_flips = 0
    seen: list[tuple[int, float, str, float]] = []  # (track id, wrist x / width, reported side, P(right))
    for frame, result in tracker.stream(str(path)):
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
                p = float(tracker.handedness.prob_right(frame, h.keypoints)[0])
                seen.append((h.track_id, float(h.keypoints[0, 0]) / frame.shape[1], h.handedness, p))
        prev = list(result)
    sides_true = {}
    if path.name in TRUE_SIDE:
        truth = {tid: _true_side(path.name, [s[1] for s in seen if s[0] == tid]) for tid in {s[0] for s in seen}}
        n = max(len(seen), 1)
        sides_true = {"side_right": round(sum(s[2] == truth[s[0]] for s in seen) / n, 3),
                      "side_right_per_frame": round(sum((s[3] >= 0.5) == (truth[s[0]] == "right") for s in seen) / n, 3)}
    return {"frames": frames, "hands_per_frame": round(hands / max(frames, 1), 3), "ids_issued": len(ids),
            "id_switches": switches, "frames_hands_touch": touching, "id_switches_while_touching": touching_switches,
            "side_changes_within_a_track": side_flips, **sides_true}


def _true_side(clip: str, wrist_x: list[float]) -> str:
    """A track's true side: the clip's, or on 2hand the person's right where the track's mean wrist
    position is on the image's left."""
    side = TRUE_SIDE[clip]
    if side == "by position":
        return "right" if sum(wrist_x) / len(wrist_x) < 0.5 else "left"
    return side


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
