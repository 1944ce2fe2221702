import logging
import threading
import time

import numpy as np
import pytest

from gesturekit.events import DebounceOptions, Debouncer, EventBus, GestureEvent


def run(deb, script):
    """script: list of (t, [(tid, hand, gesture, score), ...]) → [(kind, gesture, tid, t, dur)]."""
    out = []
    for t, obs in script:
        for ev in deb.update(t, [(*o, None) for o in obs]):
            out.append((ev.kind, ev.gesture, ev.track_id, ev.timestamp_ms, ev.duration_ms))
    return out


def test_exact_event_sequence():
    deb = Debouncer(DebounceOptions(confirm_frames=3, hold_interval_ms=100))
    script = [(t, [(1, "right", "fist", 0.9)]) for t in range(0, 260, 20)]       # 0..240
    script += [(t, [(1, "right", None, 0.0)]) for t in range(260, 320, 20)]      # 260, 280, 300
    script += [(320, [])]
    assert run(deb, script) == [
        ("hand_appeared", None, 1, 0, 0.0),
        ("started", "fist", 1, 40, 0.0),
        ("held", "fist", 1, 140, 100.0),
        ("held", "fist", 1, 240, 200.0),
        ("ended", "fist", 1, 300, 260.0),
        ("hand_lost", None, 1, 320, 0.0),
    ]


def test_held_keeps_to_its_interval_at_30_fps():
    # held was timed from the frame that fired the last one, so each interval was rounded up
    # to a whole frame and the rounding added up: 100 ms at 30 fps came every 133 ms
    step = 1000 / 30.08                  # a real clip's frame time (huytung_volctl.mp4)
    deb = Debouncer(DebounceOptions(confirm_frames=1, hold_interval_ms=100))
    frames = [(i * step, [(1, "right", "fist", 0.9)]) for i in range(301)]   # 10 s
    held = [t for kind, _, _, t, _ in run(deb, frames) if kind == "held"]
    assert len(held) == int(300 * step // 100) == 99
    assert all(k * 100 <= t < k * 100 + step for k, t in enumerate(held, 1))
    # a gap of several intervals (a stalled camera) gives one held, not a burst
    deb = Debouncer(DebounceOptions(confirm_frames=1, hold_interval_ms=100))
    script = [(t, [(1, "right", "fist", 0.9)]) for t in (0, 50, 100, 550, 600, 650, 700)]
    assert [t for kind, _, _, t, _ in run(deb, script) if kind == "held"] == [100, 550, 650]


def test_one_frame_flicker_never_fires():
    deb = Debouncer(DebounceOptions(confirm_frames=2))
    seq = ["fist", "pinch", "fist", None, "fist", "victory", None]
    events = run(deb, [(i * 33, [(4, "left", g, 0.95)]) for i, g in enumerate(seq)])
    assert [e[0] for e in events] == ["hand_appeared"]
    # and a one-frame drop does not end an active gesture
    deb = Debouncer(DebounceOptions(confirm_frames=2, hold_interval_ms=0))
    seq = ["fist", "fist", "fist", None, "fist", "fist", "point", "fist"]
    events = run(deb, [(i * 33, [(4, "left", g, 0.95)]) for i, g in enumerate(seq)])
    assert [(e[0], e[1]) for e in events] == [("hand_appeared", None), ("started", "fist")]


def test_score_hysteresis_and_confirm_ms():
    deb = Debouncer(DebounceOptions(confirm_frames=1, confirm_ms=50, enter_score=0.7,
                                    leave_score=0.3, hold_interval_ms=0))
    scores = [0.65, 0.8, 0.8, 0.8, 0.5, 0.35, 0.2, 0.2, 0.2]
    events = run(deb, [(i * 30, [(2, None, "ok", s)]) for i, s in enumerate(scores)])
    # 0.65 < enter; confirm needs 50 ms: 30 → 90 → started at 90; 0.5 / 0.35 keep it (above
    # leave_score); 0.2 from 180 on ends it once it has lasted 50 ms too
    assert [(e[0], e[3]) for e in events] == [("hand_appeared", 0), ("started", 90), ("ended", 240)]


def test_cooldown_and_direct_switch():
    deb = Debouncer(DebounceOptions(confirm_frames=2, cooldown_ms=100, hold_interval_ms=0))
    seq = ["fist"] * 3 + ["point"] * 9
    events = run(deb, [(i * 20, [(1, "right", g, 0.9)]) for i, g in enumerate(seq)])
    assert [(e[0], e[1], e[3]) for e in events] == [
        ("hand_appeared", None, 0), ("started", "fist", 20), ("ended", "fist", 80),
        ("started", "point", 180)]


def test_per_hand_ordering_and_lost_ends():
    deb = Debouncer(DebounceOptions(confirm_frames=1, hold_interval_ms=0))
    events = run(deb, [(0, [(1, "left", "fist", 0.9), (2, "right", "ok", 0.9)]),
                       (10, [(2, "right", "ok", 0.9)])])
    assert [(e[0], e[2]) for e in events] == [
        ("hand_appeared", 1), ("started", 1), ("hand_appeared", 2), ("started", 2),
        ("ended", 1), ("hand_lost", 1)]
    assert deb.active == {2: "ok"}
    assert [e.kind for e in deb.flush(20)] == ["ended", "hand_lost"]


def test_debouncer_validation():
    with pytest.raises(ValueError, match="leave_score"):
        DebounceOptions(enter_score=0.4, leave_score=0.6)
    with pytest.raises(ValueError, match="confirm_frames"):
        DebounceOptions(confirm_frames=0)
    with pytest.raises(ValueError, match="hold_interval_ms"):
        DebounceOptions(hold_interval_ms=-1)
    deb = Debouncer()
    deb.update(10, [])
    with pytest.raises(ValueError, match="back in time"):
        deb.update(5, [])
    with pytest.raises(ValueError, match="observations"):
        deb.update(20, [(1, "left")])
    kp = np.zeros((21, 2))
    ev = Debouncer(DebounceOptions(confirm_frames=1)).update(0, [(1, "left", "fist", 0.9, kp)])
    assert ev[1].keypoints is kp


def ev(kind="started", gesture="fist", tid=1, hand="right", t=0.0):
    return GestureEvent(kind, gesture, tid, hand, t)


def test_bus_filters_and_order():
    got = []
    with EventBus() as bus:
        bus.on("fist", lambda e: got.append(("fist", e.kind, e.timestamp_ms)))
        bus.on("fist", lambda e: got.append(("left-started", e.timestamp_ms)), phase="started", hand="left")
        sub = bus.on(None, lambda e: got.append(("track2", e.kind)), hand=2)

        @bus.on("pinch", phase="ended")
        def _ended(e):
            got.append(("pinch-ended", e.timestamp_ms))

        bus.publish([ev(t=1), ev(hand="left", t=2), ev("ended", "pinch", t=3), ev("hand_lost", None, 2, t=4)])
        assert bus.wait_idle()
        bus.off(sub)
        bus.publish([ev("hand_lost", None, 2, t=5)])
        assert bus.wait_idle()
    assert got == [("fist", "started", 1), ("fist", "started", 2), ("left-started", 2),
                   ("pinch-ended", 3), ("track2", "hand_lost")]


def test_unknown_names_raise():
    bus = EventBus()
    with pytest.raises(ValueError, match=r"unknown name 'fst'.*fist"):
        bus.on("fst", print)
    with pytest.raises(ValueError, match="phase"):
        bus.on("fist", print, phase="begin")
    with pytest.raises(ValueError, match="hand"):
        bus.on("fist", print, hand="both")
    with pytest.raises(ValueError, match="no gesture"):    # would never fire
        bus.on("fist", print, phase="hand_lost")
    with pytest.raises(ValueError, match="'none' is never"):   # nor would this
        bus.on("none", print)
    bus.on(None, print, phase="hand_lost")
    custom = EventBus(gestures=["wave"])
    custom.on("wave", print)
    with pytest.raises(ValueError, match="known: wave"):
        custom.on("fist", print)
    bus.close()
    custom.close()


def test_raising_callback_is_isolated(caplog):
    got = []
    with EventBus() as bus:
        bus.on("fist", lambda e: 1 / 0)
        bus.on("fist", lambda e: got.append(e.timestamp_ms))
        with caplog.at_level(logging.ERROR, logger="gesturekit.events"):
            bus.publish([ev(t=1), ev(t=2)])
            assert bus.wait_idle()
    assert got == [1, 2]
    assert sum("ZeroDivisionError" in r.exc_text for r in caplog.records if r.exc_text) == 2


def test_callback_raising_system_exit_does_not_stop_delivery(caplog):
    got = []

    def cb(e):
        if e.timestamp_ms == 1:
            raise SystemExit(0)    # would end the worker thread without a word
        got.append(e.timestamp_ms)

    with EventBus() as bus:
        bus.on("fist", cb)
        with caplog.at_level(logging.ERROR, logger="gesturekit.events"):
            bus.publish([ev(t=1), ev(t=2)])
            assert bus.wait_idle()
    assert got == [2]
    assert any("SystemExit" in (r.exc_text or "") for r in caplog.records)


def test_close_from_a_callback(caplog):
    got = []
    with EventBus() as bus:
        def cb(e):
            got.append(e.timestamp_ms)
            if e.timestamp_ms == 1:
                bus.close()        # e.g. a "quit" gesture closing the tracker
                got.append("closed")

        bus.on("fist", cb)
        with caplog.at_level(logging.ERROR, logger="gesturekit.events"):
            bus.publish([ev(t=1), ev(t=2)])
            assert bus.wait_idle()
    assert got == [1, "closed", 2]      # what was queued is still delivered
    assert not caplog.records


def test_slow_callback_does_not_block_producer():
    release = threading.Event()
    got = []

    def slow(e):
        release.wait(5)
        got.append(e.timestamp_ms)

    bus = EventBus(max_queue=1000)
    bus.on("fist", slow)
    t0 = time.perf_counter()
    for i in range(200):
        bus.publish([ev(t=i)])
    producer = time.perf_counter() - t0
    assert producer < 0.2, producer      # 200 publishes while the callback is stuck
    release.set()
    assert bus.wait_idle(5)
    assert got == list(range(200))
    bus.close()


def test_full_queue_drops_oldest(caplog):
    release = threading.Event()
    got = []
    bus = EventBus(max_queue=3)
    bus.on("fist", lambda e: (release.wait(5), got.append(e.timestamp_ms)))
    bus.publish([ev(t=0)])
    time.sleep(0.05)                     # the worker takes event 0 and blocks
    with caplog.at_level(logging.WARNING, logger="gesturekit.events"):
        bus.publish([ev(t=i) for i in range(1, 7)])
    assert any("dropped" in r.message for r in caplog.records)
    release.set()
    assert bus.wait_idle(5)
    assert got == [0, 4, 5, 6] and bus.dropped == 3
    bus.close()


def test_full_queue_drops_held_before_started_and_ended(caplog):
    # dropping the oldest event could drop an "ended" and leave a button pressed on "started"
    # down for good; a dropped "held" only repeats what the subscriber knows
    release = threading.Event()
    got = []
    bus = EventBus(max_queue=4)
    bus.on(None, lambda e: (release.wait(5), got.append((e.kind, e.timestamp_ms))))
    bus.publish([ev("hand_appeared", None, t=0)])
    time.sleep(0.05)                     # the worker takes event 0 and blocks
    with caplog.at_level(logging.WARNING, logger="gesturekit.events"):
        bus.publish([ev("started", t=1), ev("held", t=2), ev("held", t=3), ev("ended", t=4),
                     ev("started", "ok", t=5), ev("ended", "ok", t=6)])
    release.set()
    assert bus.wait_idle(5)
    assert got == [("hand_appeared", 0), ("started", 1), ("ended", 4), ("started", 5), ("ended", 6)]
    assert bus.dropped == 2
    bus.close()


def test_a_full_queue_of_endings_grows_rather_than_drop_one(caplog):
    release = threading.Event()
    got = []
    bus = EventBus(max_queue=2)
    bus.on(None, lambda e: (release.wait(5), got.append((e.kind, e.timestamp_ms))))
    bus.publish([ev(t=0)])
    time.sleep(0.05)                     # the worker takes event 0 and blocks
    bus.publish([ev("ended", t=1), ev("hand_lost", None, t=2), ev("ended", "ok", t=3)])
    release.set()
    assert bus.wait_idle(5)
    assert got == [("started", 0), ("ended", 1), ("hand_lost", 2), ("ended", 3)] and bus.dropped == 0
    bus.close()


def test_wait_idle_from_a_callback_returns_at_once():
    answers = []
    with EventBus() as bus:
        bus.on(None, lambda e: answers.append(bus.wait_idle(5)))
        t0 = time.monotonic()
        bus.publish([ev()])
        assert bus.wait_idle(5)
        assert answers == [False] and time.monotonic() - t0 < 2


def test_misspelt_names_get_a_suggestion():
    with EventBus(gestures=["fist", "open_palm", "thumbs_up", "my wave"]) as bus:
        for wrong, right in [("fsit", "fist"), ("Fist", "fist"), ("open palm", "open_palm"),
                             ("thumbs-up", "thumbs_up"), ("my_wave", "my wave")]:
            with pytest.raises(ValueError, match=f"did you mean '{right}'"):
                bus.on(wrong, print)
        with pytest.raises(ValueError, match=r"unknown name 'xyz'; known: fist"):
            bus.on("xyz", print)


def test_close_never_hangs():
    stuck = threading.Event()
    bus = EventBus()
    bus.on("fist", lambda e: stuck.wait(10))
    bus.publish([ev(t=i) for i in range(5)])
    t0 = time.perf_counter()
    bus.close(timeout=0.2)
    assert time.perf_counter() - t0 < 1.0
    bus.publish([ev()])                  # after close: dropped with a warning, no error
    stuck.set()
