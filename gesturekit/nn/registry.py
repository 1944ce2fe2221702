"""Name → model constructor registry (timm-style)."""

from __future__ import annotations

from collections.abc import Callable

_MODELS: dict[str, Callable] = {}


def register_model(fn: Callable) -> Callable:
    """Decorator: register a constructor under its function name."""
    _MODELS[fn.__name__] = fn
    return fn


def create_model(name: str, **kwargs):
    if name not in _MODELS:
        raise ValueError(f"model: unknown model {name!r}; known: {sorted(_MODELS)}")
    model = _MODELS[name](**kwargs)
    model.arch = {"name": name, **kwargs}  # saved with the weights so a checkpoint rebuilds itself
    return model


def list_models() -> list[str]:
    return sorted(_MODELS)
