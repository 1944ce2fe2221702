"""The keypoint cache is rebuilt whenever anything that shapes its arrays changes."""

import os

import cv2
import numpy as np
import pytest

from gesturekit.io.sample import Sample
from gesturekit.train.cache import _key, build_cache

N = 1001  # > 1000: the old fingerprint looked at every (N // 500) = 2nd sample only
SIZE = 16


def _samples(root, n=N):
    """``n`` one-hand samples: sample 1 (which a stride of 2 skipped) has an image of its own."""
    rng = np.random.default_rng(0)
    for name in ("a.png", "b.png"):
        cv2.imwrite(str(root / name), rng.integers(0, 255, (24, 24, 3), dtype=np.uint8))
    out = []
    for i in range(n):
        kp = np.array([[[6 + i % 5, 6], [18, 8], [12, 18]]], np.float32)
        out.append(Sample(root / ("b.png" if i == 1 else "a.png"), 24, 24, keypoints=kp,
                          visible=np.ones((1, 3), bool)))
    return out


def _move_label(samples):
    samples[1].keypoints = samples[1].keypoints + 3.0


def _hide_point(samples):
    samples[1].visible = np.array([[True, True, False]])


def _replace_image(samples):
    path = samples[1].image
    before = os.stat(path).st_mtime_ns
    cv2.imwrite(str(path), np.full((24, 24, 3), 200, np.uint8))
    os.utime(path, ns=(before + 10**9, before + 10**9))  # writes within one clock tick can share an mtime


@pytest.mark.parametrize("change", [_move_label, _hide_point, _replace_image])
def test_a_change_the_old_stride_skipped_rebuilds_the_cache(tmp_path, change):
    samples = _samples(tmp_path)
    old = build_cache(samples, tmp_path / "cache", size=SIZE, threads=1)
    old = {k: np.array(old[k]) for k in ("images", "keypoints", "visible")}
    change(samples)
    new = build_cache(samples, tmp_path / "cache", size=SIZE, threads=1)
    assert len(list((tmp_path / "cache").iterdir())) == 2
    changed = [k for k in old if not np.array_equal(old[k][1], new[k][1])]
    assert changed  # entry 1 carries the change
    for k in old:  # and the rest is as before
        assert np.array_equal(np.delete(old[k], 1, 0), np.delete(new[k], 1, 0))


def test_same_content_same_key_and_the_cache_is_reused(tmp_path):
    samples = _samples(tmp_path, n=8)
    build_cache(samples, tmp_path / "cache", size=SIZE, threads=1)
    again = [Sample(s.image, s.width, s.height, keypoints=s.keypoints.copy(), visible=s.visible.copy())
             for s in samples]
    assert _key(again, SIZE, 2.6) == _key(samples, SIZE, 2.6)
    build_cache(again, tmp_path / "cache", size=SIZE, threads=1)
    assert len(list((tmp_path / "cache").iterdir())) == 1
    assert _key(samples, SIZE + 1, 2.6) != _key(samples, SIZE, 2.6)
    assert _key(samples[::-1], SIZE, 2.6) != _key(samples, SIZE, 2.6)  # entries follow the samples' order
