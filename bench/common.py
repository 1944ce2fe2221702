"""Shared helpers for the benchmarks: timing statistics and peak memory."""

from __future__ import annotations

import json
import resource
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np


def time_calls(fn: Callable[[], object], warmup: int = 20, runs: int = 300) -> dict[str, float]:
    """Median / p90 / mean milliseconds of ``fn()``."""
    for _ in range(warmup):
        fn()
    t = np.empty(runs)
    for i in range(runs):
        t0 = time.perf_counter()
        fn()
        t[i] = (time.perf_counter() - t0) * 1000
    return {"median_ms": float(np.median(t)), "p90_ms": float(np.percentile(t, 90)), "mean_ms": float(t.mean())}


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def print_table(rows: list[dict], cols: list[str]) -> None:
    widths = [max(len(c), *(len(f"{r.get(c, '')}") for r in rows)) for c in cols]
    print("  ".join(c.ljust(w) for c, w in zip(cols, widths)))
    for r in rows:
        print("  ".join(f"{r.get(c, '')}".ljust(w) for c, w in zip(cols, widths)))


def save_json(path: str | Path | None, obj) -> None:
    """Write ``obj`` as indented JSON to ``path`` (folders made); nothing when ``path`` is None."""
    if path is None:
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=1) + "\n")


def save_grid(path: str | Path, tiles: list[np.ndarray], cols: int = 6) -> None:
    """Write equal-sized BGR ``tiles`` as one PNG, ``cols`` to a row (the last row padded black)."""
    import cv2

    tiles = tiles + [np.zeros_like(tiles[0])] * (-len(tiles) % cols)
    cv2.imwrite(str(path), np.vstack([np.hstack(tiles[k:k + cols]) for k in range(0, len(tiles), cols)]))
