"""Hand detector latency per 640×480 frame, pre/post-processing included: ONNX Runtime vs torch.

``detect`` = letterbox + network + peak decode + NMS, on a real hands26k photo
pasted into a 640×480 frame (so decoding sees real peaks). ``network`` is the
graph alone. Each backend runs in its own process so peak memory is its own.

    python bench/bench_detector.py [--model models/detector] [--threads 2] [--runs 200] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "hands26k" / "val" / "images"


def _frame():
    import cv2
    import numpy as np

    frame = np.full((480, 640, 3), 100, np.uint8)
    img = next(iter(sorted(DATA.iterdir())), None) if DATA.is_dir() else None
    if img is not None:
        frame[120:344, 200:424] = cv2.imread(str(img))
    return frame


def _one(model: str, backend: str, threads: int, runs: int) -> dict:
    from common import peak_rss_mb, time_calls

    from gesturekit.detector import DetectorOptions, HandDetector, letterbox, to_batch

    path = f"{model}.onnx" if backend == "onnx" else f"{model}.pt"
    det = HandDetector(DetectorOptions(model_path=path, backend=backend, device="cpu", threads=threads))
    frame = _frame()
    full = time_calls(lambda: det.detect(frame), runs=runs)
    x = to_batch(letterbox(frame, det.input_h, det.input_w)[0])
    net = time_calls(lambda: det.runner(x), runs=runs)
    return {"backend": backend, "threads": threads, "detect_median_ms": round(full["median_ms"], 2),
            "detect_p90_ms": round(full["p90_ms"], 2), "network_median_ms": round(net["median_ms"], 2),
            "hands": len(det.detect(frame)), "peak_rss_mb": round(peak_rss_mb(), 1)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=str(Path(__file__).resolve().parents[1] / "models" / "detector"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--json")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        print(json.dumps(_one(a.model, a.worker, a.threads, a.runs)))
        return
    rows = []
    for backend in ("onnx", "torch"):
        out = subprocess.run([sys.executable, __file__, "--model", a.model, "--threads", str(a.threads),
                              "--runs", str(a.runs), "--worker", backend], capture_output=True, text=True, check=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    from common import print_table, save_json

    print("per 640×480 frame (detect = letterbox + network + decode + NMS)")
    print_table(rows, ["backend", "threads", "detect_median_ms", "detect_p90_ms", "network_median_ms", "hands",
                       "peak_rss_mb"])
    print(f"ONNX Runtime / torch detect median: {rows[0]['detect_median_ms'] / rows[1]['detect_median_ms']:.2f}x")
    save_json(a.json, rows)


if __name__ == "__main__":
    main()
