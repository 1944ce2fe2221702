"""Desktop-control settings: a TOML file read into validated dataclasses.

A file looks like ``examples/controls.toml``::

    dry_run = false

    [mouse]
    point = "index_mcp"            # index_tip | index_mcp | palm
    region = [0.2, 0.15, 0.8, 0.75]
    sensitivity = 1.0
    click = "pinch"

    [keys]
    swipe_left = "left"
    thumbs_up = "ctrl+alt+t"

Every value is checked on load; a wrong one raises :class:`ConfigError` naming
the file, the table and the key, e.g.
``controls.toml: [mouse].sensitivity: expected a number, got "fast"``. Gesture
names must be ones the recognizer can emit (:func:`shipped_gestures`, plus a
custom model's labels passed as ``extra_gestures``): a typo would otherwise
load fine and never fire.
"""

from __future__ import annotations

import difflib
import math
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import GestureKitError

POINTS = ("index_tip", "index_mcp", "palm")

# pynput ``Key`` names (pynput cannot be imported without a display, so the
# list lives here) plus friendly aliases.
KEY_NAMES = frozenset(
    ["alt", "alt_l", "alt_r", "alt_gr", "backspace", "caps_lock", "cmd", "cmd_l", "cmd_r",
     "ctrl", "ctrl_l", "ctrl_r", "delete", "down", "end", "enter", "esc", "home", "left",
     "page_down", "page_up", "right", "shift", "shift_l", "shift_r", "space", "tab", "up",
     "insert", "menu", "num_lock", "pause", "print_screen", "scroll_lock",
     "media_play_pause", "media_volume_mute", "media_volume_down", "media_volume_up",
     "media_previous", "media_next"] + [f"f{i}" for i in range(1, 21)]
)
KEY_ALIASES = {
    "control": "ctrl", "return": "enter", "escape": "esc", "win": "cmd", "super": "cmd",
    "meta": "cmd", "pgup": "page_up", "pgdn": "page_down", "del": "delete", "ins": "insert",
    "plus": "+", "play_pause": "media_play_pause", "mute": "media_volume_mute",
    "volume_up": "media_volume_up", "volume_down": "media_volume_down",
}


class ConfigError(GestureKitError, ValueError):
    """A control config value is missing, of the wrong type or out of range."""


def parse_key(name: str) -> str:
    """One key name normalised (``"Control"`` → ``"ctrl"``); ValueError if unknown."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"expected a key name, got {name!r}")
    if len(name) == 1:
        return name.lower() if name.isalpha() else name
    low = name.strip().lower()
    low = KEY_ALIASES.get(low, low)
    if len(low) == 1 or low in KEY_NAMES:
        return low
    raise ValueError(f"unknown key {name!r} (a single character or one of: "
                     f"{', '.join(sorted(KEY_NAMES)[:12])}, …)")


def parse_combo(text: str) -> tuple[str, ...]:
    """``"ctrl+alt+t"`` → ``("ctrl", "alt", "t")``; ``"+"`` and ``"ctrl++"`` name the plus key."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"expected a key combination such as \"ctrl+alt+t\", got {text!r}")
    t = text.strip()
    # The plus key itself: "+" alone or last, as in "ctrl++".
    if t == "+":
        parts = ["+"]
    elif t.endswith("++"):
        parts = t[:-2].split("+") + ["+"]
    else:
        parts = t.split("+")
    if any(p == "" for p in parts):
        raise ValueError(f"empty key in combination {text!r}")
    return tuple(parse_key(p) for p in parts)


def parse_hotkey(text: str) -> str:
    """Check a pynput GlobalHotKeys string such as ``"<ctrl>+<alt>+g"``; returns it."""
    if not isinstance(text, str) or not text:
        raise ValueError(f"expected a hotkey such as \"<ctrl>+<alt>+g\", got {text!r}")
    for part in text.split("+"):
        if part.startswith("<") and part.endswith(">"):
            if part[1:-1] not in KEY_NAMES:
                raise ValueError(f"unknown key {part!r} in hotkey {text!r}")
        elif len(part) != 1:
            raise ValueError(f"hotkey part {part!r} in {text!r} must be <name> or one character")
    parts = text.lower().split("+")
    if len(set(parts)) != len(parts):   # pynput would raise a bare ValueError when the hotkey starts
        raise ValueError(f"hotkey {text!r} names a key twice")
    return text


def _number(v: Any, name: str, lo: float | None = None, hi: float | None = None) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ValueError(f"{name}: expected a number, got {_show(v)}")
    v = float(v)
    if not math.isfinite(v):   # TOML has nan and inf; both pass the range test below
        raise ValueError(f"{name}: expected a finite number, got {v}")
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        rng = f"{lo if lo is not None else '-inf'}..{hi if hi is not None else 'inf'}"
        raise ValueError(f"{name}: {v:g} is outside {rng}")
    return v


def _gesture(v: Any, name: str) -> str | None:
    if v is None or v == "":
        return None
    if not isinstance(v, str):
        raise ValueError(f"{name}: expected a gesture name (string), got {_show(v)}")
    return v


def _show(v: Any) -> str:
    return f'"{v}"' if isinstance(v, str) else repr(v)


@dataclass
class SmoothingConfig:
    """One Euro filter settings for the pointer, in screen pixels and seconds."""

    min_cutoff: float = 1.0   # Hz; lower = steadier when still, more lag
    beta: float = 0.01        # speed coefficient; higher = less lag on fast moves
    d_cutoff: float = 1.0

    def __post_init__(self) -> None:
        self.min_cutoff = _number(self.min_cutoff, "min_cutoff", 1e-6)
        self.beta = _number(self.beta, "beta", 0.0)
        self.d_cutoff = _number(self.d_cutoff, "d_cutoff", 1e-6)


@dataclass
class MouseConfig:
    """Pointer mapping and mouse gestures."""

    # index_mcp is the default because a pinch bends the index tip toward the
    # thumb: a tip pointer jumps exactly when the user clicks.
    point: str = "index_mcp"
    region: tuple[float, float, float, float] = (0.2, 0.15, 0.8, 0.75)
    sensitivity: float = 1.0
    acceleration: float = 0.5
    click: str | None = "pinch"
    right_click: str | None = "rock"
    scroll: str | None = "victory"
    scroll_speed: float = 30.0          # wheel steps per frame height of hand travel
    drag_threshold_px: float = 10.0     # pointer held still after a press until it moves this far
    smoothing: SmoothingConfig = field(default_factory=SmoothingConfig)

    def __post_init__(self) -> None:
        if self.point not in POINTS:
            raise ValueError(f"point: expected one of {', '.join(POINTS)}, got {_show(self.point)}")
        r = self.region
        if not isinstance(r, (list, tuple)) or len(r) != 4:
            raise ValueError(f"region: expected [x1, y1, x2, y2], got {_show(r)}")
        r = tuple(_number(x, f"region[{i}]", 0.0, 1.0) for i, x in enumerate(r))
        if not (r[0] < r[2] and r[1] < r[3]):
            raise ValueError(f"region: x1 < x2 and y1 < y2 needed, got {list(r)}")
        self.region = r
        self.sensitivity = _number(self.sensitivity, "sensitivity", 0.05, 20.0)
        self.acceleration = _number(self.acceleration, "acceleration", 0.0, 3.0)
        self.click = _gesture(self.click, "click")
        self.right_click = _gesture(self.right_click, "right_click")
        self.scroll = _gesture(self.scroll, "scroll")
        self.scroll_speed = _number(self.scroll_speed, "scroll_speed", 0.0)
        self.drag_threshold_px = _number(self.drag_threshold_px, "drag_threshold_px", 0.0)
        if isinstance(self.smoothing, dict):
            self.smoothing = SmoothingConfig(**self.smoothing)
        used = [g for g in (self.click, self.right_click, self.scroll) if g]
        if len(used) != len(set(used)):
            raise ValueError(f"click/right_click/scroll: each needs its own gesture, got {used}")


@dataclass
class SafetyConfig:
    """Engage/pause gesture and the stop hotkey."""

    engage: str | None = "fist"        # held for engage_hold_ms toggles control on/off
    engage_hold_ms: float = 800.0
    start_engaged: bool = True
    stop_hotkey: str | None = "<ctrl>+<alt>+g"   # stops control at once; None disables it

    def __post_init__(self) -> None:
        self.engage = _gesture(self.engage, "engage")
        self.engage_hold_ms = _number(self.engage_hold_ms, "engage_hold_ms", 0.0)
        if not isinstance(self.start_engaged, bool):
            raise ValueError(f"start_engaged: expected true or false, got {_show(self.start_engaged)}")
        if self.stop_hotkey is not None and self.stop_hotkey != "":
            try:
                self.stop_hotkey = parse_hotkey(self.stop_hotkey)
            except ValueError as e:
                raise ValueError(f"stop_hotkey: {e}") from None
        else:
            self.stop_hotkey = None


@dataclass
class ControlConfig:
    """Everything :class:`~gesturekit.control.DesktopController` needs."""

    mouse: MouseConfig = field(default_factory=MouseConfig)
    safety: SafetyConfig = field(default_factory=SafetyConfig)
    # gesture (static or dynamic, e.g. "swipe_left") -> key combination
    keys: dict[str, tuple[str, ...]] = field(default_factory=dict)
    left_handed: bool = False          # the pointer follows the left hand
    mirrored: bool = True              # flip x: a front camera sees your right as its left
    dry_run: bool = False
    screen: tuple[int, int, int, int] | None = None   # x, y, w, h; None = ask the OS

    def __post_init__(self) -> None:
        for name in ("left_handed", "mirrored", "dry_run"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name}: expected true or false, got {_show(getattr(self, name))}")
        keys = {}
        for g, combo in dict(self.keys).items():
            keys[g] = parse_combo(combo) if isinstance(combo, str) else tuple(parse_key(k) for k in combo)
        mouse_gestures = {self.mouse.click: "click", self.mouse.right_click: "right_click",
                          self.mouse.scroll: "scroll"}
        # the engage check runs first in the controller: the other use would never fire
        if self.safety.engage is not None and self.safety.engage in mouse_gestures:
            raise ValueError(f"[safety].engage: gesture {self.safety.engage!r} is already the "
                             f"{mouse_gestures[self.safety.engage]} gesture")
        mouse_gestures[self.safety.engage] = "engage"
        for g in keys:
            if g in mouse_gestures:
                raise ValueError(f"keys.{g}: gesture {g!r} is already the {mouse_gestures[g]} gesture")
        self.keys = keys
        if self.screen is not None:
            s = self.screen
            if not isinstance(s, (list, tuple)) or len(s) != 4:
                raise ValueError(f"screen: expected [x, y, width, height], got {_show(s)}")
            s = tuple(int(_number(v, f"screen[{i}]")) for i, v in enumerate(s))
            if s[2] <= 0 or s[3] <= 0:
                raise ValueError(f"screen: width and height must be positive, got {list(s)}")
            self.screen = s

    @property
    def pointer_hand(self) -> str:
        """The handedness the pointer follows."""
        return "left" if self.left_handed else "right"

    def gestures_used(self) -> dict[str, str]:
        """Every gesture this config names, keyed by where: ``{"[mouse].click": "pinch", ...}``."""
        used = {f"[mouse].{k}": getattr(self.mouse, k) for k in ("click", "right_click", "scroll")}
        used["[safety].engage"] = self.safety.engage
        used.update({f"[keys].{g}": g for g in self.keys})
        return {where: g for where, g in used.items() if g is not None}

    def check_gestures(self, known: Iterable[str], source: str = "<config>", hint: str = "") -> None:
        """ConfigError if a gesture this config names is not in ``known`` (the names events carry).

        The message names ``source``, the key and the closest known names, then ``hint``.
        """
        known = tuple(g for g in dict.fromkeys(known) if g != "none")
        for where, g in self.gestures_used().items():
            if g not in known:
                raise ConfigError(f"{source}: {where}: {_unknown_gesture(g, known)}"
                                  f"{hint if g != 'none' else ''}")


# ---------------------------------------------------------------- gesture names

def shipped_gestures() -> tuple[str, ...]:
    """The gesture names the shipped recognizer can put on events: the static labels of the
    shipped MLP and rules, the HaGRID extras and the dynamic (motion) gestures; never ``none``."""
    from ..gestures import ALL_GESTURES  # lazy: gestures pulls in OpenCV

    return tuple(g for g in ALL_GESTURES if g != "none")


def _unknown_gesture(name: str, known: tuple[str, ...]) -> str:
    if name == "none":
        # the no-gesture class: the Debouncer never starts an event for it
        return "'none' is the no-gesture class and never fires; pick a gesture"
    from ..gestures import HAGRID_NAMES

    close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    alias = HAGRID_NAMES.get(name.lower())   # a HaGRID name such as "like" for "thumbs_up"
    if alias in known and alias not in close:
        close.insert(0, alias)
    hint = ""
    if close:
        names = [repr(c) for c in close]
        hint = f" (did you mean {', '.join(names[:-1]) + ' or ' if len(names) > 1 else ''}{names[-1]}?)"
    return f"unknown gesture {name!r}{hint}; known: {', '.join(known)}"


# ---------------------------------------------------------------- loading

_TABLES = {"mouse": MouseConfig, "safety": SafetyConfig}
_TOP = ("left_handed", "mirrored", "dry_run", "screen")


def _toml():
    if sys.version_info >= (3, 11):
        import tomllib
        return tomllib
    try:
        import tomli
    except ImportError as e:  # pragma: no cover - 3.10 without the extra
        from ..errors import missing_extra
        raise missing_extra("control", "tomli") from e
    return tomli


def _build(cls, table: dict, where: str, source: str, extra_tables=()):
    """Construct ``cls`` from one TOML table, turning any problem into a ConfigError."""
    fields = set(cls.__dataclass_fields__)
    for k in table:
        if k not in fields:
            raise ConfigError(f"{source}: {where}: unknown key {k!r}; known: {', '.join(sorted(fields))}")
    kw = dict(table)
    for sub, subcls in extra_tables:
        if sub in kw:
            if not isinstance(kw[sub], dict):
                raise ConfigError(f"{source}: {where}.{sub}: expected a table, got {_show(kw[sub])}")
            kw[sub] = _build(subcls, kw[sub], f"{where[:-1]}.{sub}]", source)
    try:
        return cls(**kw)
    except ValueError as e:
        raise ConfigError(f"{source}: {where}.{e}") from None


def config_from_dict(data: dict, source: str = "<config>",
                     extra_gestures: Iterable[str] = ()) -> ControlConfig:
    """A :class:`ControlConfig` from parsed TOML; errors name ``source`` and the key.

    Gesture names must be :func:`shipped_gestures` or ``extra_gestures`` (e.g. a custom
    MLP's ``labels``, or ``tracker.events.known_gestures``).
    """
    top = {}
    known = set(_TABLES) | set(_TOP) | {"keys"}
    for k in data:
        if k not in known:
            raise ConfigError(f"{source}: unknown key {k!r}; known: {', '.join(sorted(known))}")
    for name, cls in _TABLES.items():
        t = data.get(name, {})
        if not isinstance(t, dict):
            raise ConfigError(f"{source}: [{name}]: expected a table, got {_show(t)}")
        top[name] = _build(cls, t, f"[{name}]", source,
                           extra_tables=[("smoothing", SmoothingConfig)] if name == "mouse" else ())
    keys = data.get("keys", {})
    if not isinstance(keys, dict):
        raise ConfigError(f"{source}: [keys]: expected a table, got {_show(keys)}")
    for g, combo in keys.items():
        try:
            if isinstance(combo, str):
                parse_combo(combo)
            else:
                raise ValueError(f"expected a key combination string such as \"ctrl+alt+t\", got {_show(combo)}")
        except ValueError as e:
            raise ConfigError(f"{source}: [keys].{g}: {e}") from None
    try:
        config = ControlConfig(keys=keys, **top, **{k: data[k] for k in _TOP if k in data})
    except ValueError as e:
        msg = str(e)
        if msg.startswith("keys."):
            g, _, rest = msg[5:].partition(": ")
            raise ConfigError(f"{source}: [keys].{g}: {rest}") from None
        raise ConfigError(f"{source}: {msg}") from None
    if isinstance(extra_gestures, str):   # one name, not its letters
        extra_gestures = (extra_gestures,)
    config.check_gestures(shipped_gestures() + tuple(extra_gestures), source,
                          hint="; a custom model's labels go in extra_gestures=[...]")
    return config


def load_config(path: str | Path, extra_gestures: Iterable[str] = ()) -> ControlConfig:
    """Read and validate a control TOML file.

    ``extra_gestures``: names beyond :func:`shipped_gestures` that bindings may use, such as
    the labels of your own gesture MLP (``load_config(p, extra_gestures=mlp.labels)``).
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise ConfigError(f"{path}: cannot read control config ({e.strerror or e})") from None
    toml = _toml()
    try:
        data = toml.loads(raw.decode("utf-8"))
    except (toml.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: not valid TOML ({e})") from None
    return config_from_dict(data, str(path), extra_gestures)
