"""``gesturekit train detector`` and ``gesturekit eval detector``."""

from __future__ import annotations

import argparse
from pathlib import Path

from .eval import print_metrics


def add_train_subcommand(what) -> None:
    """Add ``detector`` to the ``train`` sub-parsers ``what``."""
    d = what.add_parser("detector", help="train the hand detector on synthetic scenes (hand photos and/or "
                                         "box-labelled frames)")
    d.add_argument("--hands", help="YOLO-pose folder of hand photos pasted into the scenes (hands26k/train); "
                                   "optional with --data")
    d.add_argument("--data", "--egohands", dest="data", metavar="PATH",
                   help="box-labelled frames, used as scene backgrounds with their boxes: an EgoHands folder "
                        "(images/ + boxes.csv), a YOLO folder (images/ + labels/), Pascal VOC XML, a COCO .json "
                        "or an Open Images .csv ('Human hand' rows); 20%% of the frames, at most 60 (EgoHands: "
                        "the fixed 60), are held out and scored (AP50) each epoch")
    _add_label_option(d)
    d.add_argument("--hands-val", help="YOLO-pose folder scored with found@0.5 each epoch (hands26k/val)")
    d.add_argument("--hands-val-limit", type=int, default=300)
    d.add_argument("--epochs", type=int, default=20)
    d.add_argument("--scenes", type=int, default=4000, help="synthetic scenes per epoch")
    d.add_argument("--canvas", type=int, nargs=2, default=[160, 192], metavar=("H", "W"),
                   help="training scene size (the network is fully convolutional)")
    d.add_argument("--input-size", type=int, nargs=2, default=[192, 256], metavar=("H", "W"),
                   help="inference input size (letterbox target)")
    d.add_argument("--width", type=int, default=48, help="channels of the stride-4 neck")
    d.add_argument("--batch-size", type=int, default=32)
    d.add_argument("--lr", type=float, help="peak learning rate (default: learning-rate finder)")
    d.add_argument("--ema", type=float, default=0.0,
                   help="keep and score an exponential moving average of the weights with this decay, e.g. 0.999 (default 0: off)")
    d.add_argument("--threads", type=int, default=2)
    d.add_argument("--workers", type=int, default=1)
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    d.add_argument("--out", default="runs/det")
    d.add_argument("--init", help="warm-start from this checkpoint (a detector run, or a keypoint model for handdet_kp)")
    d.add_argument("--arch", default="handdet_s4", choices=["handdet_s4", "handdet_kp"])
    d.add_argument("--hard-share", type=float, default=0.0,
                   help="share of hand photos drawn from those the --init detector misses (default 0)")
    d.add_argument("--export", help="also write the best weights here (.pt) and beside it an .onnx")
    d.set_defaults(func=_train)


def _train(args: argparse.Namespace) -> int:
    from ..train.detector import export_detector, train_detector
    from ..train.loop import TrainConfig

    cfg = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
                      threads=args.threads, workers=args.workers, out=args.out, device=args.device, monitor="score",
                      ema=args.ema)
    best = train_detector(args.hands, args.data, args.hands_val, cfg, args.scenes, tuple(args.canvas),
                          tuple(args.input_size), args.hands_val_limit, args.width, args.init,
                          args.arch, args.hard_share, label=args.label)
    print(f"best checkpoint: {best}")
    if args.export:
        for path in export_detector(best, args.export):
            print(f"wrote {path}")
    return 0


def add_eval_subcommand(what) -> None:
    """Add ``detector`` to the ``eval`` sub-parsers ``what``."""
    e = what.add_parser("detector", help="score a hand detector on a box or YOLO-pose folder")
    e.add_argument("--data", required=True,
                   help="EgoHands-style folder (images/ + boxes.csv), any read_boxes format, or a YOLO-pose folder")
    _add_label_option(e)
    e.add_argument("--model", help="detector .onnx or .pt (default: the shipped models/detector.onnx)")
    e.add_argument("--split", choices=["all", "val", "train"], default="all",
                   help="with box labels: the frames `train detector --data` holds out (EgoHands: the fixed 60), "
                        "or the other frames")
    e.add_argument("--limit", type=int, help="score a seeded subset of this many images")
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--threads", type=int, default=2)
    e.add_argument("--score-threshold", type=float, default=0.05,
                   help="low so AP sees the whole precision/recall curve (found@0.5 uses the detector default)")
    e.add_argument("--json", action="store_true", help="print the metrics as JSON")
    e.set_defaults(func=_eval)


def _eval(args: argparse.Namespace) -> int:
    import numpy as np

    from ..detector import DetectorOptions, HandDetector, detection_metrics, found_rate
    from ..errors import DataFormatError

    data = Path(args.data)
    opts = {"threads": args.threads}
    if args.model:
        opts["model_path"] = args.model
    if _is_yolo_pose(data):
        # YOLO-pose hand photos: is the labelled hand found (box convention: keypoint box + margin)?
        from ..io import read_yolo_pose, seeded_subset
        from ..train.detector_data import keypoint_box

        samples = seeded_subset(read_yolo_pose(data, num_points=None), args.limit, args.seed)
        det = HandDetector(DetectorOptions(**opts))  # the runtime default threshold
        preds = _detect_all(det, samples)
        gts = [np.stack([keypoint_box(k, vis=v) for k, v in zip(s.keypoints, s.visible)]) for s in samples]
        res = {"found@0.5": round(found_rate(preds, gts), 4), "images": len(samples),
               "boxes": int(sum(len(g) for g in gts))}
    else:
        from ..io import seeded_subset
        from ..io.boxes import read_boxes

        samples = read_boxes(data, args.label)
        if args.split != "all":
            from ..train.detector_data import frame_split

            tr, va = frame_split([Path(s.image).name for s in samples])
            keep = set(va if args.split == "val" else tr)
            samples = [s for s in samples if Path(s.image).name in keep]
        samples = seeded_subset(samples, args.limit, args.seed)
        if not samples:  # metrics of nothing are NaN, which is no answer
            where = f" in split {args.split!r}" if args.split != "all" else ""
            raise DataFormatError(f"{data}: no labelled images to score{where}")
        det = HandDetector(DetectorOptions(**opts, score_threshold=args.score_threshold, max_hands=20))
        preds, gts = _detect_all(det, samples), [s.boxes for s in samples]
        res = {**detection_metrics(preds, gts), "images": len(samples), "boxes": int(sum(len(g) for g in gts))}
    print_metrics(res, args.json)
    return 0


def _add_label_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--label", metavar="NAME",
                        help="with box labels of several classes, the classes that are hands (names, any "
                             "case, comma-separated, e.g. left,right; YOLO: class ids, e.g. 0,1). Default: "
                             "the only class, else those named for hands (hand, Human hand, left_hand, "
                             "/m/0k65p, ...); an EgoHands CSV keeps every row")


def _is_yolo_pose(folder: Path) -> bool:
    """``images/`` + ``labels/`` whose first label line holds points after its box (a plain YOLO box
    folder, ``class cx cy w h``, is read by ``read_boxes``)."""
    if not ((folder / "images").is_dir() and (folder / "labels").is_dir()):
        return False
    for lbl in sorted((folder / "labels").glob("*.txt")):
        for line in lbl.read_text().splitlines():
            if line.split():
                return len(line.split()) > 5
    return False


def _detect_all(det, samples) -> list:
    """Detections for every sample's image (a clear error for one that cannot be decoded)."""
    import cv2

    from ..errors import DataFormatError

    out = []
    for s in samples:
        if not Path(s.image).is_file():
            raise DataFormatError(f"{s.image}: image not found (named by the labels)")
        img = cv2.imread(str(s.image), cv2.IMREAD_COLOR)
        if img is None:
            raise DataFormatError(f"{s.image}: cannot decode image")
        out.append(det.detect(img))
    return out
