import csv

import cv2
import numpy as np
import pytest
from fakes import hand_at

from gesturekit.handedness import HandednessClassifier
from gesturekit.train import handedness as handedness_training
from gesturekit.train.handedness import FacingCrops, evaluate_handedness, train_handedness
from gesturekit.train.loop import TrainConfig


def _photo(back: bool, rng) -> tuple[np.ndarray, np.ndarray]:
    """A grey photo with the points of a left palm (tests/fakes.py); "the back of the hand" is a
    striped hand, as nails and knuckles are a texture a mirror keeps."""
    img = np.full((96, 96, 3), 90, np.uint8) + rng.integers(0, 20, (96, 96, 3), dtype=np.uint8)
    kp = hand_at(48 + rng.uniform(-4, 4), 48 + rng.uniform(-4, 4), 40)
    if back:
        img[30:66:4, 30:66] = 250
    return img, kp


def _labelled_photos(folder, n: int, rng):
    """``n`` photos of :func:`_photo` and their keypoints_mediapipe.csv, every other one a back."""
    rows = []
    for i in range(n):
        back = i % 2 == 0
        img, kp = _photo(back, rng)
        cv2.imwrite(str(folder / f"{i}.png"), img)
        # a left palm's points: its back, with the same points, is a right hand
        rows.append([f"{i}.png", 96, 96, "right" if back else "left", 1.0, *kp.reshape(-1).round(2)])
    path = folder / "keypoints_mediapipe.csv"
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["image", "width", "height", "handedness", "handedness_score"] + [f"{c}{i}" for i in range(21) for c in "xy"])
        w.writerows(rows)
    return path


def test_trains_exports_and_loads_a_facing_model(tmp_path):
    rng = np.random.default_rng(0)
    path = _labelled_photos(tmp_path, 48, rng)
    cfg = TrainConfig(epochs=12, batch_size=8, lr=1e-2, weight_decay=1e-3, threads=1, out=str(tmp_path / "runs"),
                      monitor="side_acc")
    res = train_handedness([path], tmp_path / "model" / "handedness", cfg=cfg, copies=1, width=8, teacher_points=True,
                           cache=tmp_path / "crops.npz")
    assert res["held_out_side_acc"] >= 0.8 and res["held_out_side_acc_mirrored"] >= 0.8
    assert (tmp_path / "runs" / "last.pt").is_file() and (tmp_path / "crops.npz").is_file()
    # what `gesturekit eval handedness` reports: the same for both files, on every row
    scores = [evaluate_handedness([path], tmp_path / "model" / f"handedness.{ext}", threads=1, teacher_points=True)
              for ext in ("onnx", "pt")]
    assert scores[0]["hands"] == 48 and scores[0]["side_acc"] >= 0.8
    assert scores[0]["side_acc"] == pytest.approx(scores[1]["side_acc"], abs=1 / 48)
    clf = HandednessClassifier(tmp_path / "model" / "handedness.onnx")
    for back, side in ((True, "right"), (False, "left")):
        img, kp = _photo(back, rng)
        assert clf.predict(img, kp)[0] == [side]
        assert clf.predict(cv2.flip(img, 1), np.c_[96 - kp[:, 0], kp[:, 1]])[0] == [{"left": "right", "right": "left"}[side]]


def test_the_crop_cache_is_rebuilt_when_the_keypoint_model_file_changes(tmp_path, monkeypatch):
    # the crops are placed by the regressor's points: a new model under the same name (a new
    # shipped stage, or GESTUREKIT_MODELS) must not reuse the old crops
    path = _labelled_photos(tmp_path, 4, np.random.default_rng(0))
    reads = []

    def read_hands(images, guide, regressor, *a, **k):
        reads.append(regressor)
        return np.asarray(guide, np.float64), np.zeros((len(images), 1, 8, 8, 3), np.uint8)

    monkeypatch.setattr(handedness_training, "read_hands", read_hands)
    model = tmp_path / "keypoints.onnx"
    for content, built in ((b"stage 1", 1), (b"stage 1", 1), (b"stage 2", 2)):
        model.write_bytes(content)
        handedness_training.hand_crops([path], 0, 0, model, False, 1, cache=tmp_path / "crops.npz")
        assert len(reads) == built


def test_training_crops_mirror_and_keep_their_facing():
    crops = np.zeros((1, 2, 64, 64, 3), np.uint8)
    crops[0, :, :, :10] = 255                                 # bright on the left
    ds = FacingCrops(crops, np.array([True]), train=True)
    seen = set()
    for epoch in range(12):
        ds.epoch = epoch
        img, label = ds[0]
        seen.add((bool(img[:, :, :10].mean() > img[:, :, -10:].mean()), float(label)))
    assert seen == {(True, 1.0), (False, 1.0)}


def test_cli_names_missing_label_files(tmp_path):
    from gesturekit.cli import main

    with pytest.raises(SystemExit, match="none.csv.*mediapipe_handedness"):
        main(["train", "handedness", "--csv", str(tmp_path / "none.csv"), "--val"])


def test_eval_handedness_names_a_missing_csv(tmp_path, capsys):
    from gesturekit.cli import main

    with pytest.raises(SystemExit, match="gone.csv.*bench/mediapipe_handedness.py"):
        main(["eval", "handedness", "--csv", str(tmp_path / "gone.csv")])
