"""OS mouse and keyboard control from hands and gesture events (the ``control`` extra).

pynput is imported only when a :class:`PynputBackend` is made, so config
loading, the dry-run backend and the state machines work without a display.
"""

from .config import (
                     ConfigError,
                     ControlConfig,
                     MouseConfig,
                     SafetyConfig,
                     SmoothingConfig,
                     config_from_dict,
                     load_config,
                     parse_combo,
                     shipped_gestures,
)
from .controller import DesktopController, StopHotkey
from .guard import ButtonGuard
from .keyboard import KeyboardController
from .mouse import (
                     Backend,
                     ControlUnavailableError,
                     DryRunBackend,
                     MouseController,
                     PynputBackend,
                     hand_point,
                     make_backend,
)

__all__ = [
    "Backend", "ButtonGuard", "ConfigError", "ControlConfig", "ControlUnavailableError",
    "DesktopController", "DryRunBackend", "KeyboardController", "MouseConfig", "MouseController",
    "PynputBackend", "SafetyConfig", "SmoothingConfig", "StopHotkey", "config_from_dict",
    "hand_point", "load_config", "make_backend", "parse_combo", "shipped_gestures",
]
