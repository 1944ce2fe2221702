from pathlib import Path

import numpy as np
import pytest

from gesturekit.geometry import Crop
from gesturekit.landmarks import CROP_SCALE, LandmarkRegressor
from gesturekit.layouts import HAND_21


def _oracle(points_frame: np.ndarray, crops, size=128):
    """A regressor whose network 'sees' the true points: checks decode + inverse warp exactly."""
    reg = object.__new__(LandmarkRegressor)
    reg.input_size, reg.layout, reg.path, reg.flip_test = size, HAND_21, Path("oracle"), False

    def run(batch):
        assert batch.shape == (len(crops), 3, size, size) and batch.dtype == np.float32
        assert 0.0 <= batch.min() and batch.max() <= 1.0
        xy = np.stack([c.to_crop(p, size) / (size / 2) - 1 for c, p in zip(crops, points_frame)])
        return {"xy": xy.astype(np.float32), "conf": np.full(xy.shape[:2], 0.8, np.float32)}

    reg.runner = run
    return reg


def test_decode_and_inverse_warp_round_trip():
    rng = np.random.default_rng(0)
    pts = rng.uniform(50, 150, (3, 21, 2)).astype(np.float32)
    crops = [Crop(100, 100, 120, 0.0), Crop(90, 110, 80, 0.7), Crop(120, 95, 200, -2.5)]
    reg = _oracle(pts, crops)
    frame = rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)
    kp, conf = reg.predict(frame, crops)
    assert kp.shape == (3, 21, 2) and conf.shape == (3, 21)
    np.testing.assert_allclose(kp, pts, atol=1e-3)
    # gray / float frames are converted, not refused
    kp2, _ = reg.predict(frame[:, :, 0].astype(np.float32) / 255.0, crops)
    np.testing.assert_allclose(kp2, pts, atol=1e-3)


def test_many_crops_run_in_bounded_batches_in_order():
    """Thousands of crops are not one (N, 3, S, S) array: chunks of MAX_BATCH, results in order."""
    from gesturekit.landmarks import MAX_BATCH

    reg = object.__new__(LandmarkRegressor)
    reg.input_size, reg.layout, reg.path, reg.flip_test = 16, HAND_21, Path("probe"), False
    sizes = []

    def run(batch):   # each crop's point 0 at its own mean brightness: ties the output to its crop
        sizes.append(len(batch))
        xy = np.zeros((len(batch), 21, 2), np.float32)
        xy[:, 0, 0] = batch.mean(axis=(1, 2, 3)) * 2 - 1
        return {"xy": xy, "conf": np.ones(xy.shape[:2], np.float32)}

    reg.runner = run
    frame = np.tile(np.linspace(0, 255, 400).astype(np.uint8)[None, :, None], (60, 1, 3))
    crops = [Crop(10 + 2.6 * i, 30, 12, 0.0) for i in range(150)]
    kp, conf = reg.predict(frame, crops)
    assert kp.shape == (150, 21, 2) and conf.shape == (150, 21)
    assert max(sizes) <= MAX_BATCH and sum(sizes) == 150
    one = np.stack([reg.predict(frame, [c])[0][0] for c in crops])
    np.testing.assert_allclose(kp, one, atol=1e-4)
    assert np.all(np.diff(kp[:, 0, 0]) != 0)   # distinct crops, so order is really tested


def test_bad_input_is_named():
    reg = _oracle(np.zeros((1, 21, 2)), [Crop(1, 1, 10)])
    frame = np.zeros((64, 64, 3), np.uint8)
    kp, conf = reg.predict(frame, [])
    assert kp.shape == (0, 21, 2) and conf.shape == (0, 21)
    with pytest.raises(ValueError, match="frame: got None"):
        reg.predict(None, [Crop(1, 1, 10)])
    with pytest.raises(ValueError, match=r"crops\[0\]: not a usable crop"):
        reg.predict(frame, [Crop(np.nan, 1, 10)])
    with pytest.raises(TypeError, match=r"crops\[0\]"):
        reg.predict(frame, [(1, 2, 3)])
    with pytest.raises(TypeError, match="one Crop"):
        reg.predict(frame, Crop(1, 1, 10))


def test_crops_may_come_as_any_iterable():
    crops = [Crop(100, 100, 120, 0.0), Crop(90, 110, 80, 0.7)]
    pts = np.random.default_rng(0).uniform(60, 140, (2, 21, 2)).astype(np.float32)
    reg = _oracle(pts, crops)
    frame = np.zeros((240, 320, 3), np.uint8)
    for given in ((c for c in crops), np.array(crops, dtype=object)):
        kp, _ = reg.predict(frame, given)
        np.testing.assert_allclose(kp, pts, atol=1e-3)
    assert reg.predict(frame, np.array([], dtype=object))[0].shape == (0, 21, 2)


def test_missing_model_file_is_named(tmp_path):
    with pytest.raises(ValueError, match="nothing.onnx: model file not found"):
        LandmarkRegressor(tmp_path / "nothing.onnx")


def _model():
    for p in (Path(__file__).resolve().parents[1] / "models" / "keypoints.onnx", Path("/tmp/gk_kp.onnx")):
        if p.is_file():
            return p
    pytest.skip("no keypoint model (models/keypoints.onnx) yet")


def test_real_model_batch_matches_single_crops():
    reg = LandmarkRegressor(_model(), threads=1)
    assert reg.layout.num_points == 21 and CROP_SCALE == 1.5
    frame = np.random.default_rng(1).integers(0, 255, (120, 160, 3), dtype=np.uint8)
    crops = [Crop(80, 60, 90, 0.2), Crop(40, 40, 50, 0.0)]
    kp, conf = reg.predict(frame, crops)
    one, _ = reg.predict(frame, crops[1:])
    np.testing.assert_allclose(kp[1], one[0], atol=1e-2)
    assert ((conf >= 0) & (conf <= 1)).all()


def test_flip_test_mirrors_x_and_swaps_the_layouts_pairs():
    from gesturekit.landmarks import run_keypoint_net
    from gesturekit.layouts import KeypointLayout

    layout = KeypointLayout("pair", ("left", "right"), ((0, 1),), flip=(1, 0))
    calls = []

    def runner(batch):  # like eyes: point 0 always on the image's left, sure of itself where it is lit
        calls.append(len(batch))
        half = batch.shape[3] // 2
        left_lit = batch[..., :half].mean((1, 2, 3)) > batch[..., half:].mean((1, 2, 3))
        xy = np.tile(np.array([[-0.5, 0.1], [0.5, -0.2]], np.float32), (len(batch), 1, 1))
        conf = np.stack([np.where(left_lit, 0.9, 0.1), np.where(left_lit, 0.1, 0.9)], 1)
        return {"xy": xy, "conf": conf.astype(np.float32)}

    batch = np.zeros((1, 3, 8, 8), np.float32)
    batch[..., :4] = 1.0
    _, conf = run_keypoint_net(runner, batch, layout, flip_test=False)
    fxy, fconf = run_keypoint_net(runner, batch, layout, flip_test=True)
    # mirrored, the right point is read as 'left': negated x and the swap bring both back
    np.testing.assert_allclose(fxy, [[[-0.5, -0.05], [0.5, -0.05]]], atol=1e-6)
    np.testing.assert_allclose(fconf, conf)
    assert calls == [1, 2]  # the crop and its mirror in one call


def test_acquire_turns_only_unsure_boxes_keeps_the_most_confident_then_refines_upright():
    """A reader that only reads crops at the hand's true angle (upright, 0), given a box whose
    angle is a quarter turn off: the unsure first reading sends acquire to the other turns, it
    keeps the right one, then reads the upright crop of those points. A confident first
    reading is kept without turning."""
    from gesturekit.geometry import hand_angle
    from gesturekit.landmarks import TURN_BELOW, acquire

    truth = np.array([[50.0 + 20 * np.cos(t), 60.0 + 20 * np.sin(t)] for t in np.linspace(0, 6, 21)])
    truth[0], truth[9] = [50, 80], [50, 50]  # wrist below the middle MCP: upright
    calls = []

    def predict(frame, crops):
        calls.append([round(float(c.angle), 3) for c in crops])
        right = [abs(np.sin((c.angle - hand_angle(truth)) / 2)) < 1e-6 for c in crops]
        kp = np.stack([truth if ok else truth[::-1] for ok in right]).astype(np.float32)
        return kp, np.array([[0.9 if ok else TURN_BELOW - 0.1] * 21 for ok in right], np.float32)

    frame, box = np.zeros((100, 100, 3), np.uint8), np.array([30, 40, 70, 80])
    kp, conf = acquire(predict, frame, [box], [-np.pi / 2], 1.3, zooms=(1.0, 1.6), rotations=4)
    assert calls[0] == [-1.571, -1.571]                            # both zooms at the box's angle
    assert calls[1] == [0.0, 1.571, 3.142] * 2                     # unsure: zooms × the other turns
    assert len(calls) == 3 and len(calls[2]) == 1                  # then one upright pass
    np.testing.assert_allclose(kp[0], truth, atol=1e-5)
    assert conf.shape == (1, 21) and conf.min() == pytest.approx(0.9)

    calls.clear()
    kp, _ = acquire(predict, frame, [box], [0.0], 1.3, zooms=(1.0, 1.6), rotations=4, refine=0)
    assert calls == [[0.0, 0.0]]                                   # sure at once: no turns
    np.testing.assert_allclose(kp[0], truth, atol=1e-5)
    with pytest.raises(ValueError, match="rotations"):
        acquire(predict, frame, [], [], 1.3, rotations=0)


def test_acquire_can_turn_an_unsure_box_at_its_best_width_only():
    from gesturekit.landmarks import TURN_BELOW, acquire

    calls = []

    def predict(frame, crops):  # the wider crop reads a little better; both are unsure until upright
        calls.append([(round(float(c.size)), round(float(c.angle), 3)) for c in crops])
        conf = [0.9 if abs(c.angle) < 1e-6 else TURN_BELOW - (0.1 if c.size < 60 else 0.05) for c in crops]
        kp = np.stack([np.stack([np.linspace(40, 60, 21), np.linspace(80, 50, 21)], 1)] * len(crops))
        return kp.astype(np.float32), np.repeat(np.array(conf, np.float32)[:, None], 21, 1)

    frame, box = np.zeros((100, 100, 3), np.uint8), np.array([30, 40, 70, 80])
    acquire(predict, frame, [box], [-np.pi / 2], 1.3, zooms=(1.0, 1.6), rotations=4, refine=0)
    assert calls[1] == [(52, 0.0), (52, 1.571), (52, 3.142), (83, 0.0), (83, 1.571), (83, 3.142)]
    calls.clear()
    _, conf = acquire(predict, frame, [box], [-np.pi / 2], 1.3, zooms=(1.0, 1.6), rotations=4, refine=0,
                      turn_every_zoom=False)
    assert calls[1] == [(83, 0.0), (83, 1.571), (83, 3.142)]       # the wider crop read better first
    assert conf.min() == pytest.approx(0.9)


def test_acquire_gives_up_on_a_hopeless_first_reading_but_searches_the_others():
    """Three boxes: one read hopelessly at first (no turn, no refinement), one unsure (turned and
    refined), one sure (refined only)."""
    from gesturekit.landmarks import HOPELESS_BELOW, TURN_BELOW, acquire

    first = {0: HOPELESS_BELOW - 0.02, 1: (HOPELESS_BELOW + TURN_BELOW) / 2, 2: 0.9}
    calls = []

    def predict(frame, crops):
        calls.append([int(c.cx) // 100 for c in crops])  # box i is centred at x = 100 i + 50
        conf = [first[int(c.cx) // 100] if len(calls) == 1 else 0.95 for c in crops]
        kp = np.stack([np.full((21, 2), c.cx) + np.arange(21)[:, None] for c in crops]).astype(np.float32)
        return kp, np.repeat(np.array(conf, np.float32)[:, None], 21, 1)

    boxes = [np.array([100 * i + 30, 30, 100 * i + 70, 70]) for i in range(3)]
    _, conf = acquire(predict, np.zeros((100, 300, 3), np.uint8), boxes, [0.0] * 3, 1.3, zooms=(1.0,), rotations=4)
    assert calls == [[0, 1, 2], [1, 1, 1], [1, 2]]                 # first reading, turns of 1, refine of 1 and 2
    np.testing.assert_allclose(conf.mean(1), [HOPELESS_BELOW - 0.02, 0.95, 0.95], rtol=1e-6)
