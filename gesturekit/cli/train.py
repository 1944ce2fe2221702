"""``gesturekit train keypoints|detector|gestures|handedness``."""

from __future__ import annotations

import argparse

TRAINERS: dict[str, callable] = {}


def add_commands(sub) -> None:
    p = sub.add_parser("train", help="train a model")
    what = p.add_subparsers(dest="what", required=True)

    k = what.add_parser("keypoints", help="train a keypoint regressor on YOLO-pose, COCO or CSV data")
    k.add_argument("--data", required=True, nargs="+", help="training folder(s) or label file(s)")
    k.add_argument("--val", help="validation folder (default: 10%% of --data)")
    k.add_argument("--layout", default="hand21", help="layout name (hand21, hand12) or a layout .json")
    k.add_argument("--arch", help="network (gesturekit.nn.list_models()); default: --init's, else kpnet_simcc")
    k.add_argument("--input-size", type=int, default=128)
    k.add_argument("--epochs", type=int, default=30)
    k.add_argument("--batch-size", type=int, default=64)
    k.add_argument("--lr", type=float, help="peak learning rate (default: learning-rate finder)")
    k.add_argument("--train-limit", type=int, help="use only this many images of each --data (seeded)")
    k.add_argument("--val-limit", type=int, default=1000)
    k.add_argument("--repeat", type=int, default=1, help="draws per image per epoch")
    k.add_argument("--augment", default="default", choices=["default", "heavy", "light"],
                   help="heavy: tiny data sets; light: a last low-rate fine-tune on run-time-like crops")
    k.add_argument("--init", help="warm-start from a checkpoint, e.g. models/keypoints.pt (shapes that fit)")
    k.add_argument("--hard-share", type=float, default=0.0,
                   help="with --init: draw this share of images, the ones it reads worst, twice per epoch")
    k.add_argument("--ema", type=float, default=0.0,
                   help="keep and score an exponential moving average of the weights with this decay, e.g. 0.999 (default 0: off)")
    k.add_argument("--threads", type=int, default=2)
    k.add_argument("--workers", type=int, default=1)
    k.add_argument("--seed", type=int, default=0)
    k.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    k.add_argument("--out", default="runs/keypoints")
    k.add_argument("--export", help="also write the best weights here (.pt) and beside it an .onnx")
    k.set_defaults(func=_train_keypoints)
    __import__("gesturekit.cli.gestures", fromlist=["_"]).add_train_subcommand(what)
    __import__("gesturekit.cli.detector", fromlist=["_"]).add_train_subcommand(what)
    __import__("gesturekit.cli.handedness", fromlist=["_"]).add_train_subcommand(what)


def _train_keypoints(args: argparse.Namespace) -> int:
    from ..augment import AugmentOptions
    from ..errors import LayoutMismatchError
    from ..layouts import get_layout
    from ..train.keypoints import train_keypoints
    from ..train.loop import TrainConfig

    cfg = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
                      threads=args.threads, workers=args.workers, out=args.out, device=args.device,
                      ema=args.ema)
    try:
        best = train_keypoints(args.data, args.val, get_layout(args.layout), args.arch, args.input_size, cfg,
                               val_limit=args.val_limit, train_limit=args.train_limit, repeat=args.repeat,
                               augment=AugmentOptions.named(args.augment), init=args.init,
                               hard_share=args.hard_share)
    except LayoutMismatchError as e:
        if args.layout == "hand21" and "layout 'hand21' has 21" in str(e):
            raise LayoutMismatchError(f"{e}; for points of your own, pass --layout my_layout.json "
                                      "(docs/layouts.md)") from e
        raise
    print(f"best checkpoint: {best}")
    if args.export:
        from ..train.export import export_keypoints

        for path in export_keypoints(best, args.export):
            print(f"wrote {path}")
    return 0
