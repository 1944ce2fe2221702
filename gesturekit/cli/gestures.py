"""``gesturekit train gestures`` and ``gesturekit record``."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def add_commands(sub) -> None:
    r = sub.add_parser("record", help="record labelled hand keypoints to a CSV for gesture training",
                       description="Track hands in a source and append their keypoints, labelled, to a "
                                   "CSV. Each row is on disk once written: stop with Ctrl+C at any "
                                   "time and every row so far is kept.")
    r.add_argument("--source", required=True,
                   help="camera index, video file, stream URL (tracked as a stream), image folder or "
                        "image (photos: each read on its own; unreadable images skipped with a warning)")
    r.add_argument("--label", required=True,
                   help="gesture name written on every row (no commas, quotes or control characters)")
    r.add_argument("--out", required=True, help="CSV to append to (created with a header)")
    r.add_argument("--max-samples", type=int, default=200, help="stop after this many rows (default 200)")
    r.add_argument("--every", type=int, default=1,
                   help="record the hands of every n-th frame. A video or camera is tracked on every "
                        "frame all the same (hands are followed from frame to frame, as in `gesturekit "
                        "track`); in an image folder (independent photos) only every n-th image is read")
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
    if args.confusion:
        import importlib.util

        from ..errors import missing_extra

        if importlib.util.find_spec("matplotlib") is None:   # likewise
            raise missing_extra("train", "matplotlib")
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


def _hands_of(src, tracker, every: int):
    """``(frame index, Hands or None)`` for each frame of ``src``: Hands on every ``every``-th.

    Photos (an image folder, one image) are independent: every ``every``-th is read in static
    mode, the others are decoded but not tracked. A video or camera is a stream: every frame is
    tracked, so hands are followed from their keypoints (as ``gesturekit track`` does), and every
    ``every``-th frame's hands are handed out.
    """
    from contextlib import closing

    if src.photos:
        for i, (frame, _) in enumerate(src):
            yield i, (tracker.process(frame) if i % every == 0 else None)
        return
    with closing(tracker.stream(src)) as frames:   # closing: a break still closes the camera now
        for i, (_, hands) in enumerate(frames):
            yield i, (hands if i % every == 0 else None)


def _open_source(source: str):
    """The FrameSource ``record`` reads; an image folder's unreadable files are skipped with a warning."""
    from ..sources import open_source

    src = open_source(source).open()
    if src.photos and hasattr(src, "skip_bad"):
        src.skip_bad = lambda path: print(f"gesturekit: warning: {path}: cannot decode image, skipped",
                                          file=sys.stderr)
    return src


def _record(args: argparse.Namespace, tracker=None) -> int:
    """Run a HandTracker over the source and append each hand's keypoints with ``--label``.

    ``tracker``: anything with ``process(frame) -> Hands`` (photos) and ``stream(source)``
    (video; tests inject a fake one); None builds the default :class:`gesturekit.HandTracker`.
    Rows are on disk as they are recorded: Ctrl+C (exit 130) or a camera that goes away
    (an error, exit 2) keeps every row so far, and the summary is still printed.
    """
    from contextlib import closing

    from ..gestures.samples import SampleRecorder, check_label

    if args.max_samples < 1 or args.every < 1:
        raise ValueError("--max-samples and --every must be >= 1")
    label = check_label(args.label)   # now, not after the models load (or never, if no hand shows)
    src = _open_source(str(args.source))   # likewise: a missing file is named before the models load
    own = tracker is None
    try:
        if own:
            from .. import HandTracker  # lazy: the tracker pulls in the detector models

            tracker = HandTracker()
        with SampleRecorder(args.out) as rec, closing(_hands_of(src, tracker, args.every)) as frames_in:
            frames = 0
            try:
                for i, hands in frames_in:
                    frames = i + 1
                    for hand in [] if hands is None else list(hands.hands)[: None if args.all_hands else 1]:
                        if rec.count < args.max_samples:
                            rec.add(label, hand.keypoints, hand.handedness)
                    if rec.count >= args.max_samples:
                        break
            except KeyboardInterrupt:
                _summary(args, label, rec.count, frames, "stopped by Ctrl+C; ")
                return 130
            except BaseException:
                _summary(args, label, rec.count, frames, "stopped by an error; ")
                raise
            _summary(args, label, rec.count, frames)
    finally:
        src.close()
        if own and tracker is not None:
            tracker.close()
    return 0


def _summary(args: argparse.Namespace, label: str, count: int, frames: int, why: str = "") -> None:
    every = f" (one in {args.every} recorded)" if args.every > 1 else ""
    print(f"{why}recorded {count} sample(s) of {label!r} from {frames} frame(s){every} to {args.out}")
    if not count:
        print(f"gesturekit: warning: no hand found in {args.source}", file=sys.stderr)
