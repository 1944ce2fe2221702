"""``gesturekit predict`` (images, static mode), ``gesturekit track`` (video) and
``gesturekit eval pipeline`` (full image → hand found + keypoint PCK)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from . import eval as _eval


def _tracker_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--detector", help="detector model (default: models/detector.onnx)")
    p.add_argument("--keypoints", help="keypoint model (default: models/keypoints.onnx)")
    p.add_argument("--gesture-model", help="gesture MLP .npz from `gesturekit train gestures` (default: built-in)")
    p.add_argument("--backend", default="auto", choices=["auto", "onnx", "torch"],
                   help="auto: by the model file's suffix; the shipped models run on ONNX Runtime, or on "
                        "their .pt twins where only torch reaches a GPU; torch needs the train extra")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"],
                   help="auto: a CUDA GPU when a backend can use it, else the CPU (default: auto)")
    p.add_argument("--threads", type=int, help="CPU threads per model (default: the runtime's own choice)")
    p.add_argument("--max-hands", type=int, default=2, help="at most this many hands per frame (default: 2)")
    p.add_argument("--min-detection-confidence", type=float, help="default: TrackerOptions")
    p.add_argument("--min-presence-confidence", type=float, help="default: TrackerOptions")
    p.add_argument("--crop-ratio", type=float, help="crop side / detector box side (default: TrackerOptions)")
    p.add_argument("--acquire-rotations", type=int, help="turns tried on a new hand's crop (default: TrackerOptions)")
    p.add_argument("--flip-test", action="store_const", const=True,
                   help="also read every crop mirrored and average: more accurate, ~1.4× the time per photo")
    p.add_argument("--static-tiles", type=int,
                   help="photos with no hand found: detect again on N×N tiles, 1 = off (default: TrackerOptions)")
    p.add_argument("--clutter-every", type=int,
                   help="video with no hand in view: what stays put is read on every Nth run, 1 = always "
                        "(default: TrackerOptions)")


def _make_tracker(args: argparse.Namespace, **extra):
    from ..tracker import HandTracker, TrackerOptions

    kw = dict(max_hands=args.max_hands, detector_model=args.detector, keypoint_model=args.keypoints,
              gesture_model=args.gesture_model,
              backend=args.backend, device=args.device, threads=args.threads, **extra)
    # flags left out keep TrackerOptions' defaults
    for flag, name in (("min_detection_confidence", None), ("min_presence_confidence", None),
                       ("crop_ratio", "detector_crop_ratio"), ("acquire_rotations", None),
                       ("static_tiles", None), ("flip_test", None), ("clutter_every", None)):
        if getattr(args, flag) is not None:
            kw[name or flag] = getattr(args, flag)
    return HandTracker(TrackerOptions(**kw))


def add_commands(sub) -> None:
    p = sub.add_parser("predict", help="hands in every image of a folder (static mode) → JSON")
    p.add_argument("images", type=Path, help="image folder (searched recursively) or one image")
    p.add_argument("--out", type=Path, default=Path("preds.json"),
                   help="JSON: the point names, then per image its size and hands (default: preds.json)")
    _tracker_args(p)
    p.set_defaults(func=_predict)

    t = sub.add_parser("track", help="track hands through a video; optional annotated video and JSON")
    t.add_argument("video", help="video file, camera index or stream URL")
    t.add_argument("--out", type=Path, help="annotated video to write (.mp4)")
    t.add_argument("--json", type=Path, help="per-frame hands as JSON")
    t.add_argument("--limit", type=int, help="stop after this many frames (a camera: else Ctrl+C, which "
                                             "keeps what was tracked)")
    t.add_argument("--mirror", action="store_true", help="selfie view: swap left/right")
    _tracker_args(t)
    t.set_defaults(func=_track)


def _predict(args: argparse.Namespace) -> int:
    import cv2

    from ..sources import ImageFolderSource
    from ..types import rounded

    root = args.images
    if root.is_file():
        paths, base = [root], root.parent
    elif root.is_dir():   # the folder's images as every source lists them (hidden files left out)
        paths, base = ImageFolderSource(root).paths, root
    else:
        raise FileNotFoundError(f"{root}: no such image or folder")
    _check_writable("--out", args.out)   # before the work, not after it
    tracker = _make_tracker(args)
    out, bad, t0 = [], 0, time.perf_counter()
    for p in paths:
        img = cv2.imread(str(p), cv2.IMREAD_COLOR)
        if img is None:
            print(f"gesturekit: warning: {p}: cannot decode image, skipped", file=sys.stderr)
            bad += 1
            continue
        hands = tracker.process(img)
        out.append({"image": p.relative_to(base).as_posix(), "width": img.shape[1], "height": img.shape[0],
                    "hands": [{"keypoints": rounded(h.keypoints, 2), "score": round(h.score, 4),
                               "handedness": h.handedness, "bbox": rounded(h.box, 2),
                               "gesture": h.gesture, "gesture_score": round(h.gesture_score, 3)}
                              for h in hands]})
    dt = time.perf_counter() - t0
    # the points' names, so a model of your own layout is readable without its layout file
    args.out.write_text(json.dumps({"points": list(tracker.layout.names), "images": out}) + "\n")
    found = sum(bool(r["hands"]) for r in out)
    print(f"{len(out)} images ({bad} unreadable), hands in {found}, "
          f"{1000 * dt / max(len(out), 1):.1f} ms/image → {args.out}")
    return 0


def _check_track_outputs(args: argparse.Namespace) -> None:
    """Before any work: outputs that can be written, none of them the input or each other."""
    if args.limit is not None and args.limit < 1:
        raise ValueError(f"--limit: {args.limit} must be >= 1")
    outs = [(name, path) for name, path in (("--out", args.out), ("--json", args.json)) if path is not None]
    if len(outs) == 2 and outs[0][1].resolve() == outs[1][1].resolve():
        raise ValueError(f"--out and --json: both {args.out}; give each its own file")
    src = Path(str(args.video))
    for name, path in outs:
        if src.is_file() and path.resolve() == src.resolve():
            raise ValueError(f"{name}: {path} is the input video; writing it would destroy it")
        _check_writable(name, path)


def _check_writable(name: str, path: Path) -> None:
    if path.is_dir():
        raise ValueError(f"{name}: {path} is a folder")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:   # e.g. a file where a folder of the path should be
        raise ValueError(f"{name}: cannot write {path} ({e})") from None


def _track(args: argparse.Namespace) -> int:
    import cv2

    from ..draw import annotate
    from ..sources import SourceError, open_source

    _check_track_outputs(args)
    tracker = _make_tracker(args, mirror=args.mirror)
    writer, frames, with_hand, times, records = None, 0, 0, [], []
    stopped = False
    try:
        src = open_source(args.video)
        for frame, ts in src:
            t = time.perf_counter()
            hands = tracker.process(frame, ts)
            times.append(time.perf_counter() - t)
            frames += 1
            with_hand += len(hands) > 0
            if args.json:
                records.append(hands.to_dict())
            if args.out:
                if writer is None:
                    # the source's own rate (known once it is open), or a 25 fps clip plays fast
                    fps = getattr(src, "fps", None) or 30.0
                    writer = cv2.VideoWriter(str(args.out), cv2.VideoWriter_fourcc(*"mp4v"), min(fps, 60.0),
                                             (frame.shape[1], frame.shape[0]))
                    if not writer.isOpened():
                        raise SourceError(f"{args.out}: cannot open a video writer")
                    size = frame.shape[:2]
                shown = annotate(frame, hands, copy=False)
                if shown.shape[:2] != size:   # a folder of mixed sizes: OpenCV would drop the frame unsaid
                    shown = cv2.resize(shown, size[::-1], interpolation=cv2.INTER_AREA)
                writer.write(shown)
            if args.limit and frames >= args.limit:
                break
    except KeyboardInterrupt:  # Ctrl+C is how a camera run ends: keep the video, JSON and stats so far
        print(f"gesturekit: stopped (Ctrl+C) after {frames} frame(s)", file=sys.stderr)
        stopped = True
    finally:
        if writer is not None:
            writer.release()
        tracker.close()
        if args.json:   # whatever ended the run (a camera unplugged too): the frames so far are kept
            args.json.write_text(json.dumps({"frames": records}) + "\n")
    ms = np.array(times) * 1000 if times else np.zeros(1)
    print(json.dumps({"frames": frames, "share_with_hand": round(with_hand / max(frames, 1), 4),
                      "ms_per_frame_median": round(float(np.median(ms)), 2),
                      "ms_per_frame_p90": round(float(np.percentile(ms, 90)), 2),
                      "detector_runs": tracker.stats["detector_runs"]}))
    return 130 if stopped else 0  # the shell's code for Ctrl+C, as `gestures record` gives


# --- eval pipeline -------------------------------------------------------------------------

def evaluate_pipeline(tracker, data: Path, limit: int | None = None, seed: int = 0,
                      sizes: tuple[int, int] | None = None) -> dict:
    """Full image → tracker (static mode) against YOLO-pose labels, scored by :func:`pipeline_scores`.
    ``limit`` scores a seeded random subset (the first files of a folder are not typical);
    ``sizes`` (w, h) skips reading image headers when all images share one size."""
    import cv2

    from ..io import read_yolo_pose, seeded_subset

    samples = seeded_subset(read_yolo_pose(data, sizes=sizes), limit, seed)
    readings, times = [], []
    for s in samples:
        img = cv2.imread(str(s.image))
        if img is None:
            raise ValueError(f"{s.image}: cannot decode image")
        t = time.perf_counter()
        hands = tracker.process(img)
        times.append(time.perf_counter() - t)
        readings.append([h.keypoints for h in hands])
    ms = np.array(times) * 1000
    return {**pipeline_scores(samples, readings), "ms_median": float(np.median(ms)) if len(ms) else 0.0}


def pipeline_scores(samples: Sequence, readings: Sequence[Sequence[np.ndarray]]) -> dict:
    """Each labelled hand of ``samples`` (:class:`~gesturekit.io.Sample`) against the hands read on
    its image (``readings[i]``: each hand's (K, 2) points in pixels): the share found (IoU ≥ 0.5
    between the reading's keypoint box and the label's) and PCK@0.1 (of the longer side of the label
    box) on every labelled hand, a missed hand scoring 0. Any reader's points are scored alike, so
    a peer (``bench/pipeline_vs_mediapipe.py``) is measured exactly as ``eval pipeline`` measures us."""
    return summarize_matches(len(samples), *match_hands(samples, readings))


def summarize_matches(images: int, found: np.ndarray, pck: np.ndarray) -> dict:
    """:func:`pipeline_scores` from :func:`match_hands`' per-hand verdicts."""
    return {"images": images, "hands": len(found), "found@iou0.5": float(found.mean()) if len(found) else 0.0,
            "pck@0.1": float(pck.mean()) if len(pck) else 0.0,
            "pck@0.1_found": float(pck[found].mean()) if found.any() else 0.0,
            "targets": {"found@iou0.5": 0.98, "pck@0.1": 0.93}}


def match_hands(samples: Sequence, readings: Sequence[Sequence[np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Per labelled hand, in order: found (bool) and PCK@0.1 (0 when missed), as :func:`pipeline_scores` counts them."""
    from ..errors import LayoutMismatchError
    from ..geometry import box_of, iou
    from ..io.sample import boxes_from_keypoints

    if len(samples) != len(readings):
        raise ValueError(f"{len(samples)} samples but {len(readings)} readings")
    found, pck = [], []
    for s, hands in zip(samples, readings):
        for kp in hands:
            if np.shape(kp)[0] != s.keypoints.shape[1]:
                raise LayoutMismatchError(f"{s.image}: the model reads {np.shape(kp)[0]} points, the labels "
                                          f"have {s.keypoints.shape[1]}; score a model of the labels' layout")
        boxes = [box_of(np.asarray(kp, np.float32)) for kp in hands]
        for gt_kp, vis, gt_box in zip(s.keypoints, s.visible, boxes_from_keypoints(s.keypoints, s.visible)):
            best = max(range(len(boxes)), key=lambda i: iou(boxes[i], gt_box), default=None)
            ok = best is not None and iou(boxes[best], gt_box) >= 0.5
            thr = 0.1 * max(gt_box[2] - gt_box[0], gt_box[3] - gt_box[1])
            found.append(ok)
            pck.append(float((np.linalg.norm(np.asarray(hands[best]) - gt_kp, axis=1)[vis] <= thr).mean())
                       if ok and vis.any() else 0.0)
    return np.array(found, bool), np.array(pck, np.float64)


def add_eval_subcommand(what) -> None:
    e = what.add_parser("pipeline", help="detector + keypoints from the full image on a YOLO-pose folder")
    e.add_argument("--data", required=True, type=Path,
                   help="YOLO-pose folder (images/ + labels/), e.g. ../shared/data/hands26k/val")
    e.add_argument("--limit", type=int, help="score a seeded random subset of this many images")
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--json", action="store_true", help="print JSON only")
    _tracker_args(e)
    e.set_defaults(func=_eval_pipeline, max_hands=2)


def _eval_pipeline(args: argparse.Namespace) -> int:
    res = evaluate_pipeline(_make_tracker(args), args.data, args.limit, args.seed)
    _eval.print_metrics(res, args.json)
    return 0


_eval.register(add_eval_subcommand)
