"""Gesture events: a per-hand debouncer and a non-blocking event bus.

Per-frame gesture guesses flicker. :class:`Debouncer` turns them into events
(``hand_appeared``, ``started``, ``held``, ``ended``, ``hand_lost``) with
confirmation over frames and time, score hysteresis and a cooldown, so a one-frame
flicker never fires. :class:`EventBus` hands events to callbacks on one worker
thread, in order, without ever blocking the producer (the camera loop)::

    bus = EventBus()

    @bus.on("pinch", phase="started", hand="right")
    def click(ev):
        ...

    deb = Debouncer()
    for frame in frames:                      # producer
        bus.publish(deb.update(t_ms, observations))
    bus.close()
"""

from __future__ import annotations

import difflib
import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

log = logging.getLogger(__name__)

KINDS = ("started", "held", "ended", "hand_appeared", "hand_lost")
GESTURE_KINDS = ("started", "held", "ended")


@dataclass(frozen=True)
class GestureEvent:
    """One thing that happened to one tracked hand."""

    kind: str            # "started" | "held" | "ended" | "hand_appeared" | "hand_lost" (on(phase=...) picks it)
    gesture: str | None  # None for hand_appeared / hand_lost
    track_id: int
    handedness: str | None
    timestamp_ms: float
    duration_ms: float = 0.0
    score: float = 0.0
    keypoints: np.ndarray | None = None   # (21, 2) pixels at the time of the event


@dataclass
class DebounceOptions:
    """How per-frame gestures become events.

    A gesture *starts* once it has been seen with score >= ``enter_score`` on
    ``confirm_frames`` consecutive updates spanning at least ``confirm_ms``, and not
    within ``cooldown_ms`` after the same hand's last ``ended``. It *ends* once it has
    been missing (another gesture, none, or score < ``leave_score``) for the same
    number of frames and time. While active, ``held`` is emitted on the first update at
    or after each ``hold_interval_ms`` since it started (0 turns ``held`` off).
    """

    confirm_frames: int = 3
    confirm_ms: float = 0.0
    enter_score: float = 0.6
    leave_score: float = 0.4
    cooldown_ms: float = 0.0
    hold_interval_ms: float = 500.0

    def __post_init__(self) -> None:
        if int(self.confirm_frames) != self.confirm_frames or self.confirm_frames < 1:
            raise ValueError(f"confirm_frames: {self.confirm_frames} must be an integer >= 1")
        for name in ("confirm_ms", "cooldown_ms", "hold_interval_ms"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and v >= 0 and np.isfinite(v)):
                raise ValueError(f"{name}: {v!r} must be a finite number >= 0")
        for name in ("enter_score", "leave_score"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and 0.0 <= v <= 1.0):
                raise ValueError(f"{name}: {v!r} must be in [0, 1]")
        if self.leave_score > self.enter_score:
            raise ValueError(f"leave_score: {self.leave_score} must be <= enter_score "
                             f"({self.enter_score}) for hysteresis")


@dataclass
class _TrackState:
    handedness: str | None
    active: str | None = None
    active_since: float = 0.0
    last_held: float = 0.0
    active_score: float = 0.0
    cand: str | None = None
    cand_since: float = 0.0
    cand_frames: int = 0
    miss_since: float = 0.0
    miss_frames: int = 0
    cooldown_until: float = float("-inf")
    keypoints: np.ndarray | None = field(default=None, repr=False)


Observation = tuple  # (track_id, handedness, gesture | None, score, keypoints | None)


class Debouncer:
    """Per-track gesture state machine; see :class:`DebounceOptions`.

    ``update`` takes *all* hands seen in one frame; a track id missing from an
    update is lost (the tracker decides how long a track lives). Events of one
    update come out hand by hand in observation order, lost hands last; for one hand
    the order is always hand_appeared → started → held… → ended → hand_lost.
    """

    def __init__(self, options: DebounceOptions | None = None):
        self.options = options or DebounceOptions()
        self._tracks: dict[int, _TrackState] = {}
        self._last_ts = float("-inf")

    @property
    def active(self) -> dict[int, str]:
        """Track id → the gesture currently started on it."""
        return {t: s.active for t, s in self._tracks.items() if s.active is not None}

    def reset(self) -> None:
        self._tracks.clear()
        self._last_ts = float("-inf")

    def update(self, timestamp_ms: float, observations: Iterable[Observation]) -> list[GestureEvent]:
        ts = float(timestamp_ms)
        if not np.isfinite(ts):
            raise ValueError(f"timestamp_ms: {timestamp_ms!r} is not finite")
        if ts < self._last_ts:
            raise ValueError(f"timestamp_ms: {ts} goes back in time (last {self._last_ts})")
        self._last_ts = ts
        events: list[GestureEvent] = []
        seen = set()
        for i, obs in enumerate(observations):
            try:
                tid, hand, gesture, score, kp = obs
            except (TypeError, ValueError):
                raise ValueError(f"observations[{i}]: expected (track_id, handedness, gesture, "
                                 f"score, keypoints), got {obs!r}") from None
            tid = int(tid)
            if tid in seen:
                raise ValueError(f"observations[{i}]: track id {tid} appears twice in one update")
            seen.add(tid)
            if gesture == "none":
                gesture = None
            score = float(score) if gesture is not None else 0.0
            st = self._tracks.get(tid)
            if st is None:
                st = self._tracks[tid] = _TrackState(hand)
                events.append(GestureEvent("hand_appeared", None, tid, hand, ts, keypoints=kp))
            st.handedness = hand if hand is not None else st.handedness
            st.keypoints = kp
            self._step(tid, st, ts, gesture, score, kp, events)
        for tid in [t for t in self._tracks if t not in seen]:
            st = self._tracks.pop(tid)
            if st.active is not None:
                events.append(GestureEvent("ended", st.active, tid, st.handedness, ts,
                                           ts - st.active_since, st.active_score, st.keypoints))
            events.append(GestureEvent("hand_lost", None, tid, st.handedness, ts,
                                       keypoints=st.keypoints))
        return events

    def flush(self, timestamp_ms: float) -> list[GestureEvent]:
        """End every active gesture and lose every hand (e.g. when the source stops)."""
        return self.update(timestamp_ms, [])

    def _step(self, tid, st: _TrackState, ts, gesture, score, kp, events) -> None:
        o = self.options
        if st.active is not None:
            if gesture == st.active and score >= o.leave_score:
                st.miss_frames = 0
                st.active_score = score
                due = st.last_held + o.hold_interval_ms
                if o.hold_interval_ms > 0 and ts >= due:
                    # on the schedule started + k × interval: setting it to ``ts`` added each
                    # frame's lateness (100 ms at 30 fps came every 133 ms); after a gap longer
                    # than an interval, one held and the schedule restarts (no burst)
                    st.last_held = due if ts - due < o.hold_interval_ms else ts
                    events.append(GestureEvent("held", st.active, tid, st.handedness, ts,
                                               ts - st.active_since, score, kp))
            else:
                if st.miss_frames == 0:
                    st.miss_since = ts
                st.miss_frames += 1
                if st.miss_frames >= o.confirm_frames and ts - st.miss_since >= o.confirm_ms:
                    events.append(GestureEvent("ended", st.active, tid, st.handedness, ts,
                                               ts - st.active_since, st.active_score, kp))
                    st.active = None
                    st.miss_frames = 0
                    st.cooldown_until = ts + o.cooldown_ms
        # candidate bookkeeping runs while another gesture is still active, so a direct
        # switch A → B starts B as soon as A has ended and B is confirmed
        if gesture is not None and gesture != st.active and score >= o.enter_score:
            if gesture == st.cand:
                st.cand_frames += 1
            else:
                st.cand, st.cand_since, st.cand_frames = gesture, ts, 1
        else:
            st.cand, st.cand_frames = None, 0
        if (st.active is None and st.cand is not None and st.cand_frames >= o.confirm_frames
                and ts - st.cand_since >= o.confirm_ms and ts >= st.cooldown_until):
            st.active, st.active_since, st.last_held, st.active_score = st.cand, ts, ts, score
            st.cand, st.cand_frames, st.miss_frames = None, 0, 0
            events.append(GestureEvent("started", st.active, tid, st.handedness, ts, 0.0, score, kp))


# --- bus -----------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class Subscription:
    """A callback and its filters; pass it to :meth:`EventBus.off`."""

    callback: Callable[[GestureEvent], object]
    gesture: str | None = None
    phase: str | None = None
    hand: str | int | None = None

    def matches(self, ev: GestureEvent) -> bool:
        if self.gesture is not None and ev.gesture != self.gesture:
            return False
        if self.phase is not None and ev.kind != self.phase:
            return False
        if self.hand is not None:
            if isinstance(self.hand, str):
                return ev.handedness == self.hand
            return ev.track_id == self.hand
        return True


def _did_you_mean(name, known: tuple[str, ...]) -> str:
    """`` did you mean 'fist'?`` for a misspelt or differently written name, else ""."""
    by_key = {k.lower().replace(" ", "_").replace("-", "_"): k for k in known}
    key = str(name).lower().replace(" ", "_").replace("-", "_")
    close = [key] if key in by_key else difflib.get_close_matches(key, list(by_key), n=1)
    return f" did you mean {by_key[close[0]]!r}?" if close else ""


def _default_gestures() -> tuple[str, ...]:
    from .gestures import ALL_GESTURES

    return ALL_GESTURES


class EventBus:
    """Deliver events to callbacks on one worker thread, in publish order.

    ``publish`` never blocks: the queue holds at most ``max_queue`` events and drops
    the oldest (with a logged warning) when full. A callback that raises is logged
    and the others still run. ``gestures`` are the names ``on`` accepts (default:
    every built-in static and dynamic gesture); pass a custom model's labels to
    subscribe to its names.
    """

    def __init__(self, max_queue: int = 256, gestures: Iterable[str] | None = None):
        if int(max_queue) != max_queue or max_queue < 1:
            raise ValueError(f"max_queue: {max_queue!r} must be an integer >= 1")
        self.max_queue = int(max_queue)
        self.known_gestures = tuple(dict.fromkeys(_default_gestures() if gestures is None else gestures))
        self._subs: list[Subscription] = []
        self._queue: deque[GestureEvent] = deque()
        self._cond = threading.Condition()
        self._closed = False
        self._busy = False
        self.dropped = 0
        self._worker = threading.Thread(target=self._run, name="gesturekit-events", daemon=True)
        self._worker.start()

    # -- subscribing --
    def on(self, gesture: str | None = None, callback: Callable | None = None, *,
           phase: str | None = None, hand: str | int | None = None):
        """Subscribe ``callback`` (or decorate a function) to matching events.

        ``gesture`` None matches every event, hand_appeared/hand_lost included;
        ``phase`` is an event kind; ``hand`` is "left"/"right" or a track id.
        """
        if gesture == "none":   # the Debouncer turns "none" into no gesture: it never fires
            raise ValueError("gesture: 'none' is never an event's gesture; subscribe to "
                             "'ended' events to learn when a gesture stops")
        if gesture is not None and gesture not in self.known_gestures:
            raise ValueError(f"gesture: unknown name {gesture!r};{_did_you_mean(gesture, self.known_gestures)} "
                             f"known: {', '.join(self.known_gestures)}")
        if phase is not None and phase not in KINDS:
            raise ValueError(f"phase: {phase!r}, expected one of {', '.join(KINDS)}")
        if gesture is not None and phase is not None and phase not in GESTURE_KINDS:
            # these events carry no gesture, so the subscription could never fire
            raise ValueError(f"phase: {phase!r} events have no gesture; subscribe with gesture=None")
        if hand is not None and not (hand in ("left", "right") or
                                     (isinstance(hand, int) and not isinstance(hand, bool))):
            raise ValueError(f"hand: {hand!r}, expected 'left', 'right' or a track id (int)")

        def register(fn):
            if not callable(fn):
                raise TypeError(f"callback: {fn!r} is not callable")
            sub = Subscription(fn, gesture, phase, hand)
            with self._cond:
                self._subs = [*self._subs, sub]   # copy-on-write: the worker iterates a snapshot
            return sub

        if callback is None:
            def decorator(fn):
                register(fn)
                return fn
            return decorator
        return register(callback)

    def off(self, subscription: Subscription) -> None:
        """Remove a subscription (a no-op when it is already gone)."""
        with self._cond:
            self._subs = [s for s in self._subs if s is not subscription]

    # -- producing --
    def publish(self, events: Iterable[GestureEvent]) -> None:
        """Queue events for dispatch; returns at once."""
        events = list(events)
        if not events:
            return
        for ev in events:
            if not isinstance(ev, GestureEvent):
                raise TypeError(f"events: {ev!r} is not a GestureEvent")
        with self._cond:
            if self._closed:
                log.warning("EventBus is closed; dropping %d event(s)", len(events))
                return
            drop = 0
            for ev in events:
                if len(self._queue) >= self.max_queue and self._drop_one():
                    drop += 1
                self._queue.append(ev)
            self._cond.notify_all()   # wait_idle waiters share the condition
        if drop:
            self.dropped += drop
            log.warning("EventBus queue full (%d); dropped the %d oldest event(s), %d in all",
                        self.max_queue, drop, self.dropped)

    def _drop_one(self) -> bool:
        """Drop the oldest ``held`` event, else the oldest one that only begins something
        (caller holds the lock); False when every queued event ends something, and the queue
        grows instead. A dropped ``held`` only repeats what is known; a dropped ``ended`` or
        ``hand_lost`` would leave a button pressed on ``started`` down for good."""
        for kinds in (("held",), ("started", "hand_appeared")):
            for i, ev in enumerate(self._queue):
                if ev.kind in kinds:
                    del self._queue[i]
                    return True
        return False

    def wait_idle(self, timeout: float = 2.0) -> bool:
        """Wait until every queued event has been dispatched; False on timeout, and at once
        from a callback (the bus cannot be idle while it runs one)."""
        if self._worker is threading.current_thread():
            return False
        with self._cond:
            return self._cond.wait_for(lambda: not self._queue and not self._busy, timeout)

    def close(self, timeout: float = 2.0) -> None:
        """Stop accepting events, deliver what is queued within ``timeout`` seconds,
        then return even if a callback is still running (the worker is a daemon)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._worker is threading.current_thread():
            return   # closed from a callback: the worker delivers the rest once it returns
        self._worker.join(max(0.0, float(timeout)))
        if self._worker.is_alive():
            with self._cond:
                left = len(self._queue)
                self._queue.clear()
                self._cond.notify_all()
            log.warning("EventBus.close: a callback is still running after %.1f s; "
                        "abandoning it and %d queued event(s)", timeout, left)

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- worker --
    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._cond.wait()
                if not self._queue:     # closed and drained
                    self._cond.notify_all()
                    return
                ev = self._queue.popleft()
                subs = self._subs
                self._busy = True
            try:
                for sub in subs:
                    if sub.matches(ev):
                        try:
                            sub.callback(ev)
                        except BaseException:   # SystemExit too: it would end this thread silently
                            log.exception("EventBus: callback %r raised on %s %s (track %d)",
                                          sub.callback, ev.kind, ev.gesture, ev.track_id)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()
