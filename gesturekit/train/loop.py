"""One training loop for every gesturekit network: AdamW, one-cycle, checkpoints, resume, plots.

Callers supply a model, data loaders, a loss and an evaluation function; the
loop owns seeding, the schedule, the progress bar, ``last.pt``/``best.pt`` every
epoch, resuming, and ``curves.png``.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from ..errors import ModelFileError
from ..runtime import load_torch_checkpoint, torch_threads


@dataclass
class TrainConfig:
    epochs: int = 30
    batch_size: int = 64
    lr: float | None = None          # None: run the learning-rate finder
    weight_decay: float = 1e-4
    seed: int = 0
    threads: int = 2
    workers: int = 1
    out: str = "runs/keypoints"
    monitor: str = "pck@0.05"        # higher is better
    device: str = "auto"
    ema: float = 0.0                 # decay of an exponential moving average of the weights; 0: off

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError("TrainConfig.epochs and batch_size must be >= 1")
        if not 0.0 <= self.ema < 1.0:
            raise ValueError(f"TrainConfig.ema: a decay in [0, 1), 0 for off; got {self.ema}")


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def save_atomic(obj: dict, path: Path) -> None:
    """``torch.save`` through a temporary file: a run killed mid-save leaves the old file whole."""
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    tmp.replace(path)


def pick_device(name: str) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device: 'cuda' asked for but torch sees no CUDA GPU")
    return torch.device(name)


def to_device(batch, device):
    return [torch.as_tensor(b).to(device, non_blocking=True) for b in batch]


def weight_average(model: torch.nn.Module, decay: float) -> torch.optim.swa_utils.AveragedModel:
    """An exponential moving average of ``model``'s weights and BatchNorm statistics.

    The decay ramps up as ``(1 + n) / (10 + n)`` over the first updates (as TensorFlow's
    ``ExponentialMovingAverage`` does), so a short run of a few hundred steps is not
    dominated by its first weights."""
    from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

    def update(ema_params, params, n_averaged) -> None:
        n = int(n_averaged)
        get_ema_multi_avg_fn(min(decay, (1 + n) / (10 + n)))(ema_params, params, n_averaged)

    return AveragedModel(model, multi_avg_fn=update, use_buffers=True)


def lr_find(model, loader, loss_fn, device, lo: float = 1e-5, hi: float = 1e-1, steps: int = 60,
            weight_decay: float = 1e-4) -> tuple[float, list[tuple[float, float]]]:
    """Exponential learning-rate sweep (Smith); returns a tenth of the lr at the lowest smoothed loss.

    The model's weights are restored afterwards.
    """
    state = {k: v.clone() for k, v in model.state_dict().items()}
    opt = torch.optim.AdamW(model.parameters(), lr=lo, weight_decay=weight_decay)
    gamma = (hi / lo) ** (1 / steps)
    hist, avg, best = [], 0.0, math.inf
    model.train()
    it = iter(loader)
    for i in range(steps):
        try:
            batch = next(it)
        except StopIteration:
            it = iter(loader)
            batch = next(it)
        lr = lo * gamma**i
        for g in opt.param_groups:
            g["lr"] = lr
        loss = loss_fn(model, to_device(batch, device))
        opt.zero_grad()
        loss.backward()
        opt.step()
        avg = 0.9 * avg + 0.1 * float(loss.detach())
        smooth = avg / (1 - 0.9 ** (i + 1))
        hist.append((lr, smooth))
        best = min(best, smooth)
        if smooth > 4 * best and i > 10:
            break
    model.load_state_dict(state)
    lr_min = min(hist, key=lambda t: t[1])[0]
    return lr_min / 10, hist


NOT_PLOTTED = ("epoch", "lr", "time_s", "points")
SHARE_PREFIXES = ("pck", "within", "ap", "recall", "precision", "found", "score", "acc")
METRIC_TITLES = {"loss": "loss", "share": "share (0-1)", "pixels": "error (pixels)", "other": "other"}


def metric_kind(key: str) -> str:
    """``loss``, ``pixels`` (EPE), ``share`` (PCK, AP, accuracy: 0..1) or ``other`` (NME, anything new):
    each kind gets an axis of its own, as a 3 px error drawn beside a 0.9 PCK flattens the PCK."""
    if "loss" in key:
        return "loss"
    if key.endswith("_px") or key.startswith("epe"):
        return "pixels"
    if key.startswith(SHARE_PREFIXES) or "_acc" in key:
        return "share"
    return "other"


def metric_groups(history: list[dict]) -> dict[str, list[str]]:
    """The plotted keys of every row (a key may first appear in a later row), by kind, in
    ``METRIC_TITLES`` order; kinds with no key are left out."""
    keys = list(dict.fromkeys(k for h in history for k in h if k not in NOT_PLOTTED))
    groups = {kind: [k for k in keys if metric_kind(k) == kind] for kind in METRIC_TITLES}
    return {kind: ks for kind, ks in groups.items() if ks}


def plot_curves(history: list[dict], path: Path) -> None:
    """``curves.png``: one panel per kind of metric (:func:`metric_groups`) against the epoch."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = metric_groups(history)
    if not groups:
        return
    ep = [h["epoch"] for h in history]
    fig, axes = plt.subplots(1, len(groups), figsize=(5.5 * len(groups), 4), squeeze=False)
    for ax, (kind, keys) in zip(axes[0], groups.items()):
        for k in keys:
            ax.plot(ep, [h.get(k, math.nan) for h in history], label=k)
        ax.set_xlabel("epoch")
        ax.set_title(METRIC_TITLES[kind])
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def fit(model: torch.nn.Module, train_set, loss_fn: Callable, evaluate: Callable[[torch.nn.Module], dict],
        cfg: TrainConfig, collate=None, on_epoch: Callable[[int], None] | None = None,
        data_key: str | None = None) -> list[dict]:
    """Train ``model``; resumes from ``cfg.out/last.pt`` when it exists. Returns the history.

    ``data_key`` fingerprints the training data (e.g. :func:`data_key`): a ``last.pt`` saved on
    other data is refused instead of resumed (the step count alone cannot tell same-sized sets).
    Torch runs on ``cfg.threads`` threads meanwhile; the caller's count is put back after."""
    with torch_threads(cfg.threads, exclusive=False):
        return _fit(model, train_set, loss_fn, evaluate, cfg, collate, on_epoch, data_key)


def _fit(model, train_set, loss_fn, evaluate, cfg: TrainConfig, collate, on_epoch, data_key) -> list[dict]:
    from tqdm import tqdm

    seed_everything(cfg.seed)
    device = pick_device(cfg.device)
    model.to(device)
    if device.type == "cpu":
        model.to(memory_format=torch.channels_last)  # measured ~1.6x faster training on CPU
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    g = torch.Generator().manual_seed(cfg.seed)
    loader = torch.utils.data.DataLoader(train_set, cfg.batch_size, shuffle=True, drop_last=True,
                                         num_workers=cfg.workers, generator=g, collate_fn=collate,
                                         persistent_workers=False)
    if len(loader) == 0:
        raise ValueError(f"{len(train_set)} training samples make no full batch of {cfg.batch_size}: "
                         "lower the batch size or draw each image more often (repeat)")
    last = out / "last.pt"
    ckpt = load_torch_checkpoint(last, device) if last.exists() else None
    if ckpt is not None:
        _check_resumable(ckpt, last, model, (cfg.epochs, len(loader)), data_key, cfg.ema)
    lr = cfg.lr if ckpt is None else ckpt["lr"]
    if lr is None:
        lr, hist = lr_find(model, loader, loss_fn, device, weight_decay=cfg.weight_decay)
        (out / "lr_find.json").write_text(json.dumps({"chosen_lr": lr, "sweep": hist}))
        print(f"lr finder: chose {lr:.2e}")
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=cfg.epochs * len(loader),
                                                pct_start=0.15)
    ema = weight_average(model, cfg.ema) if cfg.ema else None
    history, start, best = [], 0, -math.inf
    if ckpt is not None:
        model.load_state_dict(ckpt["model"])
        if ema is not None:
            ema.load_state_dict(ckpt["ema"])
        opt.load_state_dict(ckpt["opt"])
        sched.load_state_dict(ckpt["sched"])
        history, start, best = ckpt["history"], ckpt["epoch"] + 1, ckpt["best"]
        print(f"resumed from {last} at epoch {start}" if start < cfg.epochs else
              f"{last}: all {cfg.epochs} epochs already done (use another out folder, or delete it, to train again)")
    for epoch in range(start, cfg.epochs):
        if on_epoch:
            on_epoch(epoch)
        torch.manual_seed(cfg.seed + epoch)
        g.manual_seed(cfg.seed + epoch)  # the shuffle depends on the epoch alone: a resumed run draws the same
        model.train()
        t0, total, n = time.time(), 0.0, 0
        bar = tqdm(loader, desc=f"epoch {epoch + 1}/{cfg.epochs}", unit="batch", mininterval=10)
        for batch in bar:
            loss = loss_fn(model, to_device(batch, device))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            if ema is not None:
                ema.update_parameters(model)
            total, n = total + loss.item(), n + 1
            bar.set_postfix(loss=f"{total / n:.4f}", refresh=False)
        scored = model if ema is None else ema.module  # with EMA, the average is what is scored and kept
        scored.eval()
        with torch.no_grad():
            metrics = evaluate(scored)
        row = {"epoch": epoch + 1, "train_loss": total / max(n, 1), **metrics,
               "lr": sched.get_last_lr()[0], "time_s": round(time.time() - t0, 1)}
        history.append(row)
        print(json.dumps(row), flush=True)
        if row.get(cfg.monitor, -math.inf) >= best:
            best = row.get(cfg.monitor, -math.inf)
            save_atomic({"model": _plain_state(scored), "arch": model.arch, "metrics": row, "config": asdict(cfg)},
                        out / "best.pt")
        resume = {"model": _plain_state(model), "opt": opt.state_dict(), "sched": sched.state_dict(), "epoch": epoch,
                  "history": history, "best": best, "lr": lr, "arch": model.arch, "data_key": data_key,
                  "ema_decay": cfg.ema, "epochs": cfg.epochs, "steps_per_epoch": len(loader)}
        if ema is not None:
            resume["ema"] = ema.state_dict()
        save_atomic(resume, last)
        plot_curves(history, out / "curves.png")
        (out / "history.json").write_text(json.dumps(history, indent=1))
    return history


def _plain_state(model: torch.nn.Module) -> dict:
    return {k: v.detach().contiguous() for k, v in model.state_dict().items()}


def data_key(*arrays: np.ndarray, names: Iterable[str] = ()) -> str:
    """A short fingerprint of training data: its label arrays and the names of its images."""
    h = hashlib.sha1()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.tobytes())
    h.update("\n".join(map(str, names)).encode())
    return h.hexdigest()[:16]


def _check_resumable(ckpt: dict, path: Path, model: torch.nn.Module, schedule: tuple[int, int],
                     key: str | None = None, ema: float = 0.0) -> None:
    """A ``last.pt`` of another model, schedule or data cannot be resumed: say so, naming the file."""
    hint = "use another out folder, or delete it to start afresh"
    if "model" not in ckpt or "sched" not in ckpt:
        raise ModelFileError(f"{path}: not a training checkpoint to resume ({hint})")
    if ckpt.get("arch") != getattr(model, "arch", None):
        raise ModelFileError(f"{path}: a run of {ckpt.get('arch')}, not {getattr(model, 'arch', None)} ({hint})")
    epochs, steps = schedule
    # epochs and steps per epoch, not their product alone: 2 × 8 steps resumed as 4 × 4 would run
    # past the learning-rate schedule's end, or call a half-done run finished
    saved = (ckpt.get("epochs"), ckpt.get("steps_per_epoch"))
    if ckpt["sched"].get("total_steps") != epochs * steps or (saved[0] is not None and saved != schedule):
        was = (f"{saved[0]} epochs of {saved[1]} steps" if saved[0] is not None
               else f"{ckpt['sched'].get('total_steps')} steps")
        raise ModelFileError(f"{path}: a run of {was}, this one has {epochs} epochs of {steps} steps "
                             f"(other epochs, batch size or data; {hint})")
    if key is not None and ckpt.get("data_key") not in (None, key):
        raise ModelFileError(f"{path}: a run on other training data (labels or images changed; {hint})")
    if ckpt.get("ema_decay", 0.0) != ema or (ema and "ema" not in ckpt):
        raise ModelFileError(f"{path}: a run with weight averaging (ema) {ckpt.get('ema_decay', 0.0)}, "
                             f"this one has {ema} ({hint})")


def check_hard_share(share: float, init, most: float = 1.0) -> None:
    """``hard_share`` is a share in [0, ``most``], and > 0 only with an ``init`` checkpoint: the hard
    examples are the ones that initial model gets most wrong."""
    if share and init is None:
        raise ValueError("hard_share needs init: the hard examples are the ones the initial model gets most wrong")
    if not 0.0 <= share <= most:
        raise ValueError(f"hard_share: must lie in [0, {most}], got {share}")


def checkpoint_arch(checkpoint: str | Path) -> str | None:
    """The registered network name a training or exported checkpoint was built as (None: not recorded)."""
    ckpt = load_torch_checkpoint(checkpoint)
    arch = ckpt.get("arch") or (ckpt.get("meta") or {}).get("arch")
    return arch.get("name") if isinstance(arch, dict) else arch if isinstance(arch, str) else None


def warm_start(model: torch.nn.Module, checkpoint: str | Path, prefixes: tuple[str, ...] = ("",)) -> int:
    """Copy every tensor of ``checkpoint`` whose name starts with one of ``prefixes`` and whose shape
    matches ``model``'s; returns how many were copied (ValueError when none is)."""
    state = load_torch_checkpoint(checkpoint)
    state = state.get("model", state)
    if hasattr(model, "adapt_checkpoint"):  # e.g. a coarse head's weights for a finer head
        state = model.adapt_checkpoint(state)
    own = model.state_dict()
    take = {k: v for k, v in state.items()
            if k.startswith(prefixes) and k in own and own[k].shape == v.shape}
    if not take:
        raise ValueError(f"init: {checkpoint} has no tensors matching {type(model).__name__} {prefixes}")
    model.load_state_dict(take, strict=False)
    return len(take)
