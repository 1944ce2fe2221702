"""HandDetector: options, odd frames, bad model files, real hands; the TF SavedModel adapter."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from fakes import BlobDetector

from gesturekit.detector import (
    PAD_VALUE,
    Detections,
    DetectorOptions,
    HandDetector,
    TFSavedModelDetector,
    as_detections,
    average_precision,
    decode,
    detect_tiles,
    letterbox,
)
from gesturekit.errors import ModelFileError
from gesturekit.geometry import box_iou
from gesturekit.images import as_bgr_uint8
from gesturekit.runtime import default_model

MODEL = default_model("detector.onnx")
needs_model = pytest.mark.skipif(not MODEL.exists(), reason=f"{MODEL} not built yet")


@pytest.fixture(scope="module")
def detector() -> HandDetector:
    if not MODEL.exists():
        pytest.skip(f"{MODEL} not built yet")
    return HandDetector(DetectorOptions(threads=1))


@pytest.mark.parametrize("field, value", [
    ("backend", "tflite"), ("device", "tpu"), ("threads", 0), ("threads", True), ("score_threshold", 1.5),
    ("nms_iou", 0.0), ("max_hands", 0),
])
def test_options_name_the_bad_field(field, value):
    with pytest.raises(ValueError, match=field):
        DetectorOptions(**{field: value})


def test_missing_and_corrupt_model_files_name_the_file(tmp_path):
    missing = tmp_path / "nope.onnx"
    with pytest.raises(ModelFileError, match="nope.onnx"):
        HandDetector(DetectorOptions(model_path=missing))
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x08\x01garbage" * 10)
    with pytest.raises(ModelFileError, match="bad.onnx"):
        HandDetector(DetectorOptions(model_path=bad))
    if MODEL.exists():
        cut = tmp_path / "cut.onnx"
        cut.write_bytes(MODEL.read_bytes()[: MODEL.stat().st_size // 3])
        with pytest.raises(ModelFileError, match="cut.onnx"):
            HandDetector(DetectorOptions(model_path=cut))


@needs_model
def test_keypoint_model_is_refused(tmp_path):
    kp = default_model("keypoints.onnx")
    if not kp.exists():
        pytest.skip("no keypoint model shipped")
    with pytest.raises(ModelFileError, match="expected a 'detector' model"):
        HandDetector(DetectorOptions(model_path=kp))


def test_letterbox_and_decode_map_back_to_frame_pixels():
    frame = np.zeros((360, 640, 3), np.uint8)
    img, s, dx, dy = letterbox(frame, 192, 256)
    assert img.shape == (192, 256, 3) and s == pytest.approx((0.4, 0.4)) and (dx, dy) == (0, 24)
    s = s[0]
    # one peak at cell (y 20, x 20) of a stride-4 map: centre (20+.5)*4 px, size 8×16 cells
    out = {"scores": np.zeros((1, 1, 48, 64), np.float32), "size": np.zeros((1, 2, 48, 64), np.float32),
           "offset": np.full((1, 2, 48, 64), 0.5, np.float32)}
    out["scores"][0, 0, 20, 20] = 0.9
    out["size"][0, :, 20, 20] = np.log([8.0, 16.0])
    d = decode(out, 4, (s, s), dx, dy, 640, 360, 0.3, 0.5, 4)
    cx, cy = 20.5 * 4 / s, (20.5 * 4 - dy) / s
    np.testing.assert_allclose(d.boxes[0], [cx - 16 / s, cy - 32 / s, cx + 16 / s, cy + 32 / s], rtol=1e-5)
    assert np.isnan(d.angles[0]) and d.scores[0] == pytest.approx(0.9)
    out["scores"][0, 0, 2, 20] = 0.8  # near the top: the box is clipped to the frame
    d = decode(out, 4, (s, s), dx, dy, 640, 360, 0.3, 0.5, 4)
    assert len(d) == 2 and d.boxes[1, 1] == 0.0


@pytest.mark.parametrize("h, w", [(2400, 1080), (3071, 4095), (481, 641)])
def test_letterbox_maps_each_axis_back_by_its_own_scale(h, w):
    # a tall phone frame rounds its width and height to whole pixels differently
    frame = np.zeros((h, w, 3), np.uint8)
    x0, y0, bx, by = w - 3 * max(1, w // 40), h - 3 * max(1, h // 40), max(1, w // 40), max(1, h // 40)
    frame[y0:y0 + by, x0:x0 + bx] = 255
    img, (sx, sy), dx, dy = letterbox(frame, 192, 256)
    g = np.clip(img[..., 0].astype(float) - PAD_VALUE, 0, None)
    ys, xs = np.nonzero(g)
    cx, cy = (xs * g[ys, xs]).sum() / g.sum() + 0.5, (ys * g[ys, xs]).sum() / g.sum() + 0.5
    back = np.array([(cx - dx) / sx, (cy - dy) / sy])
    # within a quarter of a canvas pixel (one scale for both axes was off by 0.4–0.8 of one)
    assert (np.abs(back - [x0 + bx / 2, y0 + by / 2]) * [sx, sy]).max() < 0.25


def test_decode_caps_the_hands_it_keeps_not_those_that_take_part():
    # two peaks on one hand and a second hand: max_hands=2 must give both hands
    out = {"scores": np.zeros((1, 1, 48, 64), np.float32), "size": np.full((1, 2, 48, 64), np.log(8.0), np.float32),
           "offset": np.zeros((1, 2, 48, 64), np.float32)}
    out["scores"][0, 0, 10, 10], out["scores"][0, 0, 10, 12], out["scores"][0, 0, 30, 40] = 0.9, 0.8, 0.7
    d = decode(out, 4, (1.0, 1.0), 0.0, 0.0, 256, 192, 0.3, 0.3, 2)
    assert len(d) == 2 and d.scores.tolist() == pytest.approx([0.9, 0.7])


@pytest.mark.parametrize("h, w", [(480, 640), (721, 1281), (100, 90)])
def test_letterbox_pixels_match_an_area_resize(h, w):
    # the fast path (2× area steps + one linear step) must keep the geometry of a plain area resize
    rng = np.random.default_rng(0)
    frame = cv2.GaussianBlur(rng.integers(0, 255, (h, w, 3), dtype=np.uint8), (0, 0), 3)
    cv2.circle(frame, (w // 3, h // 2), max(3, h // 10), (255, 255, 255), -1)
    img, _, dx, dy = letterbox(frame, 192, 256)
    s = min(256 / w, 192 / h)
    nw, nh = round(w * s), round(h * s)
    ref = cv2.resize(frame, (nw, nh), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
    got = img[int(dy):int(dy) + nh, int(dx):int(dx) + nw].astype(float)
    assert np.abs(got - ref).mean() < 2.0
    assert (img[:int(dy)] == 114).all() and (img[:, :int(dx)] == 114).all()


def test_metrics_on_known_cases():
    g = [np.array([[0, 0, 10, 10], [20, 20, 30, 30]], np.float32)]
    perfect = [Detections(g[0].copy(), np.array([0.9, 0.8], np.float32), np.zeros(2, np.float32))]
    assert average_precision(perfect, g, 0.5) == (pytest.approx(1.0), pytest.approx(1.0))
    half = [Detections(np.array([[0, 0, 10, 10], [50, 50, 60, 60]], np.float32), np.array([0.9, 0.8], np.float32),
                       np.zeros(2, np.float32))]
    ap, rec = average_precision(half, g, 0.5)
    assert rec == pytest.approx(0.5) and 0.45 < ap < 0.55
    assert box_iou(g[0], g[0]).diagonal() == pytest.approx([1, 1])


@needs_model
@pytest.mark.parametrize("shape, dtype", [((480, 640), np.uint8), ((480, 640, 1), np.uint8),
                                          ((300, 200, 4), np.uint8), ((720, 1280, 3), np.float32),
                                          ((37, 1000, 3), np.uint8), ((2, 2, 3), np.uint8)])
def test_odd_frames_are_accepted(detector, shape, dtype):
    frame = np.random.default_rng(0).integers(0, 255, shape).astype(dtype)
    if dtype == np.float32:
        frame /= 255.0
    d = detector.detect(frame)
    assert d.boxes.shape == (len(d), 4) and d.boxes.dtype == np.float32
    assert len(d) <= detector.options.max_hands
    h, w = shape[:2]
    assert (d.boxes >= 0).all() and (d.boxes[:, [0, 2]] <= w).all() and (d.boxes[:, [1, 3]] <= h).all()


@needs_model
@pytest.mark.parametrize("bad", [np.zeros((0, 0, 3), np.uint8), np.zeros((1, 1, 3), np.uint8), None,
                                 np.zeros((10, 10, 5), np.uint8), np.zeros((10, 10, 3), bool), "frame.png"])
def test_bad_frames_raise_value_error(detector, bad):
    with pytest.raises(ValueError, match="frame"):
        detector.detect(bad)


def test_default_model_follows_the_backend():
    assert DetectorOptions().model_path.name == "detector.onnx"
    assert DetectorOptions(backend="torch").model_path.name == "detector.pt"  # torch cannot read an .onnx
    assert DetectorOptions(model_path="my.onnx", backend="torch").model_path == Path("my.onnx")


@needs_model
def test_batch_takes_a_4d_array_or_a_generator_and_refuses_one_frame(detector):
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 255, (3, 120, 160, 3)).astype(np.uint8)
    want = [detector.detect(f) for f in frames]
    for given in (frames, (f for f in frames)):   # a generator used to give [] silently
        got = detector.detect_batch(given)
        assert len(got) == 3 and all(np.allclose(a.boxes, b.boxes, atol=1e-3) for a, b in zip(got, want))
    for bad in (frames[0], None):                 # one frame would be read as 120 images of rows
        with pytest.raises(ValueError, match="frames: expected a list of images"):
            detector.detect_batch(bad)


def test_one_inf_pixel_does_not_change_a_float_frames_range():
    frame = np.full((8, 8, 3), 0.5, np.float32)
    frame[0, 0] = np.inf, np.nan, -np.inf
    img = as_bgr_uint8(frame)
    assert (img[1:, 1:] == 127).all() and img[0, 0].tolist() == [255, 0, 0]  # it was all black
    big = frame * 255.0
    assert (as_bgr_uint8(big)[1:, 1:] == 127).all() and as_bgr_uint8(big)[0, 0].tolist() == [255, 0, 0]


@needs_model
def test_all_black_frame_has_no_hands(detector):
    for shape in ((480, 640, 3), (360, 640, 3), (224, 224)):
        assert len(detector.detect(np.zeros(shape, np.uint8))) == 0


@needs_model
def test_finds_hands_in_hands26k_val(detector, shared_data):
    from gesturekit.io.yolo_pose import read_yolo_pose
    from gesturekit.train.detector_data import keypoint_box

    val = shared_data / "hands26k" / "val"
    samples = read_yolo_pose(val, sizes=(224, 224), limit=12)
    found = 0
    for s in samples:
        img = cv2.imread(str(s.image))
        d = detector.detect(img)
        gt = keypoint_box(s.keypoints[0])[None]
        found += int(len(d) > 0 and box_iou(gt, d.boxes).max() >= 0.5)
        # the same hand at 640×480 webcam scale, small (~1/4 of the frame)
        if s is samples[0]:
            big = np.full((480, 640, 3), 90, np.uint8)
            big[100:212, 300:412] = cv2.resize(img, (112, 112), interpolation=cv2.INTER_AREA)
            d2 = detector.detect(big)
            exp = gt * 0.5 + [300, 100, 300, 100]
            assert len(d2) and box_iou(exp, d2.boxes).max() >= 0.4, (d2, exp)
    # the shipped model finds 69% of hands26k val hands at IoU 0.5 (8 of these 12): guard against regressions
    assert found >= 7, f"found only {found} of {len(samples)} labelled hands"


@needs_model
def test_torch_and_onnx_backends_agree(detector, shared_data):
    pt = default_model("detector.pt")
    pytest.importorskip("torch")
    img = cv2.imread(str(next((shared_data / "hands26k" / "val" / "images").iterdir())))
    a = detector.detect(img)
    b = HandDetector(DetectorOptions(model_path=pt, threads=1)).detect(img)
    assert len(a) == len(b)
    np.testing.assert_allclose(a.boxes, b.boxes, atol=0.5)
    np.testing.assert_allclose(a.angles, b.angles, atol=1e-2)


# ---------------------------------------------------------------- TF SavedModel adapter


def _tiny_saved_model(path: Path) -> None:
    tf = pytest.importorskip("tensorflow")

    class Det(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([1, None, None, 3], tf.uint8, name="input_tensor")])
        def __call__(self, x):
            # two fixed boxes [ymin, xmin, ymax, xmax] normalised; class 1 = hand, class 2 = other
            return {"detection_boxes": tf.constant([[[0.1, 0.2, 0.5, 0.6], [0.0, 0.0, 0.2, 0.2],
                                                     [0.5, 0.5, 0.9, 0.9]]], tf.float32),
                    "detection_scores": tf.constant([[0.9, 0.8, 0.1]], tf.float32),
                    "detection_classes": tf.constant([[1.0, 2.0, 1.0]], tf.float32),
                    "num_detections": tf.constant([3.0], tf.float32)}

    m = Det()
    tf.saved_model.save(m, str(path), signatures={"serving_default": m.__call__})


def test_tf_saved_model_adapter(tmp_path):
    _tiny_saved_model(tmp_path / "sm")
    det = TFSavedModelDetector(tmp_path / "sm", DetectorOptions(score_threshold=0.5), hand_classes=(1,))
    d = det.detect(np.zeros((100, 200), np.uint8))
    assert len(d) == 1
    np.testing.assert_allclose(d.boxes[0], [40, 10, 120, 50], atol=1e-4)
    assert d.scores[0] == pytest.approx(0.9) and np.isnan(d.angles[0])
    assert len(TFSavedModelDetector(tmp_path / "sm", DetectorOptions(score_threshold=0.5)).detect(
        np.zeros((10, 10, 3), np.uint8))) == 2
    with pytest.raises(ModelFileError, match="no saved_model.pb"):
        TFSavedModelDetector(tmp_path)


def test_tf_missing_names_the_extra(monkeypatch, tmp_path):
    import builtins

    real = builtins.__import__

    def fake(name, *a, **k):
        if name == "tensorflow" or name.startswith("tensorflow."):
            raise ImportError("no tensorflow")
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", fake)
    with pytest.raises(ImportError, match=r"gesturekit\[tf\]"):
        TFSavedModelDetector(tmp_path)


def test_eval_detector_cli_on_both_layouts(shared_data, capsys):
    import json

    from gesturekit.cli import main

    assert main(["eval", "detector", "--data", str(shared_data / "egohands"), "--split", "val",
                 "--limit", "3", "--json"]) == 0
    ego = json.loads(capsys.readouterr().out)
    assert ego["images"] == 3 and 0.0 <= ego["ap50"] <= 1.0
    assert main(["eval", "detector", "--data", str(shared_data / "hands26k" / "val"), "--limit", "3",
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["images"] == 3


def test_tiles_find_small_boxes_and_map_them_back_to_the_frame():
    frame = np.zeros((400, 600, 3), np.uint8)
    frame[300:330, 500:530] = 255                      # small: 30 px < 0.07 × 600
    frame[185:215, 285:315] = 255                      # on the seams: whole in every tile
    det = BlobDetector()
    assert len(det.detect(frame).scores) == 0
    d = detect_tiles(det, frame, grid=2)
    assert det.calls == 1 + 4
    got = sorted(map(tuple, d.boxes.tolist()))
    assert got == [(285.0, 185.0, 315.0, 215.0), (500.0, 300.0, 530.0, 330.0)]  # once each, in frame pixels
    assert np.all(np.diff(d.scores) <= 0) and np.isnan(d.angles).all()
    frame[:] = 0
    frame[0:200, 0:300] = 255                          # big: one tile holds only part of it
    assert detect_tiles(det, frame, grid=1).boxes.tolist() == [[0.0, 0.0, 300.0, 200.0]]
    with pytest.raises(ValueError, match="grid"):
        detect_tiles(det, frame, grid=0)
    with pytest.raises(ValueError, match="overlap"):
        detect_tiles(det, frame, overlap=1.0)


def test_any_detector_output_becomes_detections():
    class Bare:  # boxes and scores only, as lists
        boxes, scores = [[1, 2, 3, 4]], [0.5]

    d = as_detections(Bare(), (10, 20))
    assert d.boxes.tolist() == [[11.0, 22.0, 13.0, 24.0]] and d.boxes.dtype == np.float32
    assert d.scores.tolist() == [0.5] and np.isnan(d.angles).all() and len(d) == 1
