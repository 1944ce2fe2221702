"""The keypoint decoder's soft-argmax window, measured and not changed (models/MODEL_CARD.md).

    python bench/keypoint_decode_window.py --data ../shared/data/hands26k/val --windows 3 12 16 24 32

The same torch weights scored by ``gesturekit eval keypoints`` (same crops, same seeded jitter)
with each point read within ±W bins of its peak instead of ±3. Prints JSON, one row per window.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared/data/hands26k/val")
    ap.add_argument("--model", type=Path, default=ROOT / "models/keypoints.pt")
    ap.add_argument("--windows", type=int, nargs="+", default=[3, 12, 16, 24, 32])
    ap.add_argument("--limit", type=int, help="a seeded random subset of this many images")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", type=Path, help="also write the rows here")
    args = ap.parse_args(argv)

    import gesturekit.nn.keypoint_net as kn
    from gesturekit.train.keypoint_eval import evaluate_keypoint_model

    shipped = kn.simcc_decode
    rows = []
    try:
        for w in args.windows:
            # forward() looks the decoder up in its module at call time, so this swaps it in
            kn.simcc_decode = lambda lx, ly, w=w: shipped(lx, ly, window=w)
            m = evaluate_keypoint_model(args.data, args.model, backend="torch", limit=args.limit,
                                        threads=args.threads)
            rows.append({"window": w, **{k: round(float(m[k]), 4) for k in
                                         ("pck@0.05", "pck@0.1", "pck@0.2", "epe_px", "within_0.01")},
                         "hands": m["hands"]})
            print(json.dumps(rows[-1]), flush=True)
    finally:
        kn.simcc_decode = shipped
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
