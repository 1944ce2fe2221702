"""gesturekit HandTracker vs MediaPipe Hands on the same CPU and the same frames.

MediaPipe runs in its own venv (``--mp-python``, default /work/mpenv/bin/python) through a
small worker that prints JSON; gesturekit runs here. For each clip of
``/work/shared/data/videos/*.mp4`` (tracking mode: timestamps) and a subset of
``hands26k/val`` (detect-every-frame mode: no timestamps) it measures ms per frame
(median, p90), share of frames with a hand, hands per frame and keypoint agreement (PCK@0.1
of the hand box between the two), for MediaPipe model_complexity 0 (lite) and 1 (full).
EgoHands val frames with their hands painted out (``hand-free``) count false hands, in static
mode, and as an idle webcam (``hand-free video``: each frame held for 15 frames with sensor noise,
video mode), where gesturekit also runs with ``clutter_every=1`` (every candidate read on every frame).

    python bench/bench_tracker.py --limit 150 --threads 1

Writes bench/results/tracker.json and prints a table and the ratios (targets: gesturekit
tracking median ≤ 0.5 × MediaPipe full and ≤ MediaPipe lite).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"

WORKER = r'''
import json, sys, time
import cv2, numpy as np
import mediapipe as mp
cfg = json.loads(sys.argv[1])
res = []
with mp.solutions.hands.Hands(static_image_mode=cfg["static"], max_num_hands=cfg["max_hands"],
                              model_complexity=cfg["complexity"], min_detection_confidence=0.5,
                              min_tracking_confidence=0.5) as hands:
    # The frames come decoded by the caller: OpenCV versions disagree on a video's rotation
    # metadata, and both sides must see the same pixels.
    for f in np.load(cfg["frames"], mmap_mode="r"):
        f = np.ascontiguousarray(f)
        h, w = f.shape[:2]
        rgb = cv2.cvtColor(f, cv2.COLOR_BGR2RGB)
        t = time.perf_counter()
        out = hands.process(rgb)
        dt = (time.perf_counter() - t) * 1000
        kps = []
        for lm in out.multi_hand_landmarks or []:
            kps.append([[p.x * w, p.y * h] for p in lm.landmark])
        res.append({"ms": dt, "kps": kps})
print(json.dumps(res))
'''


def run_mediapipe(py: str, cfg: dict, threads: int | None) -> list[dict]:
    import os

    env = dict(os.environ)
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(WORKER)
    out = subprocess.run([py, f.name, json.dumps(cfg)], capture_output=True, text=True, env=env, timeout=1800,
                         check=False)
    Path(f.name).unlink()
    if out.returncode != 0:
        raise RuntimeError(f"MediaPipe worker failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_gesturekit(tracker, frames, static: bool) -> list[dict]:
    res = []
    tracker.reset()
    for i, f in enumerate(frames):
        t = time.perf_counter()
        hands = tracker.process(f) if static else tracker.process(f, i * 1000 / 30)
        res.append({"ms": (time.perf_counter() - t) * 1000, "kps": hands.xy.tolist()})
    return res


def agreement(a: list[dict], b: list[dict]) -> float:
    """PCK@0.1 of b's hands against a's (matched greedily by mean-point distance)."""
    hits = []
    for fa, fb in zip(a, b):
        for ka in fa["kps"]:
            ka = np.array(ka)
            size = max(np.ptp(ka[:, 0]), np.ptp(ka[:, 1]), 1.0)
            best = min((np.array(kb) for kb in fb["kps"]), key=lambda kb: np.linalg.norm(kb.mean(0) - ka.mean(0)),
                       default=None)
            hits.append(0.0 if best is None else float((np.linalg.norm(best - ka, axis=1) < 0.1 * size).mean()))
    return float(np.mean(hits)) if hits else float("nan")


def summary(res: list[dict]) -> dict:
    ms = np.array([r["ms"] for r in res]) if res else np.zeros(1)
    return {"frames": len(res), "ms_median": round(float(np.median(ms)), 2),
            "ms_p90": round(float(np.percentile(ms, 90)), 2),
            "share_with_hand": round(float(np.mean([bool(r["kps"]) for r in res])) if res else 0.0, 4),
            "hands_per_frame": round(float(np.mean([len(r["kps"]) for r in res])) if res else 0.0, 4)}


def hand_free_frames(limit: int) -> list[np.ndarray]:
    """EgoHands val frames with every labelled hand painted out (arms, faces and cards stay), so
    any hand reported is a false one: the held-out negatives of ``gesturekit.presence``."""
    sys.path.insert(0, str(ROOT))
    from gesturekit.presence import hand_free_frames as frames

    return frames(DATA / "egohands", "val")[:limit]


def idle_video(frames: list[np.ndarray], hold: int = 15, noise: float = 3.0, seed: int = 0) -> list[np.ndarray]:
    """A still camera on each hand-free scene in turn: every frame ``hold`` times, with Gaussian
    sensor noise (σ = ``noise`` grey levels) so that no two frames are the same."""
    rng = np.random.default_rng(seed)
    return [np.clip(f + rng.normal(0, noise, f.shape), 0, 255).astype(np.uint8) for f in frames for _ in range(hold)]


def read_video(path: Path, limit: int) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    out = []
    while len(out) < limit:
        ok, f = cap.read()
        if not ok:
            break
        out.append(f)
    cap.release()
    return out


def conf_study(keypoints: str | None, n: int, threads: int) -> dict:
    """Mean keypoint confidence on hand crops vs crops beside the hand vs noise: where to put
    ``TrackerOptions.min_tracking_confidence`` for a given keypoint model."""
    sys.path.insert(0, str(ROOT))
    from gesturekit.geometry import Crop, crop_from_keypoints
    from gesturekit.io import read_yolo_pose, seeded_subset
    from gesturekit.landmarks import LandmarkRegressor

    samples = read_yolo_pose(DATA / "hands26k" / "val", sizes=(224, 224))
    samples = seeded_subset(samples, n, 0)
    rng = np.random.default_rng(0)
    reg = LandmarkRegressor(keypoints, threads=threads)
    out: dict[str, list[float]] = {"hand": [], "beside_hand": [], "noise": []}
    for s in samples:
        img = cv2.imread(str(s.image))
        g, v = s.keypoints[0], s.visible[0]
        c = crop_from_keypoints(g[v], 1.5, None if v[0] and v[9] else 0.0)
        for key, im, crop in (("hand", img, c), ("beside_hand", img, Crop(c.cx + 0.6 * c.size, c.cy, c.size, c.angle)),
                              ("noise", rng.integers(0, 255, img.shape, dtype=np.uint8), c)):
            out[key].append(float(reg.predict(im, [crop])[1].mean()))
    return {k: {"median": round(float(np.median(v)), 3), "p10": round(float(np.percentile(v, 10)), 3),
                "p90": round(float(np.percentile(v, 90)), 3)} for k, v in out.items()} | {"model": str(reg.path)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--limit", type=int, default=150, help="frames per clip and val images")
    ap.add_argument("--threads", type=int, default=1, help="CPU threads for both (same budget)")
    ap.add_argument("--mp-python", default="/work/mpenv/bin/python")
    ap.add_argument("--detector")
    ap.add_argument("--keypoints")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "tracker.json")
    ap.add_argument("--sets", nargs="+", help="run only the sets whose name contains one of these")
    ap.add_argument("--conf-study", action="store_true",
                    help="only print keypoint confidence on hand / beside-hand / noise crops")
    a = ap.parse_args()
    if a.conf_study:
        print(json.dumps(conf_study(a.keypoints, a.limit, a.threads), indent=2))
        return 0
    sys.path.insert(0, str(ROOT))
    from gesturekit.tracker import HandTracker, TrackerOptions

    tracker = HandTracker(TrackerOptions(max_hands=2, threads=a.threads, detector_model=a.detector,
                                         keypoint_model=a.keypoints, backend="onnx"))
    videos = sorted((DATA / "videos").glob("*.mp4"))
    val = sorted((DATA / "hands26k" / "val" / "images").glob("*.webp"))[: a.limit]
    if not videos and not val:
        print(f"no data under {DATA}", file=sys.stderr)
        return 2
    rows: dict[str, dict] = {}
    sets = [(v.name, "tracking", read_video(v, a.limit)) for v in videos]
    sets.append(("hands26k/val", "detect-every-frame", [cv2.imread(str(p)) for p in val]))
    if (DATA / "egohands").is_dir():
        free = hand_free_frames(a.limit)
        sets.append(("egohands/val, hands painted out", "hand-free", free))
        sets.append(("the same, each held 15 frames", "hand-free video", idle_video(free[:20])))
    if a.sets:
        sets = [s for s in sets if any(k in s[0] for k in a.sets)]
    tmp = Path(tempfile.mkdtemp())
    for name, mode, frames in sets:
        static = mode not in ("tracking", "hand-free video")
        np.save(tmp / "frames.npy", np.stack(frames))
        src = {"frames": str(tmp / "frames.npy")}
        gk = run_gesturekit(tracker, frames, static)
        row = {"mode": mode, "gesturekit": summary(gk)}
        if mode == "hand-free video":
            with HandTracker(replace(tracker.options, clutter_every=1)) as every:
                row["gesturekit_clutter_every_1"] = summary(run_gesturekit(every, frames, static))
        for c, label in ((0, "mediapipe_lite"), (1, "mediapipe_full")):
            mp_res = run_mediapipe(a.mp_python, {**src, "static": static, "max_hands": 2, "complexity": c},
                                   a.threads)
            row[label] = summary(mp_res)
            row[label]["pck@0.1_gesturekit_vs_mp"] = round(agreement(mp_res, gk), 4)
        rows[name] = row
        print(f"{name:24s} {mode:18s} " + "  ".join(
            f"{k}: {v['ms_median']:.1f}/{v['ms_p90']:.1f} ms, hand {v['share_with_hand']:.2f}"
            for k, v in row.items() if isinstance(v, dict)), flush=True)

    def agg(key, mode):
        vals = [r[key]["ms_median"] for r in rows.values() if r["mode"] == mode]
        return float(np.median(vals)) if vals else float("nan")

    ratios = {m: {"gk/mp_full": round(agg("gesturekit", m) / agg("mediapipe_full", m), 3),
                  "gk/mp_lite": round(agg("gesturekit", m) / agg("mediapipe_lite", m), 3)}
              for m in ("tracking", "detect-every-frame")}
    print("\nratios (median ms, gesturekit / MediaPipe):", json.dumps(ratios))
    print("targets: tracking gk/mp_full <= 0.5 and gk/mp_lite <= 1.0")
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps({"threads": a.threads, "limit": a.limit, "rows": rows, "ratios": ratios,
                                 "models": {"keypoints": str(tracker.regressor.path)}}, indent=2) + "\n")
    print(f"→ {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
