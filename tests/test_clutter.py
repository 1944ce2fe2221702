import numpy as np
import pytest

from gesturekit.clutter import ClutterMemory

BOX = np.array([10, 10, 60, 60], np.float32)


def test_a_place_is_read_on_its_first_runs_then_every_nth():
    m = ClutterMemory(every=3, warmup=2)
    skipped = [m.step([BOX], [0.3])[0] for _ in range(9)]
    assert skipped == [False, False, True, True, False, True, True, False, True]


def test_a_new_place_a_risen_score_or_a_reset_is_read_at_once():
    m = ClutterMemory(every=3, warmup=1)
    m.step([BOX], [0.3])
    assert m.step([BOX, BOX + 200], [0.3, 0.3]) == [True, False]       # a place not seen before
    assert m.step([BOX], [0.5]) == [False]                              # the score rose by > 0.1
    m.reset()
    assert m.step([BOX], [0.3]) == [False]


def test_every_1_reads_everything_and_bad_settings_are_refused():
    m = ClutterMemory(every=1)
    assert not any(m.step([BOX], [0.3])[0] for _ in range(5))
    with pytest.raises(ValueError, match="every"):
        ClutterMemory(every=0)
