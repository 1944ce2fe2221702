"""Smoke test of bench/gestures_end_to_end.py on a few HaGRID crops (skips without the data / model)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data"
HAGRID = DATA / "hagrid12"
MODEL = ROOT / "models" / "keypoints.onnx"


def _load():
    spec = importlib.util.spec_from_file_location("gestures_end_to_end", ROOT / "bench" / "gestures_end_to_end.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def e2e():
    if not HAGRID.exists():
        pytest.skip(f"{HAGRID} absent (shared data not on this machine)")
    return _load()


def test_pad_crop_box_is_the_original_crop():
    e = _load()
    img = np.random.default_rng(0).integers(0, 255, (60, 100, 3), np.uint8)
    out, box, pad = e.pad_crop(img)
    assert pad == 25 and out.shape == (110, 150, 3)
    x1, y1, x2, y2 = box.astype(int)
    assert np.array_equal(out[y1:y2, x1:x2], img)
    assert np.array_equal(out[0, x1:x2], img[0])          # replicated border
    out, _, _ = e.pad_crop(img, border="constant")
    assert out[0].max() == 0


def test_list_images_is_balanced_and_seeded(e2e):
    paths, labels = e2e.list_images(HAGRID, limit_per_class=2, seed=3)
    assert len(paths) == 26 and len(set(labels.tolist())) == 13
    assert all((labels == c).sum() == 2 for c in set(labels.tolist()))
    again, _ = e2e.list_images(HAGRID, limit_per_class=2, seed=3)
    assert again == paths
    other, _ = e2e.list_images(HAGRID, limit_per_class=2, seed=4)
    assert other != paths


def test_score_reproduces_mediapipe_figures_on_a_subset(e2e):
    """The scorer on MediaPipe's own points: the shipped MLP (trained on them) must be good."""
    from gesturekit.gestures.samples import read_samples

    s = read_samples(HAGRID / "keypoints_mediapipe.csv")
    keep = np.random.default_rng(0).choice(len(s.labels), 400, replace=False)
    r = e2e.score(s.keypoints[keep].astype(np.float64), s.labels[keep], [s.handedness[i] for i in keep],
                  ROOT / "models" / "gesture_mlp.npz", seed=0)
    res = r.results
    assert res["held_out_rows"] + res["train_rows"] == 400
    assert res["a_shipped_mlp"]["accuracy"] > 0.85
    assert res["c_rules"]["rows"] == res["held_out_rule_rows"] and res["c_rules"]["accuracy"] > 0.75
    assert r.confusion.sum() == res["held_out_rows"] and r.confusion.shape == (13, 13)


def test_our_keypoints_on_20_crops_and_cache(e2e, tmp_path, monkeypatch):
    if not MODEL.is_file():
        pytest.skip(f"{MODEL} absent (keypoint model not trained yet)")
    paths, _ = e2e.list_images(HAGRID, limit_per_class=2, seed=0)
    paths = paths[:20]
    k = e2e.cached_keypoints(paths, MODEL, 1.5, "replicate", tmp_path, HAGRID, threads=1)
    kp, conf = k["keypoints"], k["confidence"]
    assert kp.shape == (20, 21, 2) and np.isfinite(kp).all()
    assert ((conf >= 0) & (conf <= 1)).all()
    # the points lie on the crop (a little outside is allowed: the crops cut hands off),
    # their centre inside it; unconfident readings (a hand the model cannot read) may be anywhere
    import cv2

    confident = conf.mean(1) >= 0.2
    assert confident.sum() >= 12
    for p, pts in zip(np.asarray(paths)[confident], kp[confident]):
        h, w = cv2.imread(str(p)).shape[:2]
        m = 0.35 * max(h, w)
        assert (pts > -m).all() and (pts[:, 0] < w + m).all() and (pts[:, 1] < h + m).all(), p
        cx, cy = pts.mean(0)
        assert 0 < cx < w and 0 < cy < h, p
    agree = e2e.mediapipe_agreement(paths, kp, HAGRID)
    assert agree["rows"] >= 8 and agree["nme_median_hand"] < 0.2, agree
    # second call: every crop comes from the cache, in the order asked
    monkeypatch.setattr(e2e, "regress", lambda *a, **k: pytest.fail("cache missed"))
    again = e2e.cached_keypoints(paths[::-1], MODEL, 1.5, "replicate", tmp_path, HAGRID)
    assert np.array_equal(again["keypoints"], kp[::-1])


def test_train_points_never_hold_a_held_out_image(e2e, tmp_path):
    import csv

    from gesturekit.gestures.mlp import stratified_split

    paths, labels = e2e.list_images(HAGRID)
    n = e2e.write_train_points(paths, labels, tmp_path / "points.csv", HAGRID)
    with open(tmp_path / "points.csv", newline="") as f:
        rows = list(csv.reader(f))[1:]
    images = {Path(r[0]) for r in rows}
    _, va = stratified_split(labels, 0.2, 0)
    assert n == len(rows) > 0 and all(p.is_absolute() and p.exists() for p in list(images)[:20])
    assert not images & {Path(paths[i]).resolve() for i in va}
