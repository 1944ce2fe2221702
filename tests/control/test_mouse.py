import numpy as np
import pytest

from gesturekit.control import DryRunBackend, MouseConfig, MouseController, hand_point
from gesturekit.control.config import SmoothingConfig

SCREEN = (0, 0, 1000, 500)


def controller(**kw):
    # Filtering off (huge cutoff) and no acceleration: the mapping is exact.
    kw.setdefault("smoothing", SmoothingConfig(min_cutoff=1e6, beta=0.0))
    kw.setdefault("acceleration", 0.0)
    kw.setdefault("region", (0.0, 0.0, 1.0, 1.0))
    be = DryRunBackend(SCREEN, echo=False)
    return MouseController(MouseConfig(**kw), be, mirrored=kw.pop("mirrored", False)), be


def test_region_maps_to_screen_and_clamps(make_hands):
    m, be = controller(region=(0.25, 0.25, 0.75, 0.75))
    t = 0.0
    for (u, v), want in [((0.25, 0.25), (0, 0)), ((0.75, 0.75), (999, 499)),
                         ((0.5, 0.5), (500, 250)), ((0.0, 1.0), (0, 499)),
                         ((1.0, 0.0), (999, 0))]:
        t += 0.03
        m.lost()   # restart so each point is an absolute jump
        assert m.update(make_hands([(u, v)])[0], t) == want
    assert be.position == (999, 0)


def test_mirrored_flips_x(make_hands):
    be = DryRunBackend(SCREEN, echo=False)
    m = MouseController(MouseConfig(region=(0, 0, 1, 1), acceleration=0.0), be, mirrored=True)
    assert m.update(make_hands([(0.1, 0.5)])[0], 0.0)[0] == round(0.9 * 999)


def test_points():
    from gesturekit.types import Hand
    kp = np.zeros((21, 2), np.float32)
    kp[8] = (10, 20)
    kp[5] = (30, 40)
    for i in (0, 5, 9, 13, 17):
        kp[i] = (i, 2 * i) if i != 5 else kp[5]
    h = Hand(kp, np.ones(21), np.zeros(4), 1.0, (100, 100))
    assert tuple(hand_point(h, "index_tip")) == (10, 20)
    assert tuple(hand_point(h, "index_mcp")) == (30, 40)
    np.testing.assert_allclose(hand_point(h, "palm"), np.mean(kp[[0, 5, 9, 13, 17]], 0))
    with pytest.raises(ValueError, match="hand.keypoints"):
        hand_point(Hand(np.zeros((5, 2)), np.ones(5), np.zeros(4), 1.0, (1, 1)), "palm")


def test_acceleration_small_moves_precise_large_moves_fast(make_hands):
    # Same hand path at two speeds; with acceleration, the slow one travels less.
    travelled = {}
    for name, dt in (("slow", 0.2), ("fast", 0.01)):
        m, be = controller(acceleration=1.0)
        m.update(make_hands([(0.5, 0.5)])[0], 0.0)
        m.update(make_hands([(0.55, 0.5)])[0], dt)
        travelled[name] = be.position[0] - 500
    assert 0 < travelled["slow"] < 50 < travelled["fast"]


def test_smoothing_reduces_jitter(make_hands):
    rng = np.random.default_rng(0)
    spreads = {}
    for name, cutoff in (("raw", 1e6), ("smooth", 0.5)):
        m, be = controller(smoothing=SmoothingConfig(min_cutoff=cutoff, beta=0.0))
        xs = []
        for i in range(60):
            u = 0.5 + rng.normal(0, 0.01)
            m.update(make_hands([(u, 0.5)])[0], i / 30)
            xs.append(be.position[0])
        spreads[name] = np.std(xs[10:])
    assert spreads["smooth"] < 0.5 * spreads["raw"]


def test_pinch_press_drag_release(make_hands):
    m, be = controller(drag_threshold_px=10)
    m.update(make_hands([(0.5, 0.5)])[0], 0.0)
    m.gesture_started("pinch")
    # A small twitch while pinching does not move the pointer (no accidental drag)...
    assert m.update(make_hands([(0.503, 0.5)])[0], 0.03) == (500, 250)
    # ...a deliberate move drags with the button held.
    assert m.update(make_hands([(0.6, 0.5)])[0], 0.06) == (599, 250)
    assert be.buttons_down == {"left"}
    m.gesture_started("pinch")          # a repeated start never double-presses
    m.gesture_ended("pinch")
    assert be.count("press", "left") == 1 and be.count("release", "left") == 1
    assert not be.buttons_down and m.mode == "point"


def test_hand_lost_mid_drag_releases(make_hands):
    m, be = controller()
    m.update(make_hands([(0.5, 0.5)])[0], 0.0)
    m.gesture_started("pinch")
    m.update(make_hands([(0.7, 0.5)])[0], 0.03)
    assert be.buttons_down == {"left"}
    m.update(None)
    assert not be.buttons_down and be.count("release", "left") == 1
    m.gesture_ended("pinch")            # the late end event releases nothing twice
    assert be.count("release", "left") == 1


def test_frame_without_pointer_point_is_skipped(make_hands):
    # A NaN pointer point went into the filter: every later frame raised and the pointer was dead.
    bad = make_hands([(0.6, 0.6)])[0]
    bad.keypoints[:] = np.nan                   # e.g. a tracker that marks unseen points NaN
    m, be = controller(scroll_speed=20)
    m.update(make_hands([(0.5, 0.5)])[0], 0.0)
    m.gesture_started("pinch")
    assert m.update(bad, 0.03) is None
    assert m.update(make_hands([(0.7, 0.3)])[0], 0.06) == (699, 150)
    assert be.buttons_down == {"left"}          # one bad frame does not end the drag
    m.gesture_ended("pinch")
    m.gesture_started("victory")                # scrolling skips it too
    for t, hand in ((0.09, make_hands([(0.7, 0.75)])[0]), (0.12, bad), (0.15, make_hands([(0.7, 0.5)])[0])):
        m.update(hand, t)
    assert [a for a in be.actions if a[0] == "scroll"] == [("scroll", 0, 5)]   # 0.25 × 20 steps


def test_right_click_and_scroll(make_hands):
    m, be = controller(scroll_speed=20)
    m.update(make_hands([(0.5, 0.5)])[0], 0.0)
    m.gesture_started("rock")
    assert [a for a in be.actions if a[0] != "move"] == [("press", "right"), ("release", "right")]
    m.gesture_started("victory")
    for i, v in enumerate((0.5, 0.45, 0.4, 0.35, 0.3)):   # hand goes up by 0.2 frame height
        m.update(make_hands([(0.5, v)])[0], 0.1 + i * 0.03)
    assert sum(a[2] for a in be.actions if a[0] == "scroll") == 4   # 0.2 * 20 steps, upward
    assert be.position == (500, 250)    # the pointer stays put while scrolling
    m.gesture_ended("victory")
    assert m.update(make_hands([(0.3, 0.3)])[0], 0.5) == (500, 250)   # re-anchored, no jump


def test_release_all_survives_backend_error(make_hands):
    class Flaky(DryRunBackend):
        def release(self, button):
            super().release(button)
            if button == "right":
                raise OSError("X went away")

    be = Flaky(SCREEN, echo=False)
    m = MouseController(MouseConfig(), be)
    m.press("left")
    m.press("right")
    with pytest.raises(OSError):
        m.release_all()
    assert not m.pressed and not be.buttons_down


def test_dry_run_prints_actions(make_hands, capsys):
    be = DryRunBackend(SCREEN)
    m = MouseController(MouseConfig(region=(0, 0, 1, 1), acceleration=0.0), be, mirrored=False)
    m.update(make_hands([(0.5, 0.5)])[0], 0.0)
    m.click("left")
    out = capsys.readouterr().out.splitlines()
    assert out == ["[dry-run] move 500 250", "[dry-run] press left", "[dry-run] release left"]
