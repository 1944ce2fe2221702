import numpy as np
from fakes import hand_at

from gesturekit.layouts import HAND_21
from gesturekit.tracks import Track, TrackBook


def _book(max_hands=2, forgotten=None):
    return TrackBook(max_hands, 0.3, 500.0, HAND_21.edges, lambda: None,
                     (forgotten if forgotten is not None else []).append)


def _read(kp):
    return np.asarray(kp, np.float32), np.full(21, 0.9, np.float32)


def test_two_tracks_on_one_hand_keep_the_older_id():
    forgotten = []
    book = _book(forgotten=forgotten)
    book.adopt(*_read(hand_at(100, 100)), 0.9, 0)
    book.tracks.append(Track(7, hand_at(101, 100), np.ones(21), 0.9, None, 0.0))  # a detection of it
    book.dedupe()
    assert [t.id for t in book.tracks] == [0] and forgotten == [7]


def test_a_track_along_another_hands_bones_is_dropped_even_when_older():
    forgotten = []
    book = _book(forgotten=forgotten)
    whole = hand_at(100, 100, 80)
    thumb = np.repeat(whole[1:5], [5, 5, 5, 6], axis=0) + np.float32([1.0, 0.0])  # 21 points on the thumb
    book.adopt(*_read(thumb), 0.9, 0)           # id 0: the older, the part
    book.adopt(*_read(whole), 0.9, 33)          # id 1: the whole hand
    book.dedupe()
    assert [t.id for t in book.tracks] == [1] and forgotten == [0]
    far = hand_at(300, 100, 80)                 # a hand beside it stays
    book.adopt(*_read(far), 0.9, 66)
    book.dedupe()
    assert [t.id for t in book.tracks] == [1, 2]


def test_a_hand_found_again_within_the_ttl_keeps_its_id_after_it_a_new_one():
    book = _book(max_hands=1)
    book.adopt(*_read(hand_at(100, 100)), 0.9, 0)
    book.lose(book.tracks.pop(), 100)
    book.adopt(*_read(hand_at(102, 100)), 0.9, 400)
    assert [t.id for t in book.tracks] == [0]
    book.lose(book.tracks.pop(), 500)
    book.expire(1001)
    book.adopt(*_read(hand_at(102, 100)), 0.9, 1001)
    assert [t.id for t in book.tracks] == [1]
