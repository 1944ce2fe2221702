import threading
import time
import tracemalloc
from pathlib import Path

import cv2
import numpy as np
import pytest
from fakes import BlobDetector, Dets, FakeDetector, FakeRegressor, hand_at, pretend_gpu, set_truth

from gesturekit.geometry import box_of, iou
from gesturekit.sources import ArraySource
from gesturekit.tracker import HandTracker, TrackerOptions


def make_tracker(**kw):
    det, reg = FakeDetector(), FakeRegressor(noise=kw.pop("noise", 0.0))
    kw.setdefault("presence_model", "")  # gate on the fakes' keypoint confidence, not a shipped model
    tr = HandTracker(TrackerOptions(**kw), detector=det, regressor=reg)
    return tr, det, reg


# --- options ------------------------------------------------------------------------------------

@pytest.mark.parametrize("field,value", [("max_hands", 0), ("min_detection_confidence", 1.5),
                                         ("device", "tpu"), ("backend", "tf"), ("smoothing", "kalman"),
                                         ("detect_interval", 0), ("crop_scale", -1), ("threads", 0),
                                         ("beta", float("nan")), ("acquire_zooms", ()),
                                         ("acquire_zooms", (1.0, -2.0)), ("min_presence_confidence", -0.1),
                                         ("coast_ms", -1), ("coast_ms", float("inf")),
                                         ("static_tiles", 0), ("static_tiles", True), ("clutter_every", 0)])
def test_options_name_the_bad_field(field, value):
    with pytest.raises(ValueError, match=field):
        TrackerOptions(**{field: value})


class SmallBoxDetector(FakeDetector):
    """Boxes big hands too small and off-centre, as the shipped detector does on close-ups."""

    def detect(self, frame):
        d = super().detect(frame)
        for b in d.boxes:
            cx, cy, side = b[0] + 0.25 * (b[2] - b[0]), (b[1] + b[3]) / 2, 0.4 * (b[2] - b[0])
            b[:] = [cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2]
        return d


@pytest.mark.parametrize("zooms,found", [((1.0,), False), ((1.0, 1.6), True)])
def test_a_wider_acquisition_crop_rescues_a_hand_boxed_too_small(zooms, found):
    det, reg = SmallBoxDetector(), FakeRegressor()
    tr = HandTracker(TrackerOptions(acquire_zooms=zooms, presence_model="", frame_candidate=False),
                     detector=det, regressor=reg)
    set_truth(det, reg, [hand_at(100, 100, size=80)])
    assert (len(tr.process(np.zeros((200, 200, 3), np.uint8))) == 1) == found


@pytest.mark.parametrize("model,zooms,found", [
    (None, None, True),                             # a regressor that names no file: the shipped widths
    ("shipped", None, True),                        # the shipped model: (1.0, 1.6)
    ("my12.onnx", None, False),                     # a model of your own: its own width only
    ("my12.onnx", (1.0, 1.6), True),                # ... unless the wider one is asked for
])
def test_the_acquisition_widths_follow_the_keypoint_model(model, zooms, found):
    """A small custom model can be confident and wrong on the wider crop (docs/layouts.md), so
    acquire_zooms None gives (1.0, 1.6) for the shipped model only."""
    from gesturekit.runtime import default_model

    det, reg = SmallBoxDetector(), FakeRegressor()
    if model is not None:
        reg.path = default_model("keypoints.onnx") if model == "shipped" else Path(model)
    tr = HandTracker(TrackerOptions(acquire_zooms=zooms, presence_model="", frame_candidate=False),
                     detector=det, regressor=reg)
    assert tr.acquire_zooms == ((1.0,) if model == "my12.onnx" and zooms is None else (1.0, 1.6))
    set_truth(det, reg, [hand_at(100, 100, size=80)])
    assert (len(tr.process(np.zeros((200, 200, 3), np.uint8))) == 1) == found


def test_the_shipped_regressor_keeps_the_wider_acquisition_crop():
    from gesturekit.landmarks import LandmarkRegressor
    from gesturekit.tracker import model_zooms

    assert model_zooms(LandmarkRegressor(_keypoint_model(), threads=1)) == (1.0, 1.6)


class BlindDetector(FakeDetector):
    """Sees nothing, as the shipped detector on a hand that fills the frame."""

    def detect(self, frame):
        self.calls += 1
        return Dets(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0))


@pytest.mark.parametrize("on", [True, False])
def test_the_whole_frame_is_read_when_the_detector_finds_nothing(on):
    det, reg = BlindDetector(), FakeRegressor()
    frame = np.zeros((240, 320, 3), np.uint8)
    tr = HandTracker(TrackerOptions(presence_model="", frame_candidate=on), detector=det, regressor=reg)
    set_truth(det, reg, [hand_at(160, 120, size=200)])
    assert len(tr.process(frame)) == (1 if on else 0)
    hands = [tr.process(frame, 33.0 * i) for i in range(3)]
    assert [len(h) for h in hands] == ([1, 1, 1] if on else [0, 0, 0])
    if on:
        assert len({h[0].track_id for h in hands}) == 1
    set_truth(det, reg, [])                                   # an empty scene stays empty
    assert len(HandTracker(TrackerOptions(presence_model=""), detector=det, regressor=reg).process(frame)) == 0


@pytest.mark.parametrize("tiles", [1, 2])
def test_a_photo_with_no_hand_found_is_searched_again_in_tiles(tiles):
    frame = np.zeros((480, 640, 3), np.uint8)
    truth = hand_at(480, 330, size=36)
    x1, y1, x2, y2 = box_of(truth).round().astype(int)
    frame[y1:y2, x1:x2] = 255                          # too small for the detector in the whole frame
    det, reg = BlobDetector(), FakeRegressor()
    reg.truth = [truth]
    tr = HandTracker(TrackerOptions(presence_model="", frame_candidate=False, static_tiles=tiles),
                     detector=det, regressor=reg)
    hands = tr.process(frame)
    assert len(hands) == (1 if tiles == 2 else 0)
    if hands:
        assert iou(hands[0].box, box_of(truth)) > 0.9
    det.calls = 0
    assert [len(tr.process(frame, 33.0 * i)) for i in range(3)] == [0, 0, 0]  # video: never in tiles
    assert det.calls == 3


def test_the_whole_frame_is_read_at_every_width_in_a_photo_and_at_its_own_in_video():
    det, reg = BlindDetector(), FakeRegressor()
    widths = []
    predict = reg.predict
    reg.predict = lambda frame, crops: (widths.append(len(crops)), predict(frame, crops))[1]
    tr = HandTracker(TrackerOptions(presence_model="", acquire_zooms=(1.0, 1.6)), detector=det, regressor=reg)
    frame = np.zeros((240, 320, 3), np.uint8)
    tr.process(frame)           # an empty scene: one hopeless reading per width, nothing more
    assert widths == [2]
    widths.clear()
    tr.process(frame, 0.0)
    assert widths == [1]


def test_an_unsure_box_is_turned_at_every_width_in_a_photo_and_at_its_best_in_video():
    det, reg = FakeDetector(), FakeRegressor()
    crops = []
    predict = reg.predict

    def unsure(frame, cr):  # every reading unsure, so every box is turned
        crops.append(len(cr))
        kp, _ = predict(frame, cr)
        return kp, np.full(kp.shape[:2], 0.25, np.float32)

    reg.predict = unsure
    set_truth(det, reg, [hand_at(160, 120, size=80)])
    tr = HandTracker(TrackerOptions(presence_model="", acquire_zooms=(1.0, 1.6), frame_candidate=False,
                                    static_tiles=1), detector=det, regressor=reg)
    frame = np.zeros((240, 320, 3), np.uint8)
    tr.process(frame)
    assert crops[:2] == [2, 2 * 3]              # both widths, then both widths × 3 more turns
    crops.clear()
    tr.process(frame, 0.0)
    assert crops[:2] == [2, 3]                  # then 3 more turns at the better width


# --- video mode -----------------------------------------------------------------------------------

def test_tracking_runs_detector_only_when_needed():
    tr, det, reg = make_tracker(max_hands=1)
    frame = np.zeros((120, 160, 3), np.uint8)
    for i in range(30):
        set_truth(det, reg, [hand_at(60 + i, 60)])
        hands = tr.process(frame, i * 33.3)
        assert len(hands) == 1 and hands[0].track_id == 0
    assert det.calls == 1       # found once, then followed from its own keypoints
    np.testing.assert_allclose(hands[0].keypoints, hand_at(89, 60), atol=8)   # smoothed, small lag
    assert hands[0].handedness in ("left", "right") and 0.5 <= hands[0].handedness_score <= 1


def test_second_hand_searched_at_most_every_n_frames():
    tr, det, reg = make_tracker(max_hands=2, detect_interval=5)
    frame = np.zeros((120, 200, 3), np.uint8)
    for i in range(20):
        set_truth(det, reg, [hand_at(50, 60)])
        tr.process(frame, i * 33.3)
    assert det.calls == 4       # frame 0, then every 5th frame while one hand is missing


def test_two_crossing_hands_keep_their_ids():
    tr, det, reg = make_tracker(max_hands=2, noise=0.5)
    frame = np.zeros((160, 320, 3), np.uint8)
    ids_seen = set()
    for i in range(60):
        a, b = hand_at(40 + 4 * i, 70), hand_at(280 - 4 * i, 90)    # pass through each other
        set_truth(det, reg, [a, b])
        hands = tr.process(frame, i * 33.3)
        assert len(hands) == 2
        by_id = {h.track_id: h for h in hands}
        ids_seen |= set(by_id)
        # id 0 started on the left hand (a) and must still be on it after the crossing
        assert np.linalg.norm(by_id[0].keypoints.mean(0) - a.mean(0)) < 15
        assert np.linalg.norm(by_id[1].keypoints.mean(0) - b.mean(0)) < 15
    assert ids_seen == {0, 1}


def _along_thumb(hand):
    """21 points spread along ``hand``'s thumb, wrist to tip, a pixel or two off it: the thumb read as a hand."""
    chain = hand[[0, 1, 2, 3, 4]]
    t = np.linspace(0, 4, 21)
    i = np.minimum(t.astype(int), 3)
    return chain[i] + (t - i)[:, None] * (chain[i + 1] - chain[i]) + np.float32([1.5, 0])


def test_a_track_lying_along_another_hands_thumb_is_dropped_as_part_of_it():
    # ali's thumbs-up: the track followed the hand down to its thumb, then the detector found the
    # whole hand; the thin older track is the part, the whole hand the hand
    tr, det, reg = make_tracker(max_hands=2, detect_interval=1)
    frame = np.zeros((200, 320, 3), np.uint8)
    full = hand_at(160, 100, 100)
    set_truth(det, reg, [_along_thumb(full)])
    assert [h.track_id for h in tr.process(frame, 0)] == [0]
    set_truth(det, reg, [full, _along_thumb(full)])
    for i in range(1, 6):
        hands = tr.process(frame, 33.3 * i)
        assert [h.track_id for h in hands] == [1]
        assert np.abs(hands[0].keypoints - full).max() < 1.0


def test_lost_hand_found_again_nearby_keeps_its_id_and_far_away_gets_a_new_one():
    tr, det, reg = make_tracker(max_hands=1, lost_id_ttl_ms=500)
    frame = np.zeros((120, 300, 3), np.uint8)
    set_truth(det, reg, [hand_at(60, 60)])
    assert tr.process(frame, 0)[0].track_id == 0
    set_truth(det, reg, [])
    assert len(tr.process(frame, 33)) == 0
    set_truth(det, reg, [hand_at(62, 60)])
    assert tr.process(frame, 66)[0].track_id == 0
    set_truth(det, reg, [])
    tr.process(frame, 100)
    set_truth(det, reg, [hand_at(230, 60)])
    assert tr.process(frame, 133)[0].track_id == 1


class UnsureRegressor(FakeRegressor):
    """Reads the hand with mean confidence ``conf`` instead of 0.9 (blur, a fist from the knuckles),
    except from crops wider than ``sure_wider`` × the hand (the detector's widest acquisition crop)."""

    def __init__(self, conf=0.9, sure_wider=np.inf):
        super().__init__()
        self.conf, self.sure_wider = conf, sure_wider

    def predict(self, frame, crops):
        kp, c = super().predict(frame, crops)
        for i, crop in enumerate(crops):
            side = float(np.ptp(kp[i], 0).max())
            if c[i].mean() > 0.5 and crop.size <= self.sure_wider * side:
                c[i] = self.conf
        return kp, c


def _unsure_tracker(**kw):
    det, reg = FakeDetector(), UnsureRegressor()
    kw.setdefault("frame_candidate", False)   # only the detector and the track find the hand
    kw.setdefault("max_hands", 1)
    tr = HandTracker(TrackerOptions(presence_model="", **kw), detector=det, regressor=reg)
    return tr, det, reg


@pytest.mark.parametrize("coast_ms,coast", [(0, 0), (120, 4)])    # frames 33.3 ms apart
def test_an_unsure_hand_coasts_for_coast_ms_then_is_lost(coast_ms, coast):
    tr, det, reg = _unsure_tracker(coast_ms=coast_ms)
    frame = np.zeros((120, 160, 3), np.uint8)
    set_truth(det, reg, [hand_at(60, 60)])
    assert tr.process(frame, 0)[0].track_id == 0
    det.truth = []                  # the detector no longer boxes it, the regressor reads it unsurely
    reg.conf = 0.15                 # under min_tracking_confidence (0.2), over half of it
    seen = [len(tr.process(frame, 33.3 * i)) for i in range(1, coast + 3)]
    assert seen == [1] * coast + [0, 0]


@pytest.mark.parametrize("first,then", [
    (0.9, 0.09),     # read surely, then under half the tracking confidence: lost at once
    (0.25, 0.15),    # found (gate 0.2) but never 1.5 × 0.2, then unsure: a doubtful hand does not coast
])
def test_an_unsure_reading_is_lost_at_once_when_it_may_not_coast(first, then):
    tr, det, reg = _unsure_tracker(coast_ms=300)
    frame = np.zeros((120, 160, 3), np.uint8)
    reg.conf = first
    set_truth(det, reg, [hand_at(60, 60)])
    assert len(tr.process(frame, 0)) == 1
    det.truth, reg.conf = [], then
    assert len(tr.process(frame, 33.3)) == 0


def test_a_hand_found_again_where_it_was_lost_keeps_its_record_and_may_coast():
    tr, det, reg = _unsure_tracker(coast_ms=300)
    frame = np.zeros((120, 160, 3), np.uint8)
    set_truth(det, reg, [hand_at(60, 60)])
    assert tr.process(frame, 0)[0].track_id == 0            # read surely once (0.9)
    truth, det.truth, reg.conf = det.truth, [], 0.05
    assert len(tr.process(frame, 33.3)) == 0                 # lost at once
    det.truth, reg.conf = truth, 0.25                        # found again, doubtful (under 1.5 × 0.2)
    assert tr.process(frame, 66.6)[0].track_id == 0
    det.truth, reg.conf = [], 0.15
    assert [h.track_id for h in tr.process(frame, 99.9)] == [0]   # coasts: the hand's record counts


def test_a_coasting_hand_holds_its_last_sure_gesture():
    class Counting:                 # a new gesture name at every call
        calls = 0

        def recognize(self, kp, side):
            self.calls += 1
            return type("R", (), {"name": f"g{self.calls}", "score": 0.9})()

    det, reg = FakeDetector(), UnsureRegressor()
    tr = HandTracker(TrackerOptions(max_hands=1, presence_model="", frame_candidate=False, coast_ms=300),
                     detector=det, regressor=reg, recognizer=Counting())
    frame = np.zeros((120, 160, 3), np.uint8)
    set_truth(det, reg, [hand_at(60, 60)])
    assert [tr.process(frame, 33.3 * i)[0].gesture for i in range(2)] == ["g1", "g2"]
    det.truth, reg.conf = [], 0.15  # unsure from now on: no new gesture, the last one held
    assert [tr.process(frame, 33.3 * i)[0].gesture for i in range(2, 5)] == ["g2"] * 3
    reg.conf = 0.9
    assert tr.process(frame, 33.3 * 5)[0].gesture == "g3"


def test_a_coasting_hand_is_read_again_from_the_detector_box_and_keeps_its_id():
    # tracking crops (1.5 × the hand) read it unsurely; the detector's wider crop reads it surely
    tr, det, reg = _unsure_tracker(coast_ms=100, max_hands=2)   # room for a second track beside it
    reg.sure_wider, reg.conf = 2.0, 0.15
    frame = np.zeros((120, 200, 3), np.uint8)
    for i in range(12):             # longer than coast_ms: each re-read starts it again
        set_truth(det, reg, [hand_at(60 + i, 60)])
        hands = tr.process(frame, 33.3 * i)
        assert [h.track_id for h in hands] == [0]
        assert hands[0].confidence.mean() > 0.5     # the detector's reading replaced the unsure one
    assert det.calls == 12          # the detector looks every frame while fewer than 2 hands are sure


def test_timestamps_must_increase():
    tr, _, _ = make_tracker()
    frame = np.zeros((64, 64, 3), np.uint8)
    tr.process(frame, 100)
    with pytest.raises(ValueError, match="timestamp_ms: 50 is not after the previous frame's 100"):
        tr.process(frame, 50)
    with pytest.raises(ValueError, match="timestamp_ms"):
        tr.process(frame, float("nan"))
    for wrong in ("200", True, [200]):
        with pytest.raises(ValueError, match="is not a number of milliseconds"):
            tr.process(frame, wrong)
    tr.process(frame, np.int64(200))
    tr.reset()
    tr.process(frame, 50)


def test_static_mode_detects_every_time_without_ids():
    tr, det, reg = make_tracker(max_hands=2)
    frame = np.zeros((120, 200, 3), np.uint8)
    set_truth(det, reg, [hand_at(50, 60), hand_at(150, 60)])
    for _ in range(3):
        hands = tr.process(frame)
        assert len(hands) == 2 and hands.timestamp_ms is None
        assert all(h.track_id is None for h in hands)
    assert det.calls == 3
    np.testing.assert_allclose(hands.xy[0], hand_at(50, 60), atol=1e-4)   # no smoothing


class _Presence:
    def prob(self, kp, conf, det_scores):
        return np.full(len(kp), 0.7, np.float32)


class _FaintDetector(FakeDetector):
    def detect(self, frame):
        d = super().detect(frame)
        d.scores[:] = 0.3
        return d


def test_score_is_presence_when_found_then_keypoint_confidence_while_followed():
    det, reg = _FaintDetector(), FakeRegressor()        # keypoint confidence 0.9
    tr = HandTracker(TrackerOptions(), detector=det, regressor=reg, presence=_Presence())
    set_truth(det, reg, [hand_at(100, 60)])
    frame = np.zeros((120, 200, 3), np.uint8)
    assert [h.score for h in tr.process(frame)] == pytest.approx([0.7])          # a photo: P(hand)
    assert [h.score for h in tr.process(frame, 0.0)] == pytest.approx([0.7])     # found in video
    assert [h.score for h in tr.process(frame, 33.0)] == pytest.approx([0.9])    # followed


@pytest.mark.parametrize("max_hands", [1, 2])
def test_the_shipped_detector_gives_one_candidate_more_than_max_hands(max_hands):
    """candidates() weighs max_hands + 1 boxes (a face can outscore a hand); a detector capped at
    max_hands hid the third, which was the labelled hand in 2 % of hands26k val photos."""
    from gesturekit.tracker import SPARE_BOXES, _default_detector

    assert SPARE_BOXES >= 1
    assert _default_detector(TrackerOptions(max_hands=max_hands)).options.max_hands == max_hands + SPARE_BOXES


def test_truncated_helper_models_leave_a_working_tracker(tmp_path, monkeypatch, caplog):
    """A shipped presence gate or gesture MLP cut short (a failed copy) turns that helper off
    with a warning naming the file; the tracker still finds hands. It crashed on BadZipFile."""
    import shutil

    from gesturekit.runtime import MODELS_DIR

    shutil.copytree(MODELS_DIR, tmp_path / "models", ignore=shutil.ignore_patterns("*.pt"))
    for name in ("presence.npz", "gesture_mlp_e2e.npz"):
        f = tmp_path / "models" / name
        f.write_bytes(f.read_bytes()[: f.stat().st_size // 2])
    monkeypatch.setenv("GESTUREKIT_MODELS", str(tmp_path / "models"))
    with caplog.at_level("WARNING"), HandTracker(TrackerOptions(handedness_model="")) as tr:
        assert tr.presence is None and tr.recognizer is None
        tr.process(np.zeros((120, 160, 3), np.uint8))
    assert "presence.npz" in caplog.text and "gesture_mlp_e2e.npz" in caplog.text


def test_backend_torch_runs_the_shipped_pt_files():
    pytest.importorskip("torch")
    with HandTracker(TrackerOptions(backend="torch", handedness_model="", gestures=False)) as tr:
        assert (tr.detector.runner.path.suffix, tr.regressor.runner.path.suffix) == (".pt", ".pt")
        tr.process(np.zeros((120, 160, 3), np.uint8))


@pytest.mark.parametrize("device", ["cpu", "auto"])
def test_the_handedness_model_runs_where_the_tracker_was_told(monkeypatch, device):
    # a GPU that only torch reaches: device="cpu" kept the detector and the regressor on ONNX
    # Runtime, but the handedness model went to torch (and the GPU), importing torch for it
    torch = pretend_gpu(monkeypatch)
    to_cuda = []
    monkeypatch.setattr(torch.nn.Module, "to", lambda self, *a, **k: to_cuda.append(a) or self)
    with HandTracker(TrackerOptions(device=device, presence_model="", gestures=False)) as tr:
        suffixes = {tr.detector.runner.path.suffix, tr.regressor.runner.path.suffix,
                    tr.handedness.runner.path.suffix}
    assert suffixes == ({".onnx"} if device == "cpu" else {".pt"})
    assert not to_cuda if device == "cpu" else all(a == ("cuda",) for a in to_cuda)


def test_the_default_models_do_not_spin_wait(monkeypatch):
    """The detector and the regressor take turns on the same cores: ONNX Runtime threads left
    spinning after one run took the cores from the other (static mode 41 → 30 ms per photo)."""
    from gesturekit.runtime import Runner

    seen, load = {}, Runner.load.__func__

    def spy(cls, path, *a, task=None, spin_wait=True, **k):
        seen[task] = spin_wait
        return load(cls, path, *a, task=task, spin_wait=spin_wait, **k)

    monkeypatch.setattr(Runner, "load", classmethod(spy))
    HandTracker(TrackerOptions(presence_model="", handedness_model="", gestures=False)).close()
    assert seen == {"keypoints": False, "detector": False}


def test_mirror_swaps_handedness():
    kp = hand_at(60, 60, 80)
    sides = []
    for mirror in (False, True):
        tr, det, reg = make_tracker(max_hands=1, mirror=mirror)
        set_truth(det, reg, [kp])
        sides.append(tr.process(np.zeros((120, 120, 3), np.uint8))[0].handedness)
    assert sides[0] in ("left", "right") and sides[1] == {"left": "right", "right": "left"}[sides[0]]


@pytest.mark.parametrize("frame,ok", [
    (None, False), (np.zeros((0, 0, 3), np.uint8), False), (np.zeros((8, 8, 3), bool), False),
    ("frame.png", False), (np.zeros((64, 64), np.uint8), True), (np.zeros((64, 64, 4), np.uint8), True),
    (np.zeros((64, 64, 3), np.float32), True), (np.zeros((64, 64, 3), np.uint16), True),
    (np.zeros((3000, 4000, 3), np.uint8), True)])
def test_bad_frames_are_refused_or_handled(frame, ok):
    tr, _, _ = make_tracker()
    if ok:
        hands = tr.process(frame, 0.0)
        assert hands.image_size == (frame.shape[1], frame.shape[0]) and len(hands) == 0
    else:
        with pytest.raises(ValueError, match="frame"):
            tr.process(frame, 0.0)


def test_a_16_bit_frame_is_scaled_to_8_bits_not_saturated():
    from gesturekit.images import as_bgr_uint8

    img = np.random.default_rng(0).integers(0, 256, (24, 32, 3), dtype=np.uint8)
    np.testing.assert_array_equal(as_bgr_uint8(img.astype(np.uint16) * 257), img)   # 0..65535
    np.testing.assert_array_equal(as_bgr_uint8(img.astype(np.uint16)), img)         # 0..255 kept


@pytest.mark.parametrize("shape", [(2, 2), (2, 3, 3), (3, 2, 4)])
def test_the_smallest_frames_pass_every_static_step(shape):
    tr, _, _ = make_tracker()                 # the fakes find nothing: boxes, whole frame, then tiles
    assert len(tr.process(np.zeros(shape, np.uint8))) == 0
    with pytest.raises(ValueError, match="at least 2×2"):
        tr.process(np.zeros((1, 5, 3), np.uint8))


# --- stream / live ----------------------------------------------------------------------------------

def test_stream_yields_every_frame():
    tr, det, reg = make_tracker(max_hands=1)
    set_truth(det, reg, [hand_at(40, 40, 40)])
    out = list(tr.stream(ArraySource([np.zeros((80, 80, 3), np.uint8)] * 7)))
    assert len(out) == 7 and all(len(h) == 1 for _, h in out)
    assert [h.timestamp_ms for _, h in out] == pytest.approx([i * 1000 / 30 for i in range(7)])


def _numbered_frames(n, produced, delay=0.001):
    for i in range(n):
        f = np.zeros((32, 32, 3), np.uint8)
        f[0, 0, 0], f[0, 0, 1] = i % 256, i // 256
        produced.append(i)
        time.sleep(delay)
        yield f


class SlowRegressor(FakeRegressor):
    def predict(self, frame, crops):
        time.sleep(0.01)
        return super().predict(frame, crops)


def test_live_mode_serves_the_newest_frame_and_survives_a_raising_callback(monkeypatch):
    from gesturekit.sources import LatestFrameReader

    det, reg = FakeDetector(), SlowRegressor()
    set_truth(det, reg, [hand_at(16, 16, 20)])
    tr = HandTracker(TrackerOptions(max_hands=1), detector=det, regressor=reg)
    produced, seen, lags = [], [], []

    read = LatestFrameReader.read

    def read_and_measure(self, timeout=None):
        item = read(self, timeout)
        if item is not None:   # how far behind the source is the frame handed to the tracker
            lags.append(produced[-1] - (int(item[0][0, 0, 0]) + 256 * int(item[0][0, 0, 1])))
        return item

    monkeypatch.setattr(LatestFrameReader, "read", read_and_measure)

    def callback(frame, hands):
        seen.append(int(frame[0, 0, 0]) + 256 * int(frame[0, 0, 1]))
        assert tr._live.reader.pending <= 1
        raise RuntimeError("user bug")   # must be logged, not stop the stream

    tr.start_live(ArraySource(_numbered_frames(300, produced)), callback)
    deadline = time.monotonic() + 20
    while tr.running and time.monotonic() < deadline:
        time.sleep(0.02)
    tr.close()
    assert tr.live_error is None
    assert len(seen) > 10 and seen == sorted(seen) and seen[-1] == 299
    assert max(lags) <= 2              # never more than one stale frame waiting
    assert len(seen) < 300             # frames that came while busy were dropped, not queued


def test_close_never_hangs_on_a_blocked_source():
    block = threading.Event()

    def gen():
        yield np.zeros((16, 16, 3), np.uint8)
        block.wait(60)

    tr, _, _ = make_tracker()
    tr.start_live(ArraySource(gen()), lambda f, h: None)
    time.sleep(0.2)
    t0 = time.monotonic()
    with tr:
        pass                            # __exit__ → close()
    assert time.monotonic() - t0 < 5
    block.set()


def test_a_worker_that_outlived_stop_does_not_feed_the_next_live_session():
    def tagged(tag, n):
        for _ in range(n):
            time.sleep(0.005)
            yield np.full((16, 16, 3), tag, np.uint8)

    tr, _, _ = make_tracker()
    old_calls, new_tags, busy = [], [], threading.Event()

    def slow(frame, hands):             # a callback slower than stop()'s timeout
        old_calls.append(1)
        busy.set()
        time.sleep(1.0)

    tr.start_live(ArraySource(tagged(1, 10**6)), slow)
    assert busy.wait(5)
    tr.stop(timeout=0.2)
    tr.start_live(ArraySource(tagged(2, 40)), lambda f, h: new_tags.append(int(f[0, 0, 0])))
    deadline = time.monotonic() + 10
    while tr.running and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.2)                     # the old worker's callback has returned by now
    tr.close()
    assert len(old_calls) == 1 and tr.live_error is None
    assert new_tags and set(new_tags) == {2}


def test_live_source_error_is_kept_not_raised_on_the_thread():
    from gesturekit.sources import SourceError

    def gen():
        yield np.zeros((16, 16, 3), np.uint8)
        raise SourceError("camera 0: stopped delivering frames after 1")

    tr, _, _ = make_tracker()
    tr.start_live(ArraySource(gen()), lambda f, h: None)
    deadline = time.monotonic() + 5
    while tr.running and time.monotonic() < deadline:
        time.sleep(0.02)
    tr.close()
    assert isinstance(tr.live_error, SourceError)
    tr.start_live(ArraySource([np.zeros((16, 16, 3), np.uint8)]), lambda f, h: None)
    assert tr.live_error is None        # each run keeps its own error
    tr.close()


def test_events_are_published_through_on():
    pytest.importorskip("gesturekit.events")
    tr, det, reg = make_tracker(max_hands=1)
    got = []
    tr.on(None, got.append)
    set_truth(det, reg, [hand_at(40, 40)])
    for i in range(3):
        tr.process(np.zeros((80, 80, 3), np.uint8), i * 33.0)
    set_truth(det, reg, [])
    tr.process(np.zeros((80, 80, 3), np.uint8), 200.0)
    tr.events.wait_idle(2.0)
    tr.close()
    kinds = [e.kind for e in got]
    assert kinds[0] == "hand_appeared" and kinds[-1] == "hand_lost"


def test_a_gesture_model_of_your_own_names_the_gestures_and_their_events(tmp_path):
    from gesturekit.gestures.mlp import INPUT_SIZES, GestureMLP

    n = INPUT_SIZES["static"]
    # one class always wins: its bias dwarfs anything the features give
    GestureMLP([(np.zeros((n, 2), np.float32), np.array([9.0, 0.0], np.float32))], ["wave_hi", "other"]
               ).save(tmp_path / "mine.npz")
    tr, det, reg = make_tracker(max_hands=1, gesture_model=tmp_path / "mine.npz")
    got = []
    tr.on("wave_hi", got.append, phase="started")  # a name the built-in model does not know
    set_truth(det, reg, [hand_at(40, 40)])
    hands = [tr.process(np.zeros((80, 80, 3), np.uint8), i * 33.0) for i in range(6)]
    tr.events.wait_idle(2.0)
    tr.close()
    assert hands[-1][0].gesture == "wave_hi"
    assert [e.gesture for e in got] == ["wave_hi"]
    # names your model cannot give are refused, not left to never fire
    with pytest.raises(ValueError, match="victory"):
        tr.on("victory", print)
    tr.on("pinch", print)        # the pinch rule still wins where it fires
    tr.on("swipe_left", print)   # and the palm's motions still come


@pytest.mark.parametrize("confirm,first", [(1, 0), (3, 2)])
def test_debounce_options_set_when_a_gesture_starts(tmp_path, confirm, first):
    from gesturekit.events import DebounceOptions
    from gesturekit.gestures.mlp import INPUT_SIZES, GestureMLP

    GestureMLP([(np.zeros((INPUT_SIZES["static"], 2), np.float32), np.array([9.0, 0.0], np.float32))],
               ["wave_hi", "other"]).save(tmp_path / "mine.npz")
    tr, det, reg = make_tracker(max_hands=1, gesture_model=tmp_path / "mine.npz",
                                debounce=DebounceOptions(confirm_frames=confirm))
    got = []
    tr.on("wave_hi", got.append, phase="started")
    set_truth(det, reg, [hand_at(40, 40)])
    for i in range(5):
        tr.process(np.zeros((80, 80, 3), np.uint8), i * 33.0)
    tr.events.wait_idle(2.0)
    tr.close()
    assert [e.timestamp_ms for e in got] == [first * 33.0]
    with pytest.raises(ValueError, match="debounce"):
        TrackerOptions(debounce={"confirm_frames": 1})


@pytest.mark.parametrize("kw", [{"gesture_model": "mine.onnx"},
                                {"gesture_model": "mine.npz", "gestures": False}])
def test_a_gesture_model_option_is_checked_up_front(kw):
    with pytest.raises(ValueError, match="gesture_model"):
        TrackerOptions(**kw)


def test_a_missing_gesture_model_of_your_own_is_an_error_not_silence(tmp_path):
    with pytest.raises((OSError, ValueError), match="nope.npz"):
        make_tracker(gesture_model=tmp_path / "nope.npz")


def test_a_swipe_is_reported_on_the_hand_and_as_an_instant_event():
    tr, det, reg = make_tracker(max_hands=1)
    got = []
    tr.on("swipe_right", got.append)
    frame, motions = np.zeros((240, 480, 3), np.uint8), []
    for i in range(14):                                # one stroke, then the hand rests
        set_truth(det, reg, [hand_at(60 + 25 * min(i, 7), 120)])
        motions += [h.motion for h in tr.process(frame, 33.0 * i) if h.motion]
    tr.events.wait_idle(2.0)
    tr.close()
    assert motions == ["swipe_right"]
    assert [(e.kind, e.duration_ms) for e in got] == [("started", 0.0), ("ended", 0.0)]
    still, _, _ = make_tracker(max_hands=1, dynamic_gestures=False)
    assert still.motion is None


class _Flat:
    labels = ["flat", "none"]

    def recognize(self, kp, handedness):
        return type("R", (), {"name": "flat", "score": 0.9})()


def test_a_stream_that_ends_ends_its_gestures_and_loses_its_hands():
    # also: a custom recognizer's names can be subscribed to
    det, reg = FakeDetector(), FakeRegressor()
    tr = HandTracker(TrackerOptions(presence_model=""), detector=det, regressor=reg, recognizer=_Flat())
    got = []
    tr.on("flat", lambda e: got.append((e.kind, e.gesture)))
    tr.on(None, lambda e: got.append((e.kind, e.gesture)) if e.gesture is None else None)
    set_truth(det, reg, [hand_at(40, 40)])
    for _ in tr.stream(ArraySource([np.zeros((80, 80, 3), np.uint8)] * 6)):
        pass
    tr.events.wait_idle(2.0)
    assert got[0] == ("hand_appeared", None) and ("started", "flat") in got
    assert got[-2:] == [("ended", "flat"), ("hand_lost", None)]
    tr.close()



@pytest.mark.parametrize("how", ["the source ends", "stop()"])
def test_a_live_run_that_ends_ends_its_gestures_and_loses_its_hands(how):
    # as stream() does: a gesture held to the end (a pinch pressing the mouse) must not outlive it
    det, reg = FakeDetector(), FakeRegressor()
    tr = HandTracker(TrackerOptions(presence_model=""), detector=det, regressor=reg, recognizer=_Flat())
    got = []
    tr.on(None, lambda e: got.append((e.kind, e.gesture)), phase=None)
    set_truth(det, reg, [hand_at(40, 40)])
    started = threading.Event()
    tr.on("flat", lambda e: started.set(), phase="started")

    def frames(n):
        for _ in range(n):
            time.sleep(0.01)
            yield np.zeros((80, 80, 3), np.uint8)

    tr.start_live(ArraySource(frames(8 if how == "the source ends" else 10**6)), lambda f, h: None)
    assert started.wait(5)
    if how == "stop()":
        tr.stop()
    deadline = time.monotonic() + 5
    while tr.running and time.monotonic() < deadline:
        time.sleep(0.02)
    tr._live._thread.join(2)
    tr.events.wait_idle(2.0)
    assert [k for k, _ in got[-2:]] == ["ended", "hand_lost"], got   # before close()
    tr.close()



def test_a_worker_that_outlived_stop_does_not_end_the_next_runs_gestures():
    det, reg = FakeDetector(), FakeRegressor()
    tr = HandTracker(TrackerOptions(presence_model=""), detector=det, regressor=reg, recognizer=_Flat())
    got, busy = [], threading.Event()
    tr.on(None, lambda e: got.append(e.kind), phase=None)
    set_truth(det, reg, [hand_at(40, 40)])

    def slow(frame, hands):             # slower than stop()'s timeout
        busy.set()
        time.sleep(1.0)

    frames = (np.zeros((80, 80, 3), np.uint8) for _ in range(10**6))
    tr.start_live(ArraySource(frames), slow)
    assert busy.wait(5)
    tr.stop(timeout=0.1)
    started = threading.Event()
    tr.on("flat", lambda e: started.set(), phase="started")
    tr.start_live(ArraySource(np.zeros((80, 80, 3), np.uint8) for _ in range(10**6)), lambda f, h: time.sleep(0.01))
    assert started.wait(5)
    since = len(got)
    time.sleep(1.2)                     # the old worker has ended by now
    tr.events.wait_idle(2.0)
    assert tr.running and "ended" not in got[since:], got[since:]   # the new run's gesture goes on
    tr.close()

def test_a_live_clock_that_jumps_back_goes_on_a_frame_later():
    from gesturekit.live import _MonotonicClock

    clock = _MonotonicClock()
    # a clip played in a loop: 0, 33, 66, then 0 again
    assert [round(clock(t), 1) for t in (0.0, 33.3, 66.6, 0.0, 33.3, 33.3)] == [0.0, 33.3, 66.6, 99.9, 133.2, 166.5]


def test_stop_waits_at_most_its_timeout_in_all():
    tr, _, _ = make_tracker()
    busy = threading.Event()

    def slow(frame, hands):
        busy.set()
        time.sleep(3.0)

    tr.start_live(ArraySource(np.zeros((16, 16, 3), np.uint8) for _ in range(10**6)), slow)
    assert busy.wait(5)
    t0 = time.monotonic()
    tr.stop(timeout=1.0)
    assert time.monotonic() - t0 < 1.5
    tr.close()


def test_a_live_callback_that_exits_ends_the_run_with_its_reason():
    tr, _, _ = make_tracker()

    def leave(frame, hands):
        raise SystemExit(3)

    tr.start_live(ArraySource(np.zeros((16, 16, 3), np.uint8) for _ in range(10**6)), leave)
    deadline = time.monotonic() + 5
    while tr.running and time.monotonic() < deadline:
        time.sleep(0.02)
    assert isinstance(tr.live_error, SystemExit)
    tr.close()


def test_a_frame_without_hands_has_the_layouts_shapes():
    from gesturekit.layouts import KeypointLayout

    layout = KeypointLayout("five", tuple(f"p{i}" for i in range(5)), edges=((0, 1),))
    det, reg = FakeDetector(), FakeRegressor()
    reg.layout = layout
    tr = HandTracker(TrackerOptions(presence_model=""), detector=det, regressor=reg)
    hands = tr.process(np.zeros((80, 80, 3), np.uint8))
    assert len(hands) == 0 and hands.xy.shape == (0, 5, 2) and hands.confidence.shape == (0, 5)


# --- soak -----------------------------------------------------------------------------------------

@pytest.mark.slow  # ~35 s alone on 2 cores; over 60 s when the machine is shared
def test_soak_10k_frames_no_memory_growth():
    tr, det, reg = make_tracker(max_hands=2, noise=0.3)
    frame = np.zeros((48, 64, 3), np.uint8)
    tracemalloc.start()
    base = None
    for i in range(10_000):
        phase = (i // 200) % 3      # hands come and go: exercises create/lose/reuse paths
        hands = [hand_at(20 + (i % 7), 24, 24)] + ([hand_at(44, 24, 24)] if phase == 1 else [])
        set_truth(det, reg, hands if phase != 2 else [])
        tr.process(frame, i * 33.3)
        if i == 1000:
            base = tracemalloc.get_traced_memory()[0]
    grown = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    assert grown < 256 * 1024, f"memory grew by {grown} bytes over 9000 frames"   # measured: ~17 kB


# --- real images -----------------------------------------------------------------------------------

def _keypoint_model():
    for p in (Path(__file__).resolve().parents[1] / "models" / "keypoints.onnx", Path("/tmp/gk_kp.onnx")):
        if p.is_file():
            return p
    pytest.skip("no keypoint model (models/keypoints.onnx) yet")


def test_real_images_with_label_boxes(shared_data):
    from gesturekit.io import read_yolo_pose
    from gesturekit.landmarks import LandmarkRegressor

    samples = read_yolo_pose(shared_data / "hands26k" / "val", limit=8, sizes=(224, 224))
    det = FakeDetector()
    tr = HandTracker(TrackerOptions(max_hands=1), detector=det,
                     regressor=LandmarkRegressor(_keypoint_model(), threads=1))
    for s in samples:
        det.truth = [s.keypoints[0]]
        img = cv2.imread(str(s.image))
        hands = tr.process(img)
        assert len(hands) <= 1
        for h in hands:
            assert h.keypoints.shape == (21, 2) and np.isfinite(h.keypoints).all()
            # whatever the model's accuracy, the points come back in frame pixels near the hand
            assert iou(h.box, s.boxes[0]) > 0 or np.linalg.norm(h.keypoints.mean(0) - s.keypoints[0].mean(0)) < 112


def test_public_api_is_lazy_and_complete():
    import subprocess
    import sys

    code = ("import sys, gesturekit as gk; assert 'torch' not in sys.modules and 'onnxruntime' not in sys.modules; "
            "[getattr(gk, n) for n in gk.__all__]; gk.HandTracker; assert 'torch' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


class ClutterDetector(FakeDetector):
    """The true hands, and a face-sized box at one place on every frame (score 0.3)."""

    def __init__(self, clutter):
        super().__init__()
        self.clutter = np.asarray(clutter, np.float32)

    def detect(self, frame):
        d = super().detect(frame)
        return Dets(np.vstack([d.boxes, self.clutter[None]]), np.append(d.scores, 0.3).astype(np.float32),
                    np.append(d.angles, np.nan))


@pytest.mark.parametrize("every", [1, 3])
def test_idle_video_reads_clutter_that_stays_less_often_and_still_finds_a_hand_at_once(every):
    clutter = [200, 20, 260, 80]
    det, reg = ClutterDetector(clutter), FakeRegressor()
    read = []
    predict = reg.predict
    reg.predict = lambda frame, crops: (read.extend(c.cx for c in crops), predict(frame, crops))[1]
    tr = HandTracker(TrackerOptions(presence_model="", frame_candidate=False, clutter_every=every),
                     detector=det, regressor=reg)
    frame = np.zeros((240, 320, 3), np.uint8)
    runs = []
    for i in range(12):                                   # a still, hand-free scene
        read.clear()
        assert len(tr.process(frame, 33.0 * (i + 1))) == 0
        runs.append(any(abs(x - 230) < 1 for x in read))
    assert sum(runs) == (12 if every == 1 else 5)        # read on runs 1, 2, then every third
    set_truth(det, reg, [hand_at(80, 150)])              # a hand comes in elsewhere: found that frame
    assert len(tr.process(frame, 33.0 * 13)) == 1


@pytest.mark.parametrize("every", [1, 3])
def test_idle_video_reads_the_whole_frame_less_often_too(every):
    det, reg = BlindDetector(), FakeRegressor()
    tr = HandTracker(TrackerOptions(presence_model="", clutter_every=every), detector=det, regressor=reg)
    frame = np.zeros((240, 320, 3), np.uint8)
    reads = []
    for i in range(12):
        before = reg.calls
        tr.process(frame, 33.0 * (i + 1))
        reads.append(reg.calls > before)
    assert sum(reads) == (12 if every == 1 else 5)
    set_truth(det, reg, [hand_at(160, 120, size=200)])   # a hand that fills the frame: found within 3 frames
    assert any(len(tr.process(frame, 33.0 * (13 + i))) for i in range(3))


def test_a_torch_tracker_leaves_the_users_torch_thread_count_alone():
    """HandTracker(TrackerOptions(backend="torch", threads=1)) used to call torch.set_num_threads(1)
    for the whole process (and its handedness net did so on a GPU machine even without threads)."""
    torch = pytest.importorskip("torch")
    from gesturekit.runtime import default_model

    if not default_model("keypoints.pt").is_file() or not default_model("detector.pt").is_file():
        pytest.skip("no shipped .pt models")
    before = torch.get_num_threads()
    torch.set_num_threads(before + 1)
    try:
        with HandTracker(TrackerOptions(backend="torch", threads=1, handedness_model="", presence_model="")) as tr:
            assert tr.regressor.runner.backend == "torch"
            tr.process(np.zeros((120, 160, 3), np.uint8))
            assert torch.get_num_threads() == before + 1
    finally:
        torch.set_num_threads(before)
