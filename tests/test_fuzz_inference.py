"""The public inference API fed what a hostile (or hurried) user passes: every input gives a correct
result or one clear ValueError/TypeError that names the problem, never an OpenCV/ONNX Runtime error
from deep inside, never a hang."""

from __future__ import annotations

import types
import warnings

import numpy as np
import pytest
from fakes import FakeDetector, FakeRegressor, hand_at, set_truth

from gesturekit import draw
from gesturekit.detector import DetectorOptions, HandDetector, as_detections
from gesturekit.geometry import Crop, crop_from_box
from gesturekit.landmarks import LandmarkRegressor
from gesturekit.tracker import HandTracker, TrackerOptions
from gesturekit.types import Hand, Hands

_RNG = np.random.default_rng(0)
BASE = _RNG.integers(0, 255, (120, 160, 3), np.uint8)


def _readonly(a: np.ndarray) -> np.ndarray:
    a = a.copy()
    a.setflags(write=False)
    return a


# name → frame; each is either read (OK) or refused with an error matching the pattern
FRAMES = {
    "2x10000": (lambda: np.zeros((2, 10000, 3), np.uint8), None),
    "10000x2": (lambda: np.zeros((10000, 2, 3), np.uint8), None),
    "5000x5000": (lambda: np.zeros((5000, 5000, 3), np.uint8), None),
    "strided view": (lambda: BASE[::2, ::3], None),
    "negative strides": (lambda: BASE[::-1, ::-1], None),
    "channels reversed": (lambda: BASE[..., ::-1], None),
    "fortran order": (lambda: np.asfortranarray(BASE), None),
    "read-only": (lambda: _readonly(BASE), None),
    "int8": (lambda: BASE.astype(np.int8), None),
    "int32": (lambda: BASE.astype(np.int32), None),
    "uint16": (lambda: BASE.astype(np.uint16) * 257, None),
    "big-endian": (lambda: BASE.astype(">u2"), None),
    "float64 0..1": (lambda: BASE / 255.0, None),
    "float16": (lambda: (BASE / 255.0).astype(np.float16), None),
    "all NaN": (lambda: np.full((60, 80, 3), np.nan), None),
    "inf and -inf": (lambda: np.where(BASE > 127, np.inf, -np.inf), None),
    "beyond float32": (lambda: np.full((60, 80, 3), 1e300), None),
    "gray": (lambda: BASE[..., 0], None),
    "BGRA": (lambda: np.dstack([BASE, BASE[..., :1]]), None),
    "1x1": (lambda: np.zeros((1, 1, 3), np.uint8), "at least 2×2"),
    "1x10000": (lambda: np.zeros((1, 10000, 3), np.uint8), "at least 2×2"),
    "0 size": (lambda: np.zeros((0, 0, 3), np.uint8), "at least 2×2"),
    "0 channels": (lambda: np.zeros((10, 10, 0), np.uint8), "at least 2×2"),
    "2 channels": (lambda: np.zeros((60, 80, 2), np.uint8), "channels"),
    "bool": (lambda: BASE > 127, "dtype bool"),
    "complex": (lambda: BASE.astype(np.complex64), "dtype complex64"),
    "object": (lambda: BASE.astype(object), "dtype object"),
    "list": (lambda: BASE.tolist(), "numpy array, got list"),
    "4-d batch": (lambda: BASE[None], "H×W or H×W×C"),
    "None": (lambda: None, "None"),
}


@pytest.fixture(scope="module")
def models():
    try:
        det = HandDetector(DetectorOptions(threads=1))
        reg = LandmarkRegressor(threads=1)
    except OSError as e:  # the shipped models are missing in this build
        pytest.skip(f"shipped models not loadable: {e}")
    return types.SimpleNamespace(det=det, reg=reg, tracker=HandTracker(TrackerOptions(threads=1),
                                                                       detector=det, regressor=reg))


def _call(models, api: str, frame):
    if api == "detect":
        return models.det.detect(frame)
    if api == "predict":
        return models.reg.predict(frame, [crop_from_box(np.array([0, 0, 50, 50], np.float32), 1.3)])
    if api == "process static":
        return models.tracker.process(frame)
    models.tracker.reset()
    return [models.tracker.process(frame, t) for t in (0.0, 33.0)]


@pytest.mark.parametrize("api", ["detect", "predict", "process static", "process video"])
@pytest.mark.parametrize("name", list(FRAMES))
def test_every_frame_is_read_or_refused_by_name(models, api, name):
    make, refused = FRAMES[name]
    frame = make()
    if refused is not None:
        with pytest.raises(ValueError, match=f"frame: .*{refused}"):
            _call(models, api, frame)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("error")      # no RuntimeWarning from a cast (float64 beyond float32)
        out = _call(models, api, frame)
    h, w = np.shape(frame)[:2]
    if api == "detect":
        assert np.isfinite(out.boxes).all() and (out.boxes >= 0).all() and (out.boxes[:, [0, 2]] <= w).all()
    elif api == "predict":
        assert out[0].shape == (1, 21, 2) and np.isfinite(out[0]).all() and np.isfinite(out[1]).all()
    else:
        for hands in out if isinstance(out, list) else [out]:
            assert hands.image_size == (w, h) and np.isfinite(hands.xy).all()


@pytest.mark.parametrize("ts,match", [(float("nan"), "finite"), (float("inf"), "finite"), (True, "number"),
                                      ("12", "number"), ([40], "number"), (np.array([5.0]), "number"),
                                      (10.0, "not after"), (-5.0, "not after")])
def test_a_bad_timestamp_is_refused_and_not_counted(ts, match):
    tr = HandTracker(TrackerOptions(presence_model=""), detector=FakeDetector(), regressor=FakeRegressor())
    tr.process(BASE, 10.0)
    with pytest.raises(ValueError, match=f"timestamp_ms: .*{match}"):
        tr.process(BASE, ts)
    assert tr.stats["frames"] == 1
    assert len(tr.process(BASE, np.float32(20.0))) == 0 and len(tr.process(BASE, np.int64(30))) == 0


def test_a_timestamp_is_checked_before_the_frame_is_converted():
    tr = HandTracker(TrackerOptions(presence_model=""), detector=FakeDetector(), regressor=FakeRegressor())
    with pytest.raises(ValueError, match="timestamp_ms"):
        tr.process(np.zeros((1, 1, 3), np.uint8), "now")


# --- what a detector of your own may return ---------------------------------------------------------

class _Returns:
    def __init__(self, **out):
        self.out = out

    def detect(self, frame):
        return types.SimpleNamespace(**self.out)


@pytest.mark.parametrize("out", [
    dict(boxes=np.zeros((1, 5)), scores=[0.9], angles=[0.0]),
    dict(boxes=np.zeros((2, 4)), scores=[0.9], angles=[0.0]),          # used to fail inside cv2.dnn.NMSBoxes
    dict(boxes=np.zeros((1, 4)), scores=[0.9], angles=[0.0, 1.0]),
    dict(boxes=np.zeros((1, 4)), scores=["high"], angles=[0.0]),
    dict(boxes=None, scores=None),
    dict(scores=[0.9]),
])
def test_a_detector_output_of_the_wrong_shape_is_named(out):
    tr = HandTracker(TrackerOptions(presence_model=""), detector=_Returns(**out), regressor=FakeRegressor())
    for ts in (None, 0.0):
        with pytest.raises(ValueError, match="detector output"):
            tr.process(BASE, ts)


def test_one_box_as_a_flat_list_is_still_a_box():
    d = as_detections(types.SimpleNamespace(boxes=[1, 2, 3, 4], scores=[0.5]))
    assert d.boxes.shape == (1, 4) and len(d) == 1


@pytest.mark.parametrize("box", [[230, 60, 330, 140], [-1e9, -1e9, -1e9 + 80, -1e9 + 80],
                                 [np.nan, 0, 50, 50], [50, 50, 0, 0]])
def test_a_box_outside_the_frame_finds_no_hand_there(box):
    """A detector of your own that does not clip: a hand wholly right of a 200 px frame was 'found'
    at x ≈ 280, from the padding of a crop beyond the picture."""
    reg = FakeRegressor()
    reg.truth = [hand_at(280, 100, size=80)]
    det = _Returns(boxes=np.array([box], np.float32), scores=[0.9], angles=[0.0])
    tr = HandTracker(TrackerOptions(presence_model="", frame_candidate=False), detector=det, regressor=reg)
    assert len(tr.process(np.zeros((200, 200, 3), np.uint8))) == 0
    assert [len(tr.process(np.zeros((200, 200, 3), np.uint8), t)) for t in (0.0, 33.0)] == [0, 0]


@pytest.mark.parametrize("x2", [1e6, np.inf])
def test_a_box_partly_outside_is_read_inside_the_frame(x2):
    # an infinite side used to reach the regressor as an unusable crop (a ValueError on every frame)
    det, reg = FakeDetector(), FakeRegressor()
    set_truth(det, reg, [hand_at(100, 100, size=80)])
    det.detect = lambda frame: types.SimpleNamespace(boxes=np.float32([[50, 50, x2, 150]]), scores=[0.9])
    tr = HandTracker(TrackerOptions(presence_model="", frame_candidate=False, acquire_zooms=(1.0, 1.6)),
                     detector=det, regressor=reg)
    assert len(tr.process(np.zeros((200, 200, 3), np.uint8))) == 1
    assert [len(tr.process(np.zeros((200, 200, 3), np.uint8), t)) for t in (0.0, 33.0)] == [1, 1]


# --- options --------------------------------------------------------------------------------------

@pytest.mark.parametrize("field,value", [("max_hands", True), ("score_threshold", "0.2"),
                                         ("score_threshold", None), ("nms_iou", "0.5"), ("threads", 10**6),
                                         ("model_path", 5)])
def test_detector_options_name_the_bad_field(field, value):
    with pytest.raises(ValueError, match=field):
        DetectorOptions(**{field: value})


@pytest.mark.parametrize("field,value", [("threads", 10**6), ("threads", True), ("keypoint_model", 5),
                                         ("detector_model", ["a.onnx"]), ("acquire_zooms", (True,))])
def test_tracker_options_name_the_bad_field(field, value):
    with pytest.raises(ValueError, match=field):
        TrackerOptions(**{field: value})


def test_a_huge_max_hands_is_only_a_limit(models):
    # OpenCV's NMS takes top_k as a C int: 10**10 failed there ("integer won't fit into a C int")
    det = HandDetector(DetectorOptions(max_hands=10**10, threads=1))
    assert len(det.detect(BASE)) == len(HandDetector(DetectorOptions(max_hands=1000, threads=1)).detect(BASE))


# --- crops --------------------------------------------------------------------------------------

@pytest.mark.parametrize("crops,error,match", [
    (None, TypeError, "crops: expected a sequence of Crop, got NoneType"),
    ("crop", TypeError, "crops: expected a sequence of Crop, got str"),
    ([Crop("50", 50, 50, 0.0)], ValueError, r"crops\[0\]: not a usable crop"),
    ([Crop(50, 50, np.nan, 0.0)], ValueError, r"crops\[0\]: not a usable crop"),
    ([Crop(50, 50, 1.0, 0.0)], ValueError, r"crops\[0\]: not a usable crop"),
    ([(50, 50, 50, 0.0)], TypeError, r"crops\[0\]: expected a gesturekit.geometry.Crop"),
])
def test_a_bad_crop_is_named(models, crops, error, match):
    with pytest.raises(error, match=match):
        models.reg.predict(BASE, crops)


@pytest.mark.parametrize("crop", [Crop(1e6, 1e6, 50, 0.0), Crop(-500, -500, 80, 1e20), Crop(80, 60, 1e12, 0.0),
                                  Crop(np.float32(80), np.array(60.0), 50, 0)])
def test_a_crop_off_the_frame_or_of_numpy_numbers_is_read(models, crop):
    kp, conf = models.reg.predict(BASE, [crop])
    assert kp.shape == (1, 21, 2) and np.isfinite(kp).all() and np.isfinite(conf).all()


# --- drawing what came back (or what a user built) ----------------------------------------------------

def _hand(kp, box=(0, 0, 10, 10), **kw):
    kp = np.asarray(kp, np.float32)
    return Hand(kp, np.ones(len(kp), np.float32), np.asarray(box, np.float32), 0.9, (160, 120), track_id=1,
                gesture="pinch", **kw)


@pytest.mark.parametrize("hand", [
    _hand(np.full((21, 2), 1e30)),                    # cv2 could not parse the point
    _hand(np.full((21, 2), -1e10)),
    _hand(np.full((21, 2), np.nan), box=(np.nan,) * 4),
    _hand(_RNG.uniform(0, 100, (21, 2)), box=(-1e30, 0, 1e30, 1e10)),
])
def test_any_hand_can_be_drawn(hand):
    for hands in (Hands([hand], (160, 120)), [hand], hand):
        out = draw.annotate(BASE, hands)
        assert out.shape == BASE.shape


def test_a_hand_whose_points_do_not_fit_its_layout_is_named():
    with pytest.raises(ValueError, match=r"hands\[0\]: 12 keypoints, but its layout 'hand21' has 21"):
        draw.annotate(BASE, [_hand(_RNG.uniform(0, 100, (12, 2)))])
    with pytest.raises(TypeError, match="hands: expected Hands"):
        draw.annotate(BASE, None)
