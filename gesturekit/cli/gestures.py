"""``gesturekit train gestures`` and ``gesturekit record``."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

IMAGE_EXTS = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}


def add_commands(sub) -> None:
    r = sub.add_parser("record", help="record labelled hand keypoints to a CSV for gesture training")
    r.add_argument("--source", required=True, help="camera index, video file or image folder")
    r.add_argument("--label", required=True, help="gesture name written on every row")
    r.add_argument("--out", required=True, help="CSV to append to (created with a header)")
    r.add_argument("--max-samples", type=int, default=200, help="stop after this many rows")
    r.add_argument("--every", type=int, default=1, help="record every n-th frame")
    r.add_argument("--all-hands", action="store_true", help="record every hand, not only the first")
    r.set_defaults(func=_record)


def add_train_subcommand(what) -> None:
    """Register ``gestures`` on the ``gesturekit train`` sub-parsers."""
    g = what.add_parser("gestures", help="train a gesture MLP on keypoint samples (seconds, CPU)")
    g.add_argument("--data", required=True,
                   help="samples CSV: gesturekit (record), kinivi keypoint/point_history or HaGRID keypoints")
    g.add_argument("--labels", help="class-name file for kinivi CSVs (default: <stem>_classifier_label.csv)")
    g.add_argument("--out", required=True, help="model .npz (a .json with the labels is written beside)")
    g.add_argument("--kind", default="static", choices=["static", "history"],
                   help="static: 21 keypoints a row; history: 16 (x, y) fingertip points a row")
    g.add_argument("--frame", default="canonical", choices=["canonical", "kinivi"],
                   help="canonical: rotate upright and mirror left hands first; kinivi: as is")
    g.add_argument("--hidden", default="64,32", help="hidden layer widths, comma separated")
    g.add_argument("--epochs", type=int, default=150)
    g.add_argument("--val-fraction", type=float, default=0.2)
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--confusion", help="write the held-out confusion matrix here (.png, needs matplotlib)")
    g.add_argument("--rules", action="store_true",
                   help="also score the rule classifier on the held-out rows of the classes it covers")
    g.set_defaults(func=_train_gestures)


def _train_gestures(args: argparse.Namespace) -> int:
    import numpy as np

    from ..gestures.mlp import TrainOptions, accuracy, fit_file, save_confusion_png

    try:
        hidden = tuple(int(h) for h in str(args.hidden).split(","))
    except ValueError:
        raise ValueError(f"--hidden: {args.hidden!r} is not a comma-separated list of integers") from None
    if args.rules and args.kind != "static":   # before training, not after it has written the model
        raise ValueError("--rules: only for --kind static")
    opt = TrainOptions(hidden=hidden, epochs=args.epochs, seed=args.seed)
    t0 = time.perf_counter()
    rep = fit_file(args.data, args.labels, kind=args.kind, frame=args.frame,
                   val_fraction=args.val_fraction, options=opt)
    secs = time.perf_counter() - t0
    rep.model.save(args.out)
    print(f"trained on {rep.train_rows} rows in {secs:.1f} s; held-out {rep.val_rows} rows "
          f"(stratified, seed {args.seed}): accuracy {rep.accuracy:.4f}, macro {rep.macro_accuracy:.4f}")
    _print_per_class(rep)
    print(f"wrote {args.out} and {Path(args.out).with_suffix('.json')}")
    if args.confusion:
        title = f"{Path(args.data).name}: held-out acc {rep.accuracy:.3f}, macro {rep.macro_accuracy:.3f}"
        print(f"wrote {save_confusion_png(rep.confusion, rep.classes, args.confusion, title)}")
    if args.rules:
        from ..gestures.rules import STATIC_GESTURES, RuleClassifier
        from ..gestures.samples import read_samples

        s = read_samples(args.data, args.labels).subset(rep.val_index)
        cover = [i for i, lab in enumerate(s.labels) if lab in STATIC_GESTURES and lab != "none"]
        if not cover:
            print("rules: no held-out rows of classes the rules cover")
            return 0
        rc = RuleClassifier()
        pred = np.array([rc.classify(s.keypoints[i])[0] for i in cover])
        truth = s.labels[cover]
        acc, macro = accuracy(pred, truth)
        mlp_acc, mlp_macro = accuracy(rep.val_pred[cover], truth)
        print(f"rules on the {len(cover)} held-out rows of {len(set(truth.tolist()))} classes they cover: "
              f"accuracy {acc:.4f}, macro {macro:.4f} (MLP on the same rows: {mlp_acc:.4f}, {mlp_macro:.4f})")
    return 0


def _print_per_class(rep) -> None:
    """Held-out recall per class; a class too small to hold any row out is named, not scored
    0.000 (its rows all went to training, so the figures above say nothing about it)."""
    unscored = []
    for c, row in zip(rep.classes, rep.confusion):
        if row.sum():
            print(f"  {c:18s} {row[rep.classes.index(c)] / row.sum():.3f}  (n={row.sum()})")
        else:
            print(f"  {c:18s}   —    (no held-out row: too few samples)")
            unscored.append(c)
    if unscored:
        print(f"gesturekit: warning: {', '.join(map(repr, unscored))}: too few samples to hold any out, "
              "so untested; record more (a few dozen a class)", file=sys.stderr)


def _frames(source: str):
    """Yield BGR frames from a camera index, a video file or an image folder."""
    import cv2

    p = Path(source)
    if p.is_dir():
        files = sorted(f for f in p.iterdir() if f.suffix.lower() in IMAGE_EXTS)
        if not files:
            raise FileNotFoundError(f"{p}: no images ({', '.join(sorted(IMAGE_EXTS))})")
        for f in files:
            img = cv2.imread(str(f))
            if img is None:
                print(f"gesturekit: warning: {f}: cannot read image, skipped", file=sys.stderr)
                continue
            yield img
        return
    if source.isdigit():
        cap = cv2.VideoCapture(int(source))
    elif p.is_file():
        cap = cv2.VideoCapture(str(p))
    else:
        raise FileNotFoundError(f"--source: {source} is not a camera index, video file or folder")
    if not cap.isOpened():
        raise FileNotFoundError(f"--source: cannot open {source}")
    try:
        while True:
            ok, frame = cap.read()
            if not ok:
                return
            yield frame
    finally:
        cap.release()


def _record(args: argparse.Namespace, tracker=None) -> int:
    """Run a HandTracker over the source and append each hand's keypoints with ``--label``.

    ``tracker``: anything with ``process(frame) -> Hands`` (tests inject a fake one);
    None builds the default :class:`gesturekit.HandTracker`.
    """
    from ..gestures.samples import SampleRecorder, check_label

    if args.max_samples < 1 or args.every < 1:
        raise ValueError("--max-samples and --every must be >= 1")
    label = check_label(args.label)   # now, not after the models load (or never, if no hand shows)
    if tracker is None:
        from .. import HandTracker  # lazy: the tracker pulls in the detector models

        tracker = HandTracker()
    n_frames = 0
    with SampleRecorder(args.out) as rec:
        for i, frame in enumerate(_frames(str(args.source))):
            n_frames += 1
            if i % args.every:   # before the tracker: static-mode reads need no frame in between
                continue
            hands = tracker.process(frame)
            for hand in list(hands.hands)[: None if args.all_hands else 1]:
                rec.add(label, hand.keypoints, hand.handedness)
                if rec.count >= args.max_samples:
                    break
            if rec.count >= args.max_samples:
                break
        print(f"recorded {rec.count} sample(s) of {label!r} from {n_frames} frame(s) to {args.out}")
        if not rec.count:
            print(f"gesturekit: warning: no hand found in {args.source}", file=sys.stderr)
    return 0
