"""``gesturekit eval keypoints|detector|handedness|…``: score a model and print JSON.

Other modules add their own ``eval`` targets through ``add_eval_subcommand(what)``.
"""

from __future__ import annotations

import argparse
import json
import math

_EXTRA: list = []  # add_eval_subcommand functions registered by other cli modules


def register(fn) -> None:
    _EXTRA.append(fn)


def print_metrics(metrics: dict, as_json: bool) -> None:
    """One JSON line (``--json``), else one aligned ``name: value`` line per metric."""
    if as_json:
        # NaN (a metric of no cases) is not JSON: write null, which every parser reads
        clean = {k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in metrics.items()}
        print(json.dumps(clean), flush=True)
        return
    width = max(map(len, metrics), default=0)
    for key, val in metrics.items():
        print(f"{key:>{width}}: {val:.4f}" if isinstance(val, float) else f"{key:>{width}}: {val}", flush=True)


def add_commands(sub) -> None:
    p = sub.add_parser("eval", help="score a model on labelled data (aligned lines, or JSON with --json)")
    what = p.add_subparsers(dest="what", required=True)
    k = what.add_parser("keypoints", help="score a keypoint model on a YOLO-pose, COCO or CSV folder")
    k.add_argument("--data", required=True,
                   help="labelled hands: a YOLO-pose folder, a COCO keypoint .json or a points CSV/JSON")
    k.add_argument("--model", help="model file (default: the shipped models/keypoints.onnx; keypoints.pt "
                                   "with --backend torch)")
    k.add_argument("--backend", default="auto", choices=["auto", "onnx", "torch"],
                   help="auto: from the model file's suffix (default: auto)")
    k.add_argument("--limit", type=int, help="score a seeded subset of this many images")
    k.add_argument("--seed", type=int, default=0)
    k.add_argument("--flip-test", action="store_true", help="also read mirrored crops and average")
    k.add_argument("--json", action="store_true", help="print JSON only")
    k.set_defaults(func=_eval_keypoints)
    __import__("gesturekit.cli.detector", fromlist=["_"]).add_eval_subcommand(what)
    __import__("gesturekit.cli.handedness", fromlist=["_"]).add_eval_subcommand(what)
    for fn in _EXTRA:
        fn(what)


def _eval_keypoints(args: argparse.Namespace) -> int:
    from ..errors import LayoutMismatchError
    from ..train.keypoint_eval import evaluate_keypoint_model

    try:
        m = evaluate_keypoint_model(args.data, args.model, args.backend, args.limit, args.seed,
                                    flip_test=args.flip_test)
    except LayoutMismatchError as e:
        if args.model is None:  # the shipped 21-point model on points of another layout
            raise LayoutMismatchError(f"{e}; score your own model with --model my_model.onnx") from e
        raise
    print_metrics(m, args.json)
    return 0
