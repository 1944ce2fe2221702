"""Gestures end to end on HaGRID crops: OUR keypoint model → gesture classifiers (issue 5).

For every crop of ``hagrid12/<class>/`` (12 gestures + none): pad it by a quarter of
its longer side (border replication by default), take the crop rectangle as the hand
box, read it the way the tracker reads a new hand (:func:`gesturekit.landmarks.acquire`:
the box crop at ``--rotations`` quarter turns, the most confident kept, then a pass on the
upright ``crop_from_keypoints(kp, CROP_SCALE)``, kept unless its mean confidence is more
than 0.05 lower), and the handedness classifier on the points. Then, on a stratified, seeded held-out
part (one row per image):

(a) the shipped MLP (``models/gesture_mlp.npz``, trained on MediaPipe keypoints) on our points,
(b) an MLP trained (same recipe, :func:`gesturekit.gestures.mlp.train_mlp`) on the
    training part of our points,
(c) the rules (:class:`~gesturekit.gestures.rules.RuleClassifier`) on the 10 classes they cover.

Keypoints are cached in ``runs/`` (keyed by the model file's hash, the ratio, the
border and the passes), so re-scoring is instant::

    nice -n 10 python bench/gestures_end_to_end.py --model models/keypoints.onnx \\
        --json runs/gestures_e2e.json --confusion docs/gesture_e2e_confusion.png \\
        [--save-model models/gesture_mlp_e2e.npz] [--limit-per-class N] [--seed 0]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "hagrid12"
sys.path.insert(0, str(ROOT))

from gesturekit.gestures.samples import HAGRID_NAMES  # noqa: E402 (after the path insert)
from gesturekit.landmarks import CROP_SCALE, HOPELESS_BELOW, TURN_BELOW, LandmarkRegressor, acquire  # noqa: E402

# the folders whose gesture the rules know (HaGRID name → gesturekit name); the rest
# (mute, stop_inverted, none) are classes of the MLP only
RULE_CLASSES = ("open_palm", "stop", "fist", "point", "victory", "thumbs_up", "thumbs_down", "ok", "call",
                "rock")
PAD_FRACTION = 0.25
BORDERS = {"replicate": cv2.BORDER_REPLICATE, "constant": cv2.BORDER_CONSTANT}


def list_images(root: Path = DATA, limit_per_class: int | None = None, seed: int = 0
                ) -> tuple[list[Path], np.ndarray]:
    """(image paths, gesturekit class names) of ``root/<hagrid folder>/*.webp|jpg|png``,
    sorted; ``limit_per_class`` keeps a seeded random subset of each folder."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: HaGRID crop folder not found")
    rng = np.random.default_rng(seed)
    paths: list[Path] = []
    labels: list[str] = []
    for folder in sorted(HAGRID_NAMES):
        d = root / folder
        if not d.is_dir():
            raise FileNotFoundError(f"{d}: class folder missing")
        files = sorted(p for p in d.iterdir() if p.suffix.lower() in (".webp", ".jpg", ".jpeg", ".png"))
        if limit_per_class is not None and len(files) > limit_per_class:
            files = [files[i] for i in sorted(rng.choice(len(files), limit_per_class, replace=False))]
        paths += files
        labels += [HAGRID_NAMES[folder]] * len(files)
    return paths, np.asarray(labels)


def pad_crop(img: np.ndarray, fraction: float = PAD_FRACTION, border: str = "replicate"
             ) -> tuple[np.ndarray, np.ndarray, int]:
    """(padded image, hand box x1 y1 x2 y2 in it, pad) for a tight crop."""
    h, w = img.shape[:2]
    pad = max(1, round(max(h, w) * fraction))
    out = cv2.copyMakeBorder(img, pad, pad, pad, pad, BORDERS[border], value=(0, 0, 0))
    return out, np.array([pad, pad, pad + w, pad + h], np.float32), pad


def regress(paths: list[Path], model: str | Path, ratio: float = 1.5, border: str = "replicate",
            threads: int | None = None, progress: bool = False, refine: int = 1, flip_test: bool = False,
            rotations: int = 4) -> dict[str, np.ndarray]:
    """Our model's keypoints (N, 21, 2) in each original crop's pixels and their confidences
    (N, 21), each crop read as the tracker reads a new hand (:func:`gesturekit.landmarks.acquire`:
    ``rotations`` turns of the box crop, the most confident kept, then ``refine`` upright passes;
    more than 1 imitates video mode, where each frame's crop comes from the previous points)."""
    reg = LandmarkRegressor(model, threads=threads, flip_test=flip_test)
    if reg.num_points != 21:
        raise ValueError(f"{model}: {reg.num_points}-point layout; the gesture classifiers need 21")
    n = len(paths)
    kps = np.zeros((n, 21, 2), np.float32)
    confs = np.zeros((n, 21), np.float32)
    t0 = time.perf_counter()
    for i, p in enumerate(paths):
        img = cv2.imread(str(p), cv2.IMREAD_COLOR)
        if img is None:
            raise ValueError(f"{p}: cannot read or decode the image")
        f, box, pad = pad_crop(img, PAD_FRACTION, border)
        kp, conf = acquire(reg.predict, f, [box], [0.0], ratio, rotations=rotations, refine=refine)
        kps[i], confs[i] = kp[0] - pad, conf[0]
        if progress and i % 1000 == 999:
            print(f"  {i + 1}/{n} crops, {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    return {"keypoints": kps, "confidence": confs}


def sides(paths: list[Path], kp: np.ndarray, classifier) -> list[str]:
    """The side our handedness classifier reads for each crop, around its keypoints ``kp``
    (padded as its training crops were: HaGRID crops are tight)."""
    out = []
    for p, k in zip(paths, kp):
        f, _, pad = pad_crop(cv2.imread(str(p), cv2.IMREAD_COLOR), 0.5)
        out.append("right" if classifier.prob_right(f, k + pad)[0] >= 0.5 else "left")
    return out


def file_hash(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:12]


def cached_keypoints(paths: list[Path], model: str | Path, ratio: float, border: str, cache_dir: Path,
                     root: Path = DATA, threads: int | None = None, refine: int = 1,
                     flip_test: bool = False, rotations: int = 4) -> dict[str, np.ndarray]:
    """:func:`regress` through an .npz cache holding every crop computed so far for this
    (model file, ratio, border, passes, acquire's thresholds); only the missing crops are run.
    The thresholds are in the key: a cache written before HOPELESS_BELOW existed went on giving
    the older reading's figures and hid what the new threshold cost on thumbs_down."""
    tag = (f"r{ratio:g}_{border}_rot{rotations}t{TURN_BELOW:g}h{HOPELESS_BELOW:g}"
           + (f"_x{refine}" if refine != 1 else "")
           + ("_flip" if flip_test else ""))
    cache = Path(cache_dir) / f"gestures_e2e_{Path(model).stem}_{file_hash(model)}_{tag}.npz"
    rel = [str(Path(p).relative_to(root)) for p in paths]
    have: dict[str, np.ndarray] = {}
    if cache.is_file():
        with np.load(cache, allow_pickle=False) as z:
            have = {k: z[k] for k in z.files}
    known = {name: i for i, name in enumerate(have.get("images", np.array([], str)).tolist())}
    missing = [i for i, r in enumerate(rel) if r not in known]
    if missing:
        print(f"regressing {len(missing)} crops with {model} (ratio {ratio:g}, {border} border)", file=sys.stderr)
        new = regress([paths[i] for i in missing], model, ratio, border, threads=threads, progress=True,
                      refine=refine, flip_test=flip_test, rotations=rotations)
        new["images"] = np.asarray([rel[i] for i in missing])
        have = new if not have else {k: np.concatenate([have[k], new[k]]) for k in new}
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, **have)
        known = {name: i for i, name in enumerate(have["images"].tolist())}
    idx = np.array([known[r] for r in rel], int)
    return {k: v[idx] for k, v in have.items() if k != "images"}


def mediapipe_agreement(paths: list[Path], kp: np.ndarray, root: Path = DATA) -> dict[str, float]:
    """Our points against MediaPipe's (``keypoints_mediapipe.csv``) on the crops it labelled:
    NME = mean point distance / longer side of MediaPipe's keypoint box; PCK@0.1, @0.2."""
    csv_path = Path(root) / "keypoints_mediapipe.csv"
    if not csv_path.is_file():
        return {}
    mp: dict[str, np.ndarray] = {}
    with csv_path.open(newline="") as f:
        for row in csv.DictReader(f):
            mp[row["image"]] = np.array([[float(row[f"x{i}"]), float(row[f"y{i}"])] for i in range(21)])
    rows = [(i, mp[str(Path(p).relative_to(root))]) for i, p in enumerate(paths)
            if str(Path(p).relative_to(root)) in mp]
    if not rows:
        return {}
    idx = np.array([i for i, _ in rows])
    ref = np.stack([r for _, r in rows])
    size = np.maximum((ref.max(1) - ref.min(1)).max(1), 1.0)[:, None]
    d = np.linalg.norm(kp[idx] - ref, axis=2) / size
    return {"rows": len(idx), "nme": float(d.mean()), "nme_median_hand": float(np.median(d.mean(1))),
            "pck@0.1": float((d < 0.1).mean()), "pck@0.2": float((d < 0.2).mean())}


@dataclass
class Scores:
    """What :func:`score` measured on the held-out rows."""

    results: dict
    model: object            # the MLP trained on our points (GestureMLP)
    classes: list[str]
    confusion: np.ndarray    # of that MLP on the held-out rows (rows = truth)


def _mlp_names(mlp, kp: np.ndarray, hands: list) -> np.ndarray:
    return np.asarray(mlp.labels)[mlp.predict_proba(kp, hands).argmax(1)]


def _recognizer_names(model_path: Path, kp: np.ndarray, hands: list, **options) -> np.ndarray:
    """Names through ``GestureRecognizer`` as the tracker builds it, but for ``options``."""
    from gesturekit.gestures import GestureOptions, GestureRecognizer

    rec = GestureRecognizer(GestureOptions(model_path=model_path, min_score=0.0, **options))
    out = []
    for k, h in zip(kp, hands):
        try:
            out.append(rec.recognize(k, h).name)
        except ValueError:  # a degenerate hand (e.g. wrist on the middle MCP): counted as a miss
            out.append("none")
    return np.asarray(out)


def _rule_names(kp: np.ndarray) -> np.ndarray:
    from gesturekit.gestures import RuleClassifier

    rules = RuleClassifier()
    out = []
    for k in kp:
        try:
            out.append(rules.classify(k)[0])
        except ValueError:
            out.append("none")
    return np.asarray(out)


def _per_class(pred: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    return {c: round(float((pred[truth == c] == c).mean()), 4) for c in sorted(set(truth.tolist()))}


def score(kp: np.ndarray, labels: np.ndarray, hands: list, shipped: str | Path, seed: int = 0,
          val_fraction: float = 0.2, model_dir: Path | None = None) -> Scores:
    """Split (stratified, seeded), train an MLP on our points' training part, score (a), (b), (c).

    ``model_dir``: where the trained MLP is written for the recognizer pass (a temp dir if None)."""
    import tempfile

    from gesturekit.gestures.features import mlp_inputs
    from gesturekit.gestures.mlp import (
        GestureMLP,
        TrainOptions,
        accuracy,
        confusion,
        stratified_split,
        train_mlp,
    )

    labels = np.asarray(labels)
    hands = list(hands)
    tr, va = stratified_split(labels, val_fraction, seed)
    if len(va) == 0 or len(set(labels[tr].tolist())) < 2:
        raise ValueError("too few images for a held-out split (raise --limit-per-class)")
    classes = sorted(set(labels.tolist()))
    hv = [hands[i] for i in va]
    truth = labels[va]
    rule_rows = np.isin(truth, RULE_CLASSES)
    res: dict = {"images": len(labels), "train_rows": len(tr), "held_out_rows": len(va),
                 "held_out_rule_rows": int(rule_rows.sum()), "seed": seed, "val_fraction": val_fraction}

    def put(name: str, pred: np.ndarray, rows: np.ndarray | None = None) -> None:
        p, t = (pred, truth) if rows is None else (pred[rows], truth[rows])
        acc, macro = accuracy(p, t)
        res[name] = {"accuracy": round(acc, 4), "macro_accuracy": round(macro, 4), "rows": len(t),
                     "per_class": _per_class(p, t)}

    # (a) the shipped MLP, trained on MediaPipe's points
    shipped_mlp = GestureMLP.load(shipped)
    put("a_shipped_mlp", _mlp_names(shipped_mlp, kp[va], hv))
    put("a_shipped_recognizer", _recognizer_names(Path(shipped), kp[va], hv))
    put("a_shipped_mlp_rule_classes", _mlp_names(shipped_mlp, kp[va], hv), rule_rows)
    # (b) the same recipe trained on our points
    opts = TrainOptions(seed=seed, extra={"data": "hagrid12 crops, keypoints from our model"})
    model = train_mlp(mlp_inputs(kp[tr], [hands[i] for i in tr]), labels[tr], opts, classes=classes)
    pred_b = _mlp_names(model, kp[va], hv)
    put("b_e2e_mlp", pred_b)
    put("b_e2e_mlp_rule_classes", pred_b, rule_rows)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(model_dir or tmp) / "gesture_mlp_e2e.npz"
        model.save(path)
        put("b_e2e_recognizer", _recognizer_names(path, kp[va], hv))          # what the tracker runs
        put("b_e2e_recognizer_no_pinch_rule", _recognizer_names(path, kp[va], hv, rule_gestures=()))
    # (c) the rules on the classes they cover
    pred_c = _rule_names(kp[va][rule_rows])
    acc, macro = accuracy(pred_c, truth[rule_rows])
    res["c_rules"] = {"accuracy": round(acc, 4), "macro_accuracy": round(macro, 4), "rows": int(rule_rows.sum()),
                      "per_class": _per_class(pred_c, truth[rule_rows])}
    model.meta.update({"val_fraction": val_fraction, "val_rows": len(va),
                       "val_accuracy": res["b_e2e_mlp"]["accuracy"],
                       "val_macro_accuracy": res["b_e2e_mlp"]["macro_accuracy"]})
    return Scores(res, model, classes, confusion(pred_b, truth, classes))


def write_train_points(paths: list[Path], labels: np.ndarray, out: Path, root: Path = DATA, seed: int = 0,
                       val_fraction: float = 0.2) -> int:
    """Write the MediaPipe keypoint rows (``root/keypoints_mediapipe.csv``) of every image *not* in the
    held-out part, with absolute image paths: extra keypoint training data that never sees the
    crops the gesture figures are scored on. Returns the number of rows."""
    import csv

    from gesturekit.gestures.mlp import stratified_split

    _, va = stratified_split(np.asarray(labels), val_fraction, seed)
    held = {Path(paths[i]).relative_to(root).as_posix() for i in va}
    out.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with open(root / "keypoints_mediapipe.csv", newline="") as f, open(out, "w", newline="") as g:
        rows, w = csv.reader(f), csv.writer(g)
        w.writerow(next(rows))
        for row in rows:
            if row and row[0] not in held:
                w.writerow([str((root / row[0]).resolve()), *row[1:]])
                n += 1
    return n


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=str(ROOT / "models" / "keypoints.onnx"), help="keypoint model (.onnx/.pt)")
    ap.add_argument("--data", type=Path, default=DATA, help="hagrid12 folder")
    ap.add_argument("--shipped", default=str(ROOT / "models" / "gesture_mlp.npz"), help="MLP to score as (a)")
    ap.add_argument("--limit-per-class", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--val-fraction", type=float, default=0.2)
    ap.add_argument("--ratio", type=float, nargs="+", default=[1.5],
                    help="first-pass crop side / longer side of the hand box (several: a sweep)")
    ap.add_argument("--border", choices=sorted(BORDERS), default="replicate")
    ap.add_argument("--refine", type=int, default=1, help="upright passes after the first (tracker: 1)")
    ap.add_argument("--rotations", type=int, default=4, help="turns of the first crop tried (tracker: 4)")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--flip-test", action="store_true", help="also read mirrored crops and average")
    ap.add_argument("--cache-dir", type=Path, default=ROOT / "runs")
    ap.add_argument("--json", type=Path, help="write the figures here")
    ap.add_argument("--confusion", type=Path, help="PNG of the (b) MLP's held-out confusion matrix")
    ap.add_argument("--save-model", type=Path, help="write the (b) MLP here (.npz + .json)")
    ap.add_argument("--write-train-points", type=Path, metavar="CSV",
                    help="only write the MediaPipe keypoints of the non-held-out images (keypoint training data)")
    a = ap.parse_args(argv)
    if a.limit_per_class is not None and a.limit_per_class < 2:
        ap.error("--limit-per-class: must be >= 2")
    if a.refine < 0:
        ap.error("--refine: must be >= 0")
    if a.rotations < 1:
        ap.error("--rotations: must be >= 1")

    from gesturekit.handedness import HandednessClassifier

    paths, labels = list_images(a.data, a.limit_per_class, a.seed)
    if a.write_train_points:
        n = write_train_points(paths, labels, a.write_train_points, a.data, a.seed, a.val_fraction)
        print(f"{n} rows → {a.write_train_points}")
        return 0
    side = HandednessClassifier()
    out: dict = {"model": str(a.model), "model_sha256_12": file_hash(a.model), "border": a.border,
                 "pad_fraction": PAD_FRACTION, "crop_scale": CROP_SCALE, "refine": a.refine,
                 "rotations": a.rotations, "flip_test": a.flip_test, "runs": []}
    last = None
    for ratio in a.ratio:
        t0 = time.perf_counter()
        k = cached_keypoints(paths, a.model, ratio, a.border, a.cache_dir, a.data, a.threads, a.refine,
                             a.flip_test, a.rotations)
        kp = k["keypoints"].astype(np.float64)
        hands = sides(paths, kp, side)
        s = score(kp, labels, hands, a.shipped, a.seed, a.val_fraction)
        run = {"ratio": ratio, "seconds": round(time.perf_counter() - t0, 1),
               "mean_conf": round(float(k["confidence"].mean()), 4),
               "vs_mediapipe": {m: round(v, 4) for m, v in mediapipe_agreement(paths, kp, a.data).items()},
               **s.results}
        out["runs"].append(run)
        last = s
        short = {n: run[n]["macro_accuracy"] for n in run if isinstance(run[n], dict) and "macro_accuracy" in run[n]}
        print(json.dumps({"ratio": ratio, "vs_mediapipe": run["vs_mediapipe"], "macro": short}))
    # the ratio is chosen by agreement with MediaPipe's points, not by the held-out
    # gesture scores (which would then be tuned on the rows they report)
    best = min(out["runs"], key=lambda r: r["vs_mediapipe"].get("nme", 0.0))
    out["chosen_ratio"] = best["ratio"]
    if len(a.ratio) > 1:
        print(f"chosen ratio (lowest NME against MediaPipe's points): {best['ratio']:g}")
    if last is not None and (a.confusion or a.save_model):
        if best["ratio"] != a.ratio[-1]:  # re-score at the best ratio (cached: instant)
            k = cached_keypoints(paths, a.model, best["ratio"], a.border, a.cache_dir, a.data, a.threads, a.refine,
                                 a.flip_test, a.rotations)
            kp = k["keypoints"].astype(np.float64)
            hands = sides(paths, kp, side)
            last = score(kp, labels, hands, a.shipped, a.seed, a.val_fraction)
        if a.confusion:
            from gesturekit.gestures.mlp import save_confusion_png

            r = best["b_e2e_mlp"]
            save_confusion_png(last.confusion, last.classes, a.confusion,
                               f"{Path(a.model).name} keypoints → MLP, held out ({r['rows']} crops): "
                               f"macro {r['macro_accuracy']:.3f}")
        if a.save_model:
            last.model.meta.update({"keypoint_model": Path(a.model).name, "keypoint_model_sha256_12":
                                    out["model_sha256_12"], "first_pass_ratio": best["ratio"],
                                    "border": a.border, "pad_fraction": PAD_FRACTION,
                                    "handedness_model": side.path.name,
                                    "handedness_model_sha256_12": file_hash(side.path),
                                    "made_by": "bench/gestures_end_to_end.py"})
            last.model.save(a.save_model)
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
