"""Keypoint layouts: the 21-point hand and any user layout.

A layout is names, skeleton edges and the permutation a horizontal flip
applies. A custom layout is a few lines of code or a small JSON file::

    {"name": "my12", "names": ["a", "b", ...], "edges": [[0, 1], ...], "flip": [0, 1, ...]}
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import DataFormatError, LayoutMismatchError


def _is_index(i: object) -> bool:
    """An int (a whole float from JSON too), not a bool or a name."""
    return isinstance(i, (int, np.integer)) and not isinstance(i, bool) or isinstance(i, float) and i.is_integer()


@dataclass(frozen=True)
class KeypointLayout:
    """Names, skeleton edges and flip permutation of a keypoint layout."""

    name: str
    names: tuple[str, ...]
    edges: tuple[tuple[int, int], ...] = ()
    flip: tuple[int, ...] | None = None
    # Optional (K, 21) matrix deriving this layout from HAND_21 points.
    from_hand21: np.ndarray | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if isinstance(self.names, str) or not all(isinstance(n, str) and n for n in self.names):
            raise ValueError(f"layout.names: a list of point names (non-empty strings), got {self.names!r:.80}")
        k = len(self.names)
        if k == 0:
            raise ValueError("layout.names: a layout needs at least one point")
        if len(set(self.names)) != k:
            raise ValueError(f"layout.names: duplicate names in layout {self.name!r}")
        for e in self.edges:
            if not isinstance(e, (tuple, list, np.ndarray)) or len(e) != 2 or not all(_is_index(i) for i in e):
                raise ValueError(f"layout.edges: each edge is a pair of point indices (0-based), got {e!r}")
            a, b = (int(i) for i in e)
            if not (0 <= a < k and 0 <= b < k):
                raise ValueError(f"layout.edges: edge ({a}, {b}) is outside 0..{k - 1}")
        if self.flip is not None and (isinstance(self.flip, str) or not all(_is_index(i) for i in self.flip)):
            raise ValueError(f"layout.flip: a list of point indices (0-based), got {self.flip!r:.80}")
        flip = tuple(range(k)) if self.flip is None else tuple(int(i) for i in self.flip)
        if sorted(flip) != list(range(k)):
            one = " (indices count from 0)" if sorted(flip) == list(range(1, k + 1)) else ""
            raise ValueError(f"layout.flip: {flip} is not a permutation of 0..{k - 1}{one}")
        if any(flip[flip[i]] != i for i in range(k)):   # mirroring twice must give the points back
            raise ValueError(f"layout.flip: {flip} is not its own inverse: point i goes to flip[i], "
                             "and flip[i] back to i (left and right swap in pairs)")
        object.__setattr__(self, "flip", flip)
        object.__setattr__(self, "names", tuple(self.names))
        object.__setattr__(self, "edges", tuple((int(a), int(b)) for a, b in self.edges))
        if self.from_hand21 is not None:
            m = np.asarray(self.from_hand21, dtype=np.float32)
            if m.shape != (k, 21):
                raise ValueError(f"layout.from_hand21: shape {m.shape}, expected ({k}, 21)")
            object.__setattr__(self, "from_hand21", m)

    @property
    def num_points(self) -> int:
        return len(self.names)

    def check(self, points: np.ndarray, source: str = "keypoints") -> None:
        """Raise LayoutMismatchError unless ``points`` has this layout's K on axis -2."""
        if points.ndim < 2 or points.shape[-2] != self.num_points:
            raise LayoutMismatchError(
                f"{source}: shape {tuple(points.shape)} does not match layout {self.name!r} "
                f"with {self.num_points} points"
            )

    def derive(self, hand21: np.ndarray) -> np.ndarray:
        """Map (..., 21, 2) hand points to this layout (needs ``from_hand21``)."""
        if self.from_hand21 is None:
            raise LayoutMismatchError(f"layout {self.name!r} cannot be derived from 21 hand points")
        HAND_21.check(hand21, "hand points")
        return np.einsum("kj,...jc->...kc", self.from_hand21, hand21).astype(np.float32)

    def to_dict(self) -> dict:
        d = {"name": self.name, "names": list(self.names), "edges": [list(e) for e in self.edges],
             "flip": list(self.flip)}
        if self.from_hand21 is not None:
            d["from_hand21"] = self.from_hand21.tolist()
        return d

    @classmethod
    def from_dict(cls, d: dict, source: str = "layout") -> KeypointLayout:
        if not isinstance(d, dict):
            raise DataFormatError(f"{source}: a keypoint layout is an object with 'names', got {type(d).__name__}")
        if not isinstance(d.get("names"), list):
            raise DataFormatError(f"{source}: not a valid keypoint layout (layout.names: a list of point names, "
                                  f"got {d.get('names')!r:.80})")
        try:
            edges = d.get("edges") or ()
            return cls(name=str(d.get("name", "custom")), names=tuple(d["names"]),
                       edges=tuple(tuple(e) if isinstance(e, list) else e for e in edges),
                       flip=d.get("flip"), from_hand21=d.get("from_hand21"))
        except (KeyError, TypeError, ValueError) as e:
            raise DataFormatError(f"{source}: not a valid keypoint layout ({e})") from e

    @classmethod
    def load(cls, path: str | Path) -> KeypointLayout:
        path = Path(path)
        try:
            d = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as e:
            raise DataFormatError(f"{path}: cannot read layout JSON ({e})") from e
        return cls.from_dict(d, str(path))


_FINGERS = ("thumb", "index", "middle", "ring", "little")
_JOINTS = {"thumb": ("cmc", "mcp", "ip", "tip")}

HAND_21 = KeypointLayout(
    name="hand21",
    names=("wrist",) + tuple(
        f"{f}_{j}" for f in _FINGERS for j in _JOINTS.get(f, ("mcp", "pip", "dip", "tip"))
    ),
    edges=((0, 1), (1, 2), (2, 3), (3, 4), (0, 5), (5, 6), (6, 7), (7, 8), (5, 9), (9, 10),
           (10, 11), (11, 12), (9, 13), (13, 14), (14, 15), (15, 16), (13, 17), (0, 17),
           (17, 18), (18, 19), (19, 20)),
)


def _hand12_matrix() -> np.ndarray:
    m = np.zeros((12, 21), np.float32)
    for i, j in enumerate((8, 12, 16, 20, 5, 9, 13, 17)):
        m[i, j] = 1.0
    # Palm centre line: wrist to middle-finger root, 4 evenly spaced points (root excluded).
    for i, t in enumerate((0.0, 0.25, 0.5, 0.75)):
        m[8 + i, 0], m[8 + i, 9] = 1.0 - t, t
    return m


HAND_12 = KeypointLayout(
    name="hand12",
    names=("index_tip", "middle_tip", "ring_tip", "little_tip",
           "index_root", "middle_root", "ring_root", "little_root",
           "palm_0", "palm_1", "palm_2", "palm_3"),
    edges=((0, 4), (1, 5), (2, 6), (3, 7), (4, 5), (5, 6), (6, 7), (8, 9), (9, 10), (10, 11),
           (11, 5)),
    from_hand21=_hand12_matrix(),
)

LAYOUTS: dict[str, KeypointLayout] = {HAND_21.name: HAND_21, HAND_12.name: HAND_12}


def get_layout(name_or_path: str | KeypointLayout) -> KeypointLayout:
    """A layout by registered name (``hand21``, ``hand12``) or from a JSON file."""
    if isinstance(name_or_path, KeypointLayout):
        return name_or_path
    if name_or_path in LAYOUTS:
        return LAYOUTS[name_or_path]
    if Path(name_or_path).suffix == ".json":
        return KeypointLayout.load(name_or_path)
    raise ValueError(f"layout: unknown layout {name_or_path!r}; known: {sorted(LAYOUTS)} or a .json file")
