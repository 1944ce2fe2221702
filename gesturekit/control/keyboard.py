"""Gesture → key combination bindings, fired on a gesture's "started" event."""

from __future__ import annotations

import logging
from typing import Any

from .config import parse_combo
from .mouse import Backend

log = logging.getLogger(__name__)


class KeyboardController:
    """Taps a key combination when a bound gesture starts.

    ``bindings`` maps a gesture name (static such as ``"thumbs_up"`` or dynamic such
    as ``"swipe_left"``) to a combination: a tuple of key names or a string
    like ``"ctrl+alt+t"``. Keys pressed are always released, in reverse order,
    even when the backend raises half-way.
    """

    def __init__(self, bindings: dict[str, Any], backend: Backend):
        self.backend = backend
        self.bindings: dict[str, tuple[str, ...]] = {
            g: parse_combo(c) if isinstance(c, str) else tuple(c) for g, c in bindings.items()
        }
        self._down: list[str] = []

    def handle(self, event) -> bool:
        """Fire the binding for a ``started`` event; True if a combination was sent."""
        if getattr(event, "kind", None) != "started":
            return False
        combo = self.bindings.get(getattr(event, "gesture", None))
        if combo is None:
            return False
        self.tap(combo)
        return True

    def tap(self, combo: tuple[str, ...] | str) -> None:
        """Press every key of ``combo`` in order, then release them in reverse."""
        keys = parse_combo(combo) if isinstance(combo, str) else tuple(combo)
        try:
            for k in keys:
                self.backend.key_down(k)
                self._down.append(k)
        finally:
            self.release_all()

    def release_all(self) -> None:
        """Release every key still down (reverse order); survives backend errors."""
        first_error = None
        while self._down:
            k = self._down.pop()
            try:
                self.backend.key_up(k)
            except Exception as e:  # keep releasing the rest
                log.error("releasing key %r failed: %s", k, e)
                first_error = first_error or e
        if first_error is not None:
            raise first_error
