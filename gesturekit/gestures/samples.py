"""Labelled keypoint samples: a crash-safe CSV recorder and a reader for three layouts.

Layouts read by :func:`read_samples` (detected from the first line):

* gesturekit: header ``label,handedness,x0,y0,…,x20,y20`` (pixels), written by
  :class:`SampleRecorder`.
* kinivi: no header, ``class,x0,y0,…,x20,y20`` (wrist-relative, scaled), class
  names from the label CSV (one name a line; default ``<stem>_classifier_label.csv``
  beside the data), kinivi's open/close/pointer renamed by :data:`KINIVI_NAMES`.
* HaGRID MediaPipe keypoints: header ``image,width,height,handedness,…`` with the
  class as the image's folder, renamed to gesturekit's names by :data:`HAGRID_NAMES`.

:func:`read_point_history` reads kinivi's ``point_history.csv`` (class + 16 × (x, y)).
"""

from __future__ import annotations

import csv
import logging
import os
import re
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataFormatError
from ..io.sample import finite_floats
from .features import check_keypoints, hand_size

try:
    import fcntl
except ImportError:   # Windows: no advisory locks there; give each recorder its own file
    fcntl = None

log = logging.getLogger(__name__)

HEADER = ["label", "handedness"] + [f"{c}{i}" for i in range(21) for c in "xy"]

# HaGRID folder → gesturekit gesture name (folders not listed keep their own name).
HAGRID_NAMES = {
    "palm": "open_palm", "stop": "stop", "fist": "fist", "one": "point", "peace": "victory",
    "like": "thumbs_up", "dislike": "thumbs_down", "ok": "ok", "call": "call", "rock": "rock",
    "mute": "mute", "stop_inverted": "stop_inverted", "none": "none",
}
# kinivi keypoint_classifier_label.csv names → gesturekit names (others kept as they are).
KINIVI_NAMES = {"open": "open_palm", "close": "fist", "pointer": "point"}


@dataclass
class SampleSet:
    """Labelled hands: ``keypoints`` (N, 21, 2) float32, ``labels`` (N,) str,
    ``handedness`` list of "left" / "right" / None."""

    keypoints: np.ndarray
    labels: np.ndarray
    handedness: list

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def classes(self) -> list[str]:
        return sorted(set(self.labels.tolist()))

    def subset(self, idx) -> SampleSet:
        idx = np.asarray(idx)
        return SampleSet(self.keypoints[idx], self.labels[idx], [self.handedness[i] for i in idx])


def _clean_name(s: str) -> str:
    return s.strip().lstrip("\ufeff").strip().lower().replace(" ", "_")


def read_label_names(path: str | Path) -> list[str]:
    """Class names, one a line (kinivi ``*_label.csv``), lower-cased, spaces → ``_``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: label file not found")
    names = [_clean_name(line.split(",")[0]) for line in path.read_text("utf-8-sig").splitlines()]
    names = [n for n in names if n]
    if not names:
        raise DataFormatError(f"{path}: no class names")
    return names


def _lines(path: Path):
    """Yield (line number, text, is_terminated) for each non-empty line.

    Lines are decoded one by one: a line that is not UTF-8 is a DataFormatError naming it, except
    an unterminated last one (a write interrupted inside a character of a label like ``größe``),
    which is skipped with a warning as :func:`read_samples` skips any incomplete last line.
    """
    lines = path.read_bytes().splitlines(keepends=True)
    for no, raw in enumerate(lines, 1):
        terminated = raw.endswith((b"\n", b"\r"))
        try:
            text = raw.decode("utf-8-sig" if no == 1 else "utf-8").rstrip("\r\n")
        except UnicodeDecodeError as e:
            if no == len(lines) and not terminated:
                log.warning("%s:%d: skipping an incomplete last line (interrupted recording?)", path, no)
                return
            raise DataFormatError(f"{path}:{no}: not UTF-8 text ({e.reason} at byte {e.start}); "
                                  "save the file as UTF-8") from None
        if text.strip():
            yield no, text, terminated


def read_samples(path: str | Path, labels: str | Path | None = None) -> SampleSet:
    """Read a gesturekit, kinivi or HaGRID keypoint CSV (see module docstring).

    A malformed line raises :class:`DataFormatError` naming the file and line,
    except an unterminated *last* line, the mark of an interrupted recording,
    which is skipped with a warning.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: sample file not found")
    rows = list(_lines(path))
    if not rows:
        raise DataFormatError(f"{path}: empty file")
    first = [c.strip().lower() for c in rows[0][1].split(",")]
    if first[:2] == ["label", "handedness"]:
        kind, width, body = "gesturekit", 44, rows[1:]
    elif first[:4] == ["image", "width", "height", "handedness"]:
        kind, width, body = "hagrid", 47, rows[1:]
    else:
        kind, width, body = "kinivi", 43, rows
    names = None
    if kind == "kinivi":
        if labels is None:
            guess = path.with_name(f"{path.stem}_classifier_label.csv")
            labels = guess if guess.is_file() else None
        names = read_label_names(labels) if labels is not None else None
        if names is not None:
            names = [KINIVI_NAMES.get(n, n) for n in names]
    kps, labs, hands = [], [], []
    last_no = body[-1][0] if body else 0
    for no, text, terminated in body:
        cells = next(csv.reader([text]))
        if kind == "gesturekit" and [c.strip().lower() for c in cells] == HEADER:
            continue   # the header again: recordings joined with `cat a.csv b.csv > all.csv`
        try:
            if len(cells) != width:
                raise DataFormatError(f"{path}:{no}: {len(cells)} fields, expected {width} ({kind} layout)")
            if kind == "gesturekit":
                label, hand, xy = _gesturekit_row(path, no, cells)
                if no == last_no and not terminated and not _RECORDED_NUMBER.fullmatch(cells[-1].strip()):
                    raise DataFormatError(f"{path}:{no}: the last number is cut short")
            elif kind == "hagrid":
                label = HAGRID_NAMES.get(cells[0].split("/")[0], cells[0].split("/")[0])
                hand = cells[3].strip().lower() or None
                xy = finite_floats(path, no, cells[5:], "keypoints")
            else:
                cls = cells[0].strip()
                if not cls.isdigit():
                    raise DataFormatError(f"{path}:{no}: class {cls!r} is not a class index")
                k = int(cls)
                if names is not None and k >= len(names):
                    raise DataFormatError(f"{path}:{no}: class {k} but {labels} names {len(names)} classes")
                label = names[k] if names is not None else str(k)
                hand = None
                xy = finite_floats(path, no, cells[1:], "keypoints")
            if hand_size(xy.reshape(21, 2)) <= 1e-6:   # else training fails with no line to fix
                raise DataFormatError(f"{path}:{no}: keypoints: degenerate hand (wrist and middle MCP coincide)")
        except DataFormatError:
            if no == last_no and not terminated:
                log.warning("%s:%d: skipping an incomplete last line (interrupted recording?)", path, no)
                continue
            raise
        kps.append(xy.reshape(21, 2))
        labs.append(label)
        hands.append(hand)
    if not labs:
        raise DataFormatError(f"{path}: no samples")
    return SampleSet(np.asarray(kps, np.float32), np.asarray(labs), hands)


def read_point_history(path: str | Path, labels: str | Path | None = None
                       ) -> tuple[np.ndarray, np.ndarray]:
    """kinivi ``point_history.csv``: returns (N, 16, 2) float32 trajectories and (N,) names."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: point-history file not found")
    if labels is None:
        guess = path.with_name(f"{path.stem}_classifier_label.csv")
        labels = guess if guess.is_file() else None
    names = read_label_names(labels) if labels is not None else None
    xs, ys = [], []
    for no, text, _ in _lines(path):
        cells = text.split(",")
        if len(cells) != 33:
            raise DataFormatError(f"{path}:{no}: {len(cells)} fields, expected 33 (class + 16 × x, y)")
        if not cells[0].strip().isdigit():
            raise DataFormatError(f"{path}:{no}: class {cells[0]!r} is not a class index")
        k = int(cells[0])
        if names is not None and k >= len(names):
            raise DataFormatError(f"{path}:{no}: class {k} but {labels} names {len(names)} classes")
        xs.append(finite_floats(path, no, cells[1:], "history").reshape(16, 2))
        ys.append(names[k] if names is not None else str(k))
    if not ys:
        raise DataFormatError(f"{path}: no samples")
    return np.asarray(xs, np.float32), np.asarray(ys)


def _gesturekit_row(path: Path, no: int, cells: list[str]) -> tuple[str, str | None, np.ndarray]:
    """(label, handedness, 42 keypoint values) of one gesturekit row, or a DataFormatError naming it."""
    if len(cells) != len(HEADER):
        raise DataFormatError(f"{path}:{no}: {len(cells)} fields, expected {len(HEADER)} (gesturekit layout)")
    label = cells[0].strip()
    if not label:
        raise DataFormatError(f"{path}:{no}: empty label")
    hand = cells[1].strip().lower() or None
    if hand not in (None, "left", "right"):
        raise DataFormatError(f"{path}:{no}: handedness {cells[1]!r}, expected left/right/empty")
    return label, hand, finite_floats(path, no, cells[2:], "keypoints")


# How the recorder writes every number. An unterminated last line that ends otherwise was cut
# inside its last number ("187.75" as "18"), which would still parse, as a wrong value.
_RECORDED_NUMBER = re.compile(r"-?\d+\.\d\d")


def _whole_row(path: Path, line: bytes) -> bool:
    """Whether the unterminated last ``line`` is a complete gesturekit row, as :func:`read_samples`
    would read it, ending in a whole number as the recorder writes one."""
    try:
        cells = next(csv.reader([line.decode("utf-8").rstrip("\r")]))
        _gesturekit_row(path, 0, cells)
        return bool(_RECORDED_NUMBER.fullmatch(cells[-1].strip()))
    except (DataFormatError, ValueError, StopIteration):   # UnicodeDecodeError is a ValueError
        return False


def check_label(label) -> str:
    """``label`` stripped; ValueError when it is empty or has a comma, quote, newline or other
    control character (the recorder writes plain CSV cells; a tab or an escape pasted into a
    label would make a class no one can name)."""
    label = str(label).strip()
    if not label or any(c in label for c in ',"') or any(unicodedata.category(c) == "Cc" for c in label):
        raise ValueError(f"label: {label!r} must be non-empty without commas, quotes, newlines, tabs "
                         "or other control characters")
    return label


@contextmanager
def _locked(f) -> Iterator[None]:
    """Hold an exclusive advisory lock on the open file ``f``: recorders sharing one CSV take
    turns, so only one writes the header and none repairs a line another is writing."""
    if fcntl is None:
        yield
        return
    fcntl.flock(f.fileno(), fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(f.fileno(), fcntl.LOCK_UN)


class SampleRecorder:
    """Append labelled hands to a gesturekit CSV, one whole line per ``add``, flushed
    and fsync'ed, so a crash can at worst leave an incomplete *last* line. Opening a
    file that ends in such a line cuts it off (with a warning) before appending.
    Several recorders (processes) may append to one file: each line is written under
    an exclusive lock (POSIX ``flock``).

    Use as a context manager or call :meth:`close`.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            self._check_header()   # before opening for append: a foreign file stays as it was
        self._f = open(self.path, "a", encoding="utf-8", newline="")  # noqa: SIM115 (held until close)
        try:
            with _locked(self._f):
                # under the lock: two recorders starting on a new file must not both write a header
                if self._check_and_repair():
                    self._write(",".join(HEADER))
        except BaseException:
            self._f.close()
            raise
        self.count = 0

    def _check_header(self) -> None:
        """DataFormatError when the file has content but not a gesturekit header."""
        with open(self.path, "rb") as f:
            first = f.readline()
        # as read_samples reads it: a header re-saved as "Label, Handedness, …" is still ours
        head = [c.strip().lower() for c in first.decode("utf-8-sig", "replace").split(",")]
        if first and head[:2] != HEADER[:2]:
            raise DataFormatError(f"{self.path}:1: not a gesturekit sample file (header {head[:2]})")

    def _check_and_repair(self) -> bool:
        """Whether the file is new (empty). An existing file is checked to be a sample file
        *before* anything is changed (a wrong ``path`` must not lose a line of someone else's
        file); an unterminated last line is ended when it is a whole row and cut only when it
        is the remains of an interrupted write."""
        if self.path.stat().st_size == 0:
            return True
        self._check_header()
        with open(self.path, "rb+") as f:
            data = f.read()
            if data.endswith(b"\n"):
                return False
            keep = data.rfind(b"\n") + 1
            if keep and _whole_row(self.path, data[keep:]):   # e.g. saved by an editor without the last newline
                f.write(b"\n")
                return False
            log.warning("%s: cutting an incomplete last line (%d bytes) left by an interrupted "
                        "recording", self.path, len(data) - keep)
            f.truncate(keep)
            return keep == 0

    def _write(self, line: str) -> None:
        # One write of the whole line, then flush + fsync: earlier lines are on disk
        # before the next one starts.
        self._f.write(line + "\n")
        self._f.flush()
        os.fsync(self._f.fileno())

    def add(self, label: str, keypoints, handedness: str | None = None) -> None:
        """Append one hand. ``keypoints`` (21, 2) pixels; ValueError on bad input."""
        label = check_label(label)
        if handedness is not None and handedness not in ("left", "right"):
            raise ValueError(f"handedness: {handedness!r}, expected 'left', 'right' or None")
        kp = check_keypoints(keypoints)   # a degenerate hand would make the whole file untrainable
        cells = [label, handedness or ""] + [f"{v:.2f}" for v in kp.reshape(-1)]
        with _locked(self._f):
            self._write(",".join(cells))
        self.count += 1

    def close(self) -> None:
        if not self._f.closed:
            self._f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()
