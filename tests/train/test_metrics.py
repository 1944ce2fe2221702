import numpy as np
import pytest

from gesturekit.train.metrics import keypoint_metrics

SQUARE = np.array([[0, 0], [10, 0], [0, 10], [10, 10]], np.float64)


def test_known_answers_one_hand():
    gt = SQUARE[None]
    pred = gt + np.array([[0, 0], [0.4, 0], [0, 1.5], [3, 0]])  # errors 0, 0.4, 1.5, 3 on a 10 px hand
    m = keypoint_metrics(pred, gt, crop_size=40)
    assert m["pck@0.05"] == pytest.approx(0.5)
    assert m["pck@0.1"] == pytest.approx(0.5)
    assert m["pck@0.2"] == pytest.approx(0.75)
    assert m["epe_px"] == pytest.approx((0 + 0.4 + 1.5 + 3) / 4)
    assert m["nme"] == pytest.approx((0 + 0.04 + 0.15 + 0.3) / 4)
    # crop units: err × 2 / 40 → 0, 0.02, 0.075, 0.15
    assert m["within_0.1"] == pytest.approx(0.75)
    assert m["within_0.01"] == pytest.approx(0.25)
    assert m["points"] == 4


def test_normalises_per_hand_and_ignores_invisible_points():
    gt = np.stack([SQUARE, SQUARE * 10])  # a 10 px and a 100 px hand
    pred = gt.copy()
    pred[0, 1, 0] += 3.0   # 0.3 of the small hand
    pred[1, 1, 0] += 3.0   # 0.03 of the big hand
    pred[1, 2, 1] += 500.0  # huge, but not visible
    vis = np.ones((2, 4), bool)
    vis[1, 2] = False
    m = keypoint_metrics(pred, gt, vis)
    assert m["points"] == 7
    assert m["pck@0.05"] == pytest.approx(6 / 7)
    assert m["pck@0.2"] == pytest.approx(6 / 7)
    assert m["epe_px"] == pytest.approx(6.0 / 7)
    assert "within_0.1" not in m


def test_box_side_from_visible_points_only():
    gt = SQUARE[None].copy()
    gt[0, 3] = [1000, 1000]  # an unlabelled point far away must not inflate the hand's size
    vis = np.array([[True, True, True, False]])
    pred = gt + [[1.5, 0]]
    m = keypoint_metrics(pred, gt, vis)
    assert m["nme"] == pytest.approx(0.15)
    assert m["pck@0.1"] == 0.0 and m["pck@0.2"] == 1.0


def test_perfect_prediction():
    gt = np.random.default_rng(0).uniform(0, 50, (5, 21, 2))
    m = keypoint_metrics(gt, gt)
    assert m["pck@0.05"] == 1.0 and m["epe_px"] == 0.0 and m["nme"] == 0.0 and m["points"] == 105
