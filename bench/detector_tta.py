"""Test-time tricks for the detector, measured and not kept (models/DETECTOR_CARD.md).

    python bench/detector_tta.py --hands ../shared/data/hands26k/val --egohands ../shared/data/egohands

* flip test: the letterboxed frame and its mirror in one batch, the mirror's maps flipped back
  and averaged with the frame's (``scores``: the heatmap only; ``all``: sizes and offsets too);
* a larger letterbox: the torch weights (any input size) on the photo drawn bigger.

Prints JSON: hands26k found@0.5 (the ``eval detector`` convention) and EgoHands val AP per variant.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CANVASES = ((224, 288), (256, 320), (288, 352))


def flip_fused(out: dict[str, np.ndarray], what: str) -> dict[str, np.ndarray]:
    """Maps of image 0 averaged with image 1's (its mirror) flipped back. A centre at continuous
    x = (ix + off) · stride mirrors to W·stride − x, so the mirror's x offset reads 1 − off."""
    a = {k: v[:1] for k, v in out.items()}
    b = {k: v[1:2, ..., ::-1] for k, v in out.items()}
    fused = dict(a, scores=(a["scores"] + b["scores"]) / 2)
    if what == "all":
        fused["size"] = (a["size"] + b["size"]) / 2
        fused["offset"] = np.concatenate([(a["offset"][:, :1] + 1 - b["offset"][:, :1]) / 2,
                                          (a["offset"][:, 1:] + b["offset"][:, 1:]) / 2], 1)
    return fused


def detect(det, img: np.ndarray, variant: str, threshold: float, max_hands: int):
    from gesturekit.detector import decode, letterbox, to_batch

    canvas = (det.input_h, det.input_w)
    if variant.startswith("canvas"):
        canvas = tuple(int(v) for v in variant.split(" ")[1].split("x"))
    lb, s, dx, dy = letterbox(img, *canvas)
    if variant.startswith("flip"):
        out = flip_fused(det.runner(np.concatenate([to_batch(lb), to_batch(np.ascontiguousarray(lb[:, ::-1]))])),
                         variant.split(" ")[1])
    else:
        out = det.runner(to_batch(lb))
    return decode(out, det.stride, s, dx, dy, img.shape[1], img.shape[0], threshold, 0.45, max_hands)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hands", required=True, help="YOLO-pose folder (hands26k/val)")
    ap.add_argument("--egohands", required=True, help="EgoHands folder (images + boxes.csv); its val split is used")
    ap.add_argument("--limit", type=int, default=1500, help="seeded random subset of the hand photos")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from gesturekit.detector import DetectorOptions, HandDetector, detection_metrics, found_rate
    from gesturekit.io import read_yolo_pose, seeded_subset
    from gesturekit.io.boxes import read_boxes
    from gesturekit.train.detector_data import frame_split, keypoint_box

    photos = seeded_subset(read_yolo_pose(Path(a.hands), num_points=None), a.limit, 0)
    imgs = [cv2.imread(str(s.image)) for s in photos]
    labels = [np.stack([keypoint_box(k, vis=v) for k, v in zip(s.keypoints, s.visible)]) for s in photos]
    ego = read_boxes(Path(a.egohands))
    val = set(frame_split([Path(s.image).name for s in ego])[1])
    ego = [s for s in ego if Path(s.image).name in val]
    ego_imgs = [cv2.imread(str(s.image)) for s in ego]

    onnx = HandDetector(DetectorOptions(threads=a.threads))
    torch_det = HandDetector(DetectorOptions(model_path=ROOT / "models" / "detector.pt", backend="torch",
                                             threads=a.threads))
    res = {}
    for variant in ["as shipped", "flip scores", "flip all", *(f"canvas {h}x{w}" for h, w in CANVASES)]:
        det = torch_det if variant.startswith("canvas") else onnx
        found = found_rate([detect(det, im, variant, 0.2, 4) for im in imgs], labels)
        ap_ = detection_metrics([detect(det, im, variant, 0.05, 20) for im in ego_imgs], [s.boxes for s in ego])
        res[variant] = {"hands26k_found@0.5": round(found, 4), **{k: round(v, 3) for k, v in ap_.items()}}
        print(variant, res[variant], file=sys.stderr, flush=True)
    print(json.dumps({"photos": len(photos), "egohands_val_frames": len(ego), "variants": res}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
