import pytest

from gesturekit.control import ControlConfig, DesktopController, DryRunBackend, KeyboardController
from gesturekit.control.config import MouseConfig, SafetyConfig, SmoothingConfig
from gesturekit.events import EventBus, GestureEvent

SCREEN = (0, 0, 1000, 500)


def ev(kind, gesture=None, tid=1, t=0.0, duration=0.0, side="right"):
    return GestureEvent(kind=kind, gesture=gesture, track_id=tid, handedness=side,
                        timestamp_ms=t, duration_ms=duration)


def make(keys=None, **safety):
    cfg = ControlConfig(
        mouse=MouseConfig(region=(0, 0, 1, 1), acceleration=0.0,
                          smoothing=SmoothingConfig(min_cutoff=1e6)),
        safety=SafetyConfig(**safety), keys=keys or {}, mirrored=False, screen=SCREEN)
    be = DryRunBackend(SCREEN, echo=False)
    return DesktopController(cfg, be), be


def test_scripted_pinch_gives_one_press_one_release(make_hands):
    ctl, be = make()
    script = [("frame", 0.5), ("started", "pinch"), ("frame", 0.52), ("held", "pinch"),
              ("frame", 0.6), ("frame", 0.7), ("ended", "pinch"), ("frame", 0.7)]
    t = 0
    for kind, arg in script:
        t += 33
        if kind == "frame":
            ctl.update(make_hands([(arg, 0.5, 1, "right")], t))
        else:
            ctl.handle(ev(kind, arg, t=t))
    assert be.count("press") == 1 and be.count("release") == 1
    i_press = be.actions.index(("press", "left"))
    i_release = be.actions.index(("release", "left"))
    assert any(a[0] == "move" for a in be.actions[i_press:i_release])   # it dragged
    ctl.close()


def test_hand_lost_mid_drag_releases_button(make_hands):
    ctl, be = make()
    ctl.update(make_hands([(0.5, 0.5, 1, "right")], 0))
    ctl.handle(ev("started", "pinch", t=10))
    ctl.update(make_hands([(0.7, 0.5, 1, "right")], 40))
    assert be.buttons_down == {"left"}
    ctl.update(make_hands([], 80))                  # the frame without the hand
    assert not be.buttons_down
    ctl.handle(ev("hand_lost", None, t=300))        # the debounced event later: nothing twice
    assert be.count("release") == 1


def test_hand_lost_event_releases(make_hands):
    ctl, be = make()
    ctl.update(make_hands([(0.5, 0.5, 7, "right")], 0))
    ctl.handle(ev("started", "pinch", tid=7))
    ctl.handle(ev("hand_lost", tid=7))
    assert not be.buttons_down and ctl.track_id is None


def test_pointer_hand_selection(make_hands):
    ctl, be = make()
    # Left hand first in the list: the right one drives the pointer.
    ctl.update(make_hands([(0.1, 0.1, 1, "left"), (0.8, 0.8, 2, "right")], 0))
    assert ctl.track_id == 2 and be.position == (799, 399)
    # The right hand keeps the pointer while it is there; the other hand's pinch does not click.
    ctl.update(make_hands([(0.1, 0.1, 1, "left"), (0.8, 0.8, 2, "right")], 33))
    ctl.handle(ev("started", "pinch", tid=1, side="left"))
    assert ctl.track_id == 2 and be.count("press") == 0
    # A lone hand points whatever side it was read as: a misread side must not freeze the pointer.
    ctl.update(make_hands([(0.1, 0.1, 1, "left")], 66))
    assert ctl.track_id == 1 and be.position != (799, 399)


def test_engage_gesture_toggles_and_pause_releases(make_hands):
    ctl, be = make(engage_hold_ms=500)
    states = []
    ctl.on_state_change(states.append)
    ctl.update(make_hands([(0.5, 0.5, 1, "right")], 0))
    ctl.handle(ev("started", "pinch"))
    ctl.handle(ev("ended", "pinch"))
    ctl.handle(ev("started", "pinch"))
    ctl.handle(ev("started", "fist", duration=0))
    ctl.handle(ev("held", "fist", duration=300))
    assert ctl.engaged
    ctl.handle(ev("held", "fist", duration=600))
    ctl.handle(ev("held", "fist", duration=1200))   # one toggle per fist
    assert not ctl.engaged and states == ["paused"] and not be.buttons_down
    moves = be.count("move")
    ctl.update(make_hands([(0.9, 0.9, 1, "right")], 100))
    ctl.handle(ev("started", "pinch"))
    assert be.count("move") == moves and be.count("press") == 2
    ctl.handle(ev("ended", "fist"))
    ctl.handle(ev("held", "fist", duration=900))
    assert ctl.engaged and states == ["paused", "running"]


def test_stop_releases_and_ignores_input(make_hands):
    ctl, be = make()
    ctl.update(make_hands([(0.5, 0.5, 1, "right")], 0))
    ctl.handle(ev("started", "pinch"))
    ctl.stop()
    assert ctl.state == "stopped" and not be.buttons_down
    n = len(be.actions)
    ctl.update(make_hands([(0.9, 0.9, 1, "right")], 50))
    ctl.handle(ev("started", "rock"))
    assert len(be.actions) == n
    ctl.resume()
    ctl.update(make_hands([(0.9, 0.9, 1, "right")], 80))     # re-anchors where the pointer is
    ctl.update(make_hands([(0.8, 0.8, 1, "right")], 113))
    assert len(be.actions) > n


@pytest.mark.parametrize("pause", ["engage", "stop"])
def test_resuming_goes_on_from_where_the_pointer_is(make_hands, pause):
    ctl, be = make()
    ctl.update(make_hands([(0.3, 0.5, 1, "right")], 0))
    ctl.update(make_hands([(0.4, 0.5, 1, "right")], 33))
    before = be.position
    ctl.set_engaged(False) if pause == "engage" else ctl.stop()
    ctl.update(make_hands([(0.9, 0.5, 1, "right")], 66))     # the hand travels while paused
    ctl.set_engaged(True) if pause == "engage" else ctl.resume()
    ctl.update(make_hands([(0.9, 0.5, 1, "right")], 99))
    assert be.position == before                              # no jump by the paused travel
    ctl.update(make_hands([(0.95, 0.5, 1, "right")], 132))
    assert be.position[0] > before[0]                         # and it follows again
    ctl.close()


def test_run_hears_every_event_before_it_lets_go(make_hands):
    # a pinch the bus delivers late (behind a slow subscriber) must still be released by run()
    import time

    class Tracker:
        def __init__(self):
            self.events = EventBus()

        def on(self, gesture=None, callback=None, **kw):
            return self.events.on(gesture, callback, **kw)

        def stream(self, source):
            try:
                for i in range(3):
                    if i == 1:
                        self.events.publish([ev("started", "pinch", t=i * 33.0)])
                    yield None, make_hands([(0.5, 0.5, 1, "right")], i * 33.0)
            finally:   # as HandTracker.stream: the stream's end publishes its endings
                self.events.publish([ev("ended", "pinch", t=99.0), ev("hand_lost", t=99.0)])

    tr = Tracker()
    tr.events.on(callback=lambda e: time.sleep(0.2))   # an earlier, slow subscriber
    ctl, be = make()
    assert ctl.run(tr, "clip", max_frames=3) == 3
    assert tr.events.wait_idle(5)
    assert be.count("press") == 1 and be.count("release") == 1 and not be.buttons_down
    ctl.close()
    tr.events.close()


def test_exception_in_update_releases(make_hands):
    class Broken(DryRunBackend):
        def move(self, x, y):
            raise RuntimeError("backend exploded")

    ctl, _ = make()
    be = Broken(SCREEN, echo=False)
    ctl.backend = ctl.mouse.backend = be
    ctl.mouse.press("left")
    with pytest.raises(RuntimeError, match="exploded"):
        ctl.update(make_hands([(0.5, 0.5, 1, "right")], 0))
    assert be.count("release", "left") == 1 and not ctl.mouse.pressed


def test_key_bindings_fire_on_started_and_release():
    ctl, be = make(keys={"swipe_left": "left", "like": "ctrl+alt+t"})
    ctl.handle(ev("started", "swipe_left"))
    ctl.handle(ev("held", "like", duration=900))      # held does not fire
    ctl.handle(ev("started", "like", tid=5, side="left"))   # any hand can fire keys
    assert [a for a in be.actions] == [
        ("key_down", "left"), ("key_up", "left"),
        ("key_down", "ctrl"), ("key_down", "alt"), ("key_down", "t"),
        ("key_up", "t"), ("key_up", "alt"), ("key_up", "ctrl")]


def test_keys_released_when_backend_fails_half_way():
    class Flaky(DryRunBackend):
        def key_down(self, key):
            if key == "t":
                raise OSError("no keysym")
            super().key_down(key)

    be = Flaky(SCREEN, echo=False)
    kb = KeyboardController({"like": "ctrl+alt+t"}, be)
    with pytest.raises(OSError):
        kb.tap("ctrl+alt+t")
    assert not be.keys_down and be.count("key_up") == 2


def test_attach_to_tracker_bus_and_close(make_hands):
    class FakeTracker:
        def __init__(self):
            self.events = EventBus(gestures=["pinch", "fist", "rock", "victory"])

        def on(self, gesture=None, callback=None, **kw):
            return self.events.on(gesture, callback, **kw)

    tr = FakeTracker()
    ctl, be = make()
    ctl.attach(tr)
    ctl.update(make_hands([(0.5, 0.5, 1, "right")], 0))
    tr.events.publish([ev("started", "pinch")])
    assert tr.events.wait_idle(2.0)
    assert be.buttons_down == {"left"}
    ctl.close()                                   # releases and detaches
    assert not be.buttons_down and not tr.events._subs
    tr.events.publish([ev("started", "rock")])
    tr.events.wait_idle(2.0)
    assert be.count("press", "right") == 0
    tr.events.close()


def test_event_during_close_cannot_press_again(make_hands):
    ctl, be = make()
    ctl.update(make_hands([(0.5, 0.5, 1, "right")], 0))
    ctl.handle(ev("started", "pinch"))
    release = be.release

    def release_then_event(button):
        release(button)
        # what the bus thread may deliver while close() is releasing (same thread here: the
        # lock is re-entrant, so the order is fixed)
        ctl.handle(ev("started", "pinch", t=50))

    be.release = release_then_event
    ctl.close()
    assert not be.buttons_down and be.count("press") == 1


def test_dry_run_from_config_prints(make_hands, capsys):
    ctl = DesktopController(ControlConfig(dry_run=True, screen=SCREEN, mirrored=False))
    assert isinstance(ctl.backend, DryRunBackend)
    ctl.update(make_hands([(0.5, 0.5, 1, "right")], 0))
    ctl.handle(ev("started", "rock"))
    out = capsys.readouterr().out
    assert "[dry-run] move" in out and "[dry-run] press right" in out
    ctl.close()


def test_attach_checks_gestures_against_the_trackers_bus():
    from gesturekit.control import ConfigError
    from gesturekit.gestures import ALL_GESTURES

    class FakeTracker:
        def __init__(self, extra=()):
            # as HandTracker.events: the built-in names plus its recognizer's labels
            self.events = EventBus(gestures=ALL_GESTURES + tuple(extra))

        def on(self, gesture=None, callback=None, **kw):
            return self.events.on(gesture, callback, **kw)

    ctl, _ = make(keys={"wave": "ctrl+w"})
    plain = FakeTracker()
    with pytest.raises(ConfigError, match=r"\[keys\]\.wave: unknown gesture 'wave'.*does not emit it"):
        ctl.attach(plain)
    assert not plain.events._subs
    custom = FakeTracker(extra=("wave",))   # a tracker whose own MLP has a "wave" class
    ctl.attach(custom)
    assert len(custom.events._subs) == 1
    ctl.close()
    for tr in (plain, custom):
        tr.events.close()
