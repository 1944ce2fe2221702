"""Temporal filters for keypoints, chosen by name (``make_filter("one_euro", ...)``).

Every filter is called as ``f(x, t_seconds) -> x_filtered`` on an array of any
shape (a hand's ``(K, 2)`` keypoints, say) and has ``reset()``. A timestamp that
does not move forward resets the filter and passes ``x`` through: after a seek
or a restarted clock, old state would only drag the points towards stale places.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np


class _Filter:
    def reset(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def __call__(self, x: np.ndarray, t_seconds: float) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError


def _check(x, t_seconds: float) -> tuple[np.ndarray, float]:
    t = float(t_seconds)
    if not math.isfinite(t):
        raise ValueError(f"t_seconds: {t_seconds!r} is not a finite number")
    return np.asarray(x, np.float64), t


class NoFilter(_Filter):
    """Pass-through (``"none"``)."""

    def reset(self) -> None:
        pass

    def __call__(self, x: np.ndarray, t_seconds: float) -> np.ndarray:
        x, _ = _check(x, t_seconds)
        return x.copy()


def _alpha(cutoff: np.ndarray | float, dt: float) -> np.ndarray | float:
    r = 2.0 * math.pi * cutoff * dt
    return r / (r + 1.0)


class OneEuroFilter(_Filter):
    """The 1€ filter (Casiez et al., CHI 2012): low-pass whose cutoff rises with speed.

    ``min_cutoff`` (Hz) sets jitter removal at rest; ``beta`` how fast the cutoff
    opens with speed (less lag on fast moves); ``d_cutoff`` (Hz) smooths the speed.
    Speeds are in units of ``x`` per second, so ``beta`` depends on the units
    (pixels here).
    """

    def __init__(self, min_cutoff: float = 1.0, beta: float = 0.0, d_cutoff: float = 1.0):
        for name, v in (("min_cutoff", min_cutoff), ("beta", beta), ("d_cutoff", d_cutoff)):
            if not (isinstance(v, (int, float)) and math.isfinite(v)) or v < 0:
                raise ValueError(f"{name}: must be a finite number >= 0, got {v!r}")
        if min_cutoff == 0 or d_cutoff == 0:
            raise ValueError("min_cutoff/d_cutoff: must be > 0")
        self.min_cutoff, self.beta, self.d_cutoff = float(min_cutoff), float(beta), float(d_cutoff)
        self.reset()

    def reset(self) -> None:
        self._x: np.ndarray | None = None
        self._dx: np.ndarray | None = None
        self._t: float | None = None

    def __call__(self, x: np.ndarray, t_seconds: float) -> np.ndarray:
        x, t = _check(x, t_seconds)
        if self._x is None or self._t is None or t <= self._t or x.shape != self._x.shape:
            # first sample, time going backwards / standing still, or new shape: start over
            self._x, self._dx, self._t = x.copy(), np.zeros_like(x), t
            return x.copy()
        dt = t - self._t
        finite = np.isfinite(x)
        # a point missing so far (NaN state) starts from its first value, as a new filter would
        self._x = np.where(np.isfinite(self._x), self._x, x)
        dx = np.where(finite, (x - self._x) / dt, 0.0)
        a_d = _alpha(self.d_cutoff, dt)
        self._dx = a_d * dx + (1 - a_d) * self._dx
        cutoff = self.min_cutoff + self.beta * np.abs(self._dx)
        a = _alpha(cutoff, dt)
        # a missing (NaN) point keeps its last value instead of poisoning the state
        self._x = np.where(finite, a * x + (1 - a) * self._x, self._x)
        self._t = t
        return np.where(finite, self._x, x)


class EmaFilter(_Filter):
    """Exponential moving average with a time constant: ``alpha = 1 - exp(-dt / tau)``."""

    def __init__(self, tau: float = 0.05):
        if not (isinstance(tau, (int, float)) and math.isfinite(tau)) or tau <= 0:
            raise ValueError(f"tau: must be a finite number > 0, got {tau!r}")
        self.tau = float(tau)
        self.reset()

    def reset(self) -> None:
        self._x: np.ndarray | None = None
        self._t: float | None = None

    def __call__(self, x: np.ndarray, t_seconds: float) -> np.ndarray:
        x, t = _check(x, t_seconds)
        if self._x is None or self._t is None or t <= self._t or x.shape != self._x.shape:
            self._x, self._t = x.copy(), t
            return x.copy()
        a = 1.0 - math.exp(-(t - self._t) / self.tau)
        finite = np.isfinite(x)
        self._x = np.where(np.isfinite(self._x), self._x, x)   # as in OneEuroFilter
        self._x = np.where(finite, a * x + (1 - a) * self._x, self._x)
        self._t = t
        return np.where(finite, self._x, x)


FILTERS: dict[str, Callable[..., _Filter]] = {"one_euro": OneEuroFilter, "ema": EmaFilter, "none": NoFilter}


def make_filter(name: str, **kwargs) -> _Filter:
    """A new filter by name: ``"one_euro"`` (min_cutoff, beta, d_cutoff), ``"ema"`` (tau), ``"none"``."""
    if name not in FILTERS:
        raise ValueError(f"smoothing: unknown filter {name!r}; known: {sorted(FILTERS)}")
    try:
        return FILTERS[name](**kwargs)
    except TypeError as e:
        raise ValueError(f"smoothing: bad arguments for filter {name!r}: {e}") from None


__all__ = ["FILTERS", "EmaFilter", "NoFilter", "OneEuroFilter", "make_filter"]
