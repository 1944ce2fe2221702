"""``gesturekit train handedness``: the palm-or-back network behind left/right."""

from __future__ import annotations

import argparse
from pathlib import Path

# paths relative to the repository root, where this is run, like every other default here (a path
# found from this file pointed into site-packages once gesturekit was pip-installed)
DATA = Path("..") / "shared" / "data"
SIDES_DIR = Path("runs") / "hands26k_sides"  # where bench/mediapipe_handedness.py writes hands26k's sides


def add_arguments(ap: argparse.ArgumentParser) -> None:
    """The training options, shared with ``python -m gesturekit.train.handedness``."""
    ap.add_argument("--csv", type=Path, nargs="+",
                    default=[DATA / "hagrid12" / "keypoints_mediapipe.csv", DATA / "sign-digits" / "keypoints_mediapipe.csv",
                             SIDES_DIR / "train.csv"],
                    help="keypoints_mediapipe.csv-style files with a handedness column (default: hagrid12's and "
                         f"sign-digits' keypoints_mediapipe.csv under {DATA}, and {SIDES_DIR / 'train.csv'})")
    ap.add_argument("--val", type=Path, nargs="*", default=[SIDES_DIR / "val.csv"],
                    help=f"scored, never trained on (default: {SIDES_DIR / 'val.csv'})")
    # not models/handedness: a trial run must not overwrite the shipped model (pass that to replace it)
    ap.add_argument("--out", type=Path, default=Path("runs") / "handedness" / "handedness",
                    help="writes OUT.pt and OUT.onnx (default: %(default)s)")
    ap.add_argument("--epochs", type=int, default=14)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--width", type=int, default=24, help="channels of the first stage (then 2×, 4×, 4×)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", default="runs/handedness", help="checkpoints and curves")
    ap.add_argument("--regressor", help="keypoint model whose points place the crops (default: the shipped one)")
    ap.add_argument("--cache", type=Path, default=Path("runs/handedness_crops.npz"), help="crops kept between runs")


def add_train_subcommand(what) -> None:
    """Add ``handedness`` to the ``train`` sub-parsers ``what``."""
    h = what.add_parser("handedness", help="train the palm-or-back network behind left/right (MediaPipe-labelled crops)")
    add_arguments(h)
    h.set_defaults(func=_train)


def _train(args: argparse.Namespace) -> int:
    from ..train.handedness import run  # torch: the train extra

    return run(args)


def add_eval_subcommand(what) -> None:
    """Add ``handedness`` to the ``eval`` sub-parsers ``what``."""
    e = what.add_parser("handedness", help="score a handedness model on teacher-labelled hands (the train extra)")
    e.add_argument("--csv", type=Path, nargs="+", default=[SIDES_DIR / "val.csv"],
                   help=f"keypoints_mediapipe.csv-style files with a handedness column (default: {SIDES_DIR / 'val.csv'})")
    e.add_argument("--model", help="handedness model, .onnx or .pt (default: the shipped one)")
    e.add_argument("--regressor", help="keypoint model whose points place the crops (default: the shipped one)")
    e.add_argument("--threads", type=int, default=2)
    e.add_argument("--cache", type=Path, help="keep the crops here between runs (.npz)")
    e.add_argument("--json", action="store_true", help="print JSON only")
    e.set_defaults(func=_eval)


def _eval(args: argparse.Namespace) -> int:
    from ..train.handedness import evaluate_handedness
    from . import eval as _eval_cli

    missing = [str(p) for p in args.csv if not Path(p).is_file()]
    if missing:
        raise SystemExit(f"not found: {', '.join(missing)} (hands26k's sides come from bench/mediapipe_handedness.py)")
    _eval_cli.print_metrics(evaluate_handedness(args.csv, args.model, args.regressor, args.threads, args.cache),
                            args.json)
    return 0
