"""A small MLP classifier: numpy inference (core install), numpy training (seconds on CPU).

Files: ``model.npz`` holds only float arrays ``W0, b0, W1, b1, …`` (read with
``allow_pickle=False``); ``model.json`` beside it holds the class names and how
inputs are made (``input``: "static" = 21 keypoints → :func:`~.features.mlp_input`
with ``frame``; "history" = 16 (x, y) points → :func:`history_input`).
"""

from __future__ import annotations

import itertools
import json
import time
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import ModelFileError
from .features import mlp_inputs

FORMAT = "gesturekit-mlp/1"


# model input kind → width: keypoints (42), point histories (32), or features its owner computes
# (any width; e.g. gesturekit.presence)
INPUT_SIZES = {"static": 42, "history": 32, "features": None}


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def history_input(history) -> np.ndarray:
    """kinivi point-history pre-processing: (16, 2) or (N, 16, 2) points in *normalised*
    image coordinates (x / width, y / height) → relative to the first point → (…, 32)."""
    h = np.asarray(history, dtype=np.float32)
    single = h.ndim == 2
    if single:
        h = h[None]
    if h.ndim != 3 or h.shape[1:] != (16, 2):
        raise ValueError(f"history: shape {np.shape(history)}, expected (16, 2) or (N, 16, 2)")
    if not np.isfinite(h).all():
        raise ValueError("history: NaN or inf")
    out = (h - h[:, :1]).reshape(len(h), 32)
    return out[0] if single else out


class GestureMLP:
    """Fully connected ReLU network; :meth:`predict_proba` runs in numpy."""

    def __init__(self, weights: list[tuple[np.ndarray, np.ndarray]], labels: list[str],
                 input: str = "static", frame: str = "canonical", meta: dict | None = None):
        if input not in INPUT_SIZES:
            raise ValueError(f"input: {input!r}, expected one of {sorted(INPUT_SIZES)}")
        if frame not in ("canonical", "kinivi"):
            raise ValueError(f"frame: {frame!r}, expected 'canonical' or 'kinivi'")
        if not weights:
            raise ValueError("weights: empty")
        if weights[-1][0].shape[1] != len(labels):
            raise ValueError(f"labels: {len(labels)} names for {weights[-1][0].shape[1]} outputs")
        self.weights = [(np.asarray(w, np.float32), np.asarray(b, np.float32)) for w, b in weights]
        self.labels = list(labels)
        self.input = input
        self.frame = frame
        self.meta = dict(meta or {})

    @property
    def in_features(self) -> int:
        return self.weights[0][0].shape[0]

    def features(self, x, handedness=None) -> np.ndarray:
        """Model input from raw data: (N, 21, 2) keypoints or (N, 16, 2) histories."""
        if self.input == "static":
            return mlp_inputs(x, handedness, self.frame)
        if self.input == "history":
            return history_input(x)
        raise ValueError("this MLP reads precomputed features: call predict_proba_features")

    def predict_proba_features(self, feats: np.ndarray) -> np.ndarray:
        h = np.asarray(feats, np.float32)
        if h.ndim != 2 or h.shape[1] != self.in_features:
            raise ValueError(f"features: shape {h.shape}, expected (N, {self.in_features})")
        for i, (w, b) in enumerate(self.weights):
            h = h @ w + b
            if i < len(self.weights) - 1:
                h = np.maximum(h, 0.0)
        return _softmax(h)

    def predict_proba(self, x, handedness=None) -> np.ndarray:
        return self.predict_proba_features(self.features(x, handedness))

    def predict(self, x, handedness=None) -> np.ndarray:
        return np.asarray(self.labels)[self.predict_proba(x, handedness).argmax(1)]

    # --- files ---------------------------------------------------------------------------
    def save(self, path: str | Path) -> tuple[Path, Path]:
        """Write ``path`` (.npz) and the JSON beside it; returns both paths."""
        path = Path(path)
        if path.suffix != ".npz":
            raise ValueError(f"path: {path} must end in .npz")
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = {}
        for i, (w, b) in enumerate(self.weights):
            arrays[f"W{i}"], arrays[f"b{i}"] = w, b
        np.savez(path, **arrays)
        meta = {"format": FORMAT, "labels": self.labels, "input": self.input, "frame": self.frame,
                **self.meta}
        js = path.with_suffix(".json")
        js.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        return path, js

    @classmethod
    def load(cls, path: str | Path) -> GestureMLP:
        """Load ``model.npz`` + ``model.json``; ModelFileError names the file and problem."""
        path = Path(path)
        js = path.with_suffix(".json")
        for p in (path, js):
            if not p.is_file():
                raise ModelFileError(f"{p}: model file not found (an MLP is an .npz with its .json beside it)")
        try:
            meta = json.loads(js.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as e:
            raise ModelFileError(f"{js}: not valid JSON ({e})") from None
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise ModelFileError(f"{js}: not a gesturekit MLP description (format {FORMAT!r} expected)")
        labels = meta.get("labels")
        if not isinstance(labels, list) or not all(isinstance(s, str) for s in labels):
            raise ModelFileError(f"{js}: 'labels' must be a list of strings")
        try:
            with np.load(path, allow_pickle=False) as z:
                n = len([k for k in z.files if k.startswith("W")])
                weights = [(z[f"W{i}"], z[f"b{i}"]) for i in range(n)]
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error) as e:  # truncated or not an .npz
            raise ModelFileError(f"{path}: cannot read weights ({e})") from None
        if n == 0:
            raise ModelFileError(f"{path}: no weight arrays W0, b0, …")
        for i, (w, b) in enumerate(weights):
            if w.ndim != 2 or b.shape != (w.shape[1],) or (i and w.shape[0] != weights[i - 1][0].shape[1]):
                raise ModelFileError(f"{path}: layer {i} shapes {w.shape}, {b.shape} do not chain")
        if not isinstance(meta.get("input", "static"), str) or not isinstance(meta.get("frame", "canonical"), str):
            raise ModelFileError(f"{js}: 'input' and 'frame' must be strings")
        expect = INPUT_SIZES.get(meta.get("input", "static"))
        if expect is not None and weights[0][0].shape[0] != expect:
            raise ModelFileError(f"{path}: input size {weights[0][0].shape[0]}, expected {expect}")
        rest = {k: v for k, v in meta.items() if k not in ("format", "labels", "input", "frame")}
        try:
            return cls(weights, labels, meta.get("input", "static"), meta.get("frame", "canonical"), rest)
        except ValueError as e:
            raise ModelFileError(f"{path}: {e}") from None


# --- training ------------------------------------------------------------------------------

def load_helper_mlp(path: str | Path | None, default_name: str, labels) -> tuple[GestureMLP, Path]:
    """(model, its path): a shipped helper classifier (``models/<default_name>`` when ``path`` is
    None) whose labels must be exactly ``labels``; ModelFileError names the file otherwise."""
    from ..runtime import default_model

    path = Path(path) if path is not None else default_model(default_name)
    mlp = GestureMLP.load(path)
    if sorted(mlp.labels) != sorted(labels):
        raise ModelFileError(f"{path}: labels {mlp.labels}, expected {list(labels)}")
    return mlp, path


def stratified_split(labels, val_fraction: float = 0.2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Seeded per-class split: (train indices, held-out indices), both sorted."""
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction: {val_fraction} is outside (0, 1)")
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    tr, va = [], []
    for c in sorted(set(labels.tolist())):
        idx = np.flatnonzero(labels == c)
        rng.shuffle(idx)
        k = round(len(idx) * val_fraction) if len(idx) > 1 else 0
        va.extend(idx[:k])
        tr.extend(idx[k:])
    return np.sort(np.asarray(tr, int)), np.sort(np.asarray(va, int))


@dataclass
class TrainOptions:
    """MLP training settings (validated)."""

    hidden: tuple[int, ...] = (64, 32)
    epochs: int = 150
    batch_size: int = 128
    lr: float = 3e-3
    weight_decay: float = 1e-4
    noise: float = 0.02          # Gaussian input jitter, in normalised units
    seed: int = 0
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.hidden = tuple(int(h) for h in self.hidden)
        if not self.hidden or min(self.hidden) < 1:
            raise ValueError(f"hidden: {self.hidden} must be positive layer widths")
        for name in ("epochs", "batch_size"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name}: {getattr(self, name)} must be >= 1")
        if not self.lr > 0:
            raise ValueError(f"lr: {self.lr} must be > 0")
        if self.weight_decay < 0 or self.noise < 0:
            raise ValueError("weight_decay / noise: must be >= 0")


def train_mlp(x: np.ndarray, labels, options: TrainOptions | None = None, *, input: str = "static",
              frame: str = "canonical", classes: list[str] | None = None) -> GestureMLP:
    """Train on model inputs ``x`` (N, F) with string ``labels`` (Adam, cross-entropy)."""
    opt = options or TrainOptions()
    x = np.asarray(x, np.float32)
    labels = np.asarray(labels)
    if x.ndim != 2 or len(x) != len(labels) or len(x) == 0:
        raise ValueError(f"x: shape {x.shape} does not match {len(labels)} labels")
    classes = list(classes) if classes is not None else sorted(set(labels.tolist()))
    if len(classes) < 2:
        raise ValueError(f"labels: need at least 2 classes, got {classes}")
    index = {c: i for i, c in enumerate(classes)}
    try:
        y = np.array([index[c] for c in labels])
    except KeyError as e:
        raise ValueError(f"labels: {e} is not in classes {classes}") from None
    rng = np.random.default_rng(opt.seed)
    sizes = [x.shape[1], *opt.hidden, len(classes)]
    params = []
    for a, b in itertools.pairwise(sizes):
        params += [rng.normal(0, np.sqrt(2.0 / a), (a, b)).astype(np.float32), np.zeros(b, np.float32)]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    b1, b2, eps, step = 0.9, 0.999, 1e-8, 0
    n = len(x)
    steps_total = opt.epochs * int(np.ceil(n / opt.batch_size))
    t0 = time.perf_counter()
    for _epoch in range(opt.epochs):
        order = rng.permutation(n)
        for s in range(0, n, opt.batch_size):
            idx = order[s:s + opt.batch_size]
            h = x[idx]
            if opt.noise:
                h = h + rng.normal(0, opt.noise, h.shape).astype(np.float32)
            acts = [h]
            for i in range(0, len(params), 2):
                h = h @ params[i] + params[i + 1]
                if i < len(params) - 2:
                    h = np.maximum(h, 0.0)
                acts.append(h)
            p = _softmax(h)
            p[np.arange(len(idx)), y[idx]] -= 1.0
            g = p / len(idx)
            grads = [None] * len(params)
            for i in range(len(params) - 2, -1, -2):
                a_in = acts[i // 2]
                grads[i] = a_in.T @ g + opt.weight_decay * params[i]
                grads[i + 1] = g.sum(0)
                if i:
                    g = (g @ params[i].T) * (a_in > 0)
            step += 1
            lr = opt.lr * 0.5 * (1 + np.cos(np.pi * step / steps_total))  # cosine decay
            for j, gr in enumerate(grads):
                m[j] = b1 * m[j] + (1 - b1) * gr
                v[j] = b2 * v[j] + (1 - b2) * gr * gr
                mh = m[j] / (1 - b1 ** step)
                vh = v[j] / (1 - b2 ** step)
                params[j] -= (lr * mh / (np.sqrt(vh) + eps)).astype(np.float32)
    weights = [(params[i], params[i + 1]) for i in range(0, len(params), 2)]
    meta = {"hidden": list(opt.hidden), "epochs": opt.epochs, "seed": opt.seed, "train_rows": n,
            "train_seconds": round(time.perf_counter() - t0, 2), **opt.extra}
    return GestureMLP(weights, classes, input=input, frame=frame, meta=meta)


def accuracy(pred, truth) -> tuple[float, float]:
    """(overall accuracy, macro accuracy = mean per-class recall)."""
    pred, truth = np.asarray(pred), np.asarray(truth)
    acc = float((pred == truth).mean())
    per = [float((pred[truth == c] == c).mean()) for c in sorted(set(truth.tolist()))]
    return acc, float(np.mean(per))


def confusion(pred, truth, classes: list[str]) -> np.ndarray:
    """(C, C) counts, rows = truth, columns = prediction (unknown names ignored)."""
    idx = {c: i for i, c in enumerate(classes)}
    cm = np.zeros((len(classes), len(classes)), int)
    for p, t in zip(pred, truth):
        if p in idx and t in idx:
            cm[idx[t], idx[p]] += 1
    return cm


@dataclass
class FitReport:
    """What :func:`fit_file` measured on the held-out rows."""

    model: GestureMLP
    classes: list[str]
    train_rows: int
    val_rows: int
    accuracy: float
    macro_accuracy: float
    confusion: np.ndarray
    val_truth: np.ndarray
    val_pred: np.ndarray
    val_index: np.ndarray


def fit_file(data, labels=None, *, kind: str = "static", frame: str = "canonical",
             val_fraction: float = 0.2, options: TrainOptions | None = None) -> FitReport:
    """Read a sample file, split it (stratified, seeded), train, score the held-out rows.

    kind "static" reads :func:`~.samples.read_samples` layouts; "history" reads kinivi's
    ``point_history.csv`` (names mapped by ``KINIVI_HISTORY_NAMES``).
    """
    from .dynamic import KINIVI_HISTORY_NAMES
    from .samples import read_point_history, read_samples

    opt = options or TrainOptions()
    if kind == "static":
        s = read_samples(data, labels)
        x = mlp_inputs(s.keypoints, s.handedness, frame)
        y = s.labels
    elif kind == "history":
        h, y = read_point_history(data, labels)
        y = np.array([KINIVI_HISTORY_NAMES.get(n, n) for n in y])
        x = history_input(h)
    else:
        raise ValueError(f"kind: {kind!r}, expected 'static' or 'history'")
    tr, va = stratified_split(y, val_fraction, opt.seed)
    if len(va) == 0:
        raise ValueError(f"{data}: too few rows to hold any out for scoring ({len(y)} rows in "
                         f"{len(set(y.tolist()))} classes); record more, a few dozen a class")
    classes = sorted(set(y.tolist()))
    model = train_mlp(x[tr], y[tr], opt, input=kind, frame=frame, classes=classes)
    pred = np.asarray(classes)[model.predict_proba_features(x[va]).argmax(1)]
    acc, macro = accuracy(pred, y[va])
    model.meta.update({"data": Path(data).name, "val_fraction": val_fraction, "val_rows": len(va),
                       "val_accuracy": round(acc, 4), "val_macro_accuracy": round(macro, 4)})
    return FitReport(model, classes, len(tr), len(va), acc, macro, confusion(pred, y[va], classes),
                     y[va], pred, va)


def save_confusion_png(cm: np.ndarray, classes: list[str], path, title: str = "") -> Path:
    """Row-normalised confusion matrix as a PNG (needs matplotlib, the ``train`` extra)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        from ..errors import missing_extra

        raise missing_extra("train", "matplotlib") from None
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    norm = cm / np.maximum(cm.sum(1, keepdims=True), 1)
    n = len(classes)
    fig, ax = plt.subplots(figsize=(1.0 + 0.55 * n, 0.8 + 0.5 * n))
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(n), classes, rotation=60, ha="right")
    ax.set_yticks(range(n), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(n):
        for j in range(n):
            if cm[i, j]:
                ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=7,
                        color="white" if norm[i, j] > 0.5 else "black")
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
