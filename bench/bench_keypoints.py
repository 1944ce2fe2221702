"""Keypoint regressor latency per crop (batch 1): ONNX Runtime vs torch on this CPU, and peak memory.

Each backend runs in its own process so peak memory is its own. The ``onnx+flip`` row reads the
crop and its mirror (``LandmarkRegressor(flip_test=True)``), decoding included.

    python bench/bench_keypoints.py [--model models/keypoints] [--threads 2] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def _one(model: str, backend: str, threads: int) -> dict:
    import numpy as np
    from common import peak_rss_mb, time_calls

    from gesturekit.landmarks import run_keypoint_net
    from gesturekit.layouts import HAND_21
    from gesturekit.runtime import Runner

    engine, flip = backend.removesuffix("+flip"), backend.endswith("+flip")
    path = f"{model}.onnx" if engine == "onnx" else f"{model}.pt"
    r = Runner.load(path, engine, "cpu", threads=threads, task="keypoints")
    s = r.input_size
    x = np.random.default_rng(0).random((1, 3, s, s), dtype=np.float32)
    res = time_calls((lambda: run_keypoint_net(r, x, HAND_21, True)) if flip else (lambda: r(x)))
    return {"backend": backend, "threads": threads, **{k: round(v, 3) for k, v in res.items()},
            "peak_rss_mb": round(peak_rss_mb(), 1)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=str(Path(__file__).resolve().parents[1] / "models" / "keypoints"),
                    help="the pair's stem (models/keypoints) or either file of it")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    a = ap.parse_args()
    a.model = str(Path(a.model).with_suffix("")) if Path(a.model).suffix in (".onnx", ".pt") else a.model
    if a.worker:
        print(json.dumps(_one(a.model, a.worker, a.threads)))
        return
    rows = []
    for backend in ("onnx", "onnx+flip", "torch"):
        out = subprocess.run([sys.executable, __file__, "--model", a.model, "--threads", str(a.threads),
                              "--worker", backend], capture_output=True, text=True, check=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    from common import print_table, save_json

    print_table(rows, ["backend", "threads", "median_ms", "p90_ms", "mean_ms", "peak_rss_mb"])
    print(f"ONNX Runtime / torch median: {rows[0]['median_ms'] / rows[2]['median_ms']:.2f}x")
    save_json(a.json, rows)


if __name__ == "__main__":
    main()
