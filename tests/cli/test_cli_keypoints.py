"""The docs/layouts.md path on a few photos: train --layout, --export, eval, load and predict."""

import json

import cv2
import numpy as np
import pytest

from gesturekit.cli import main


def _folder(tmp_path, n=6, k=3):
    """``n`` 96×96 photos and one points CSV (with a header) of ``k`` points each; a layout JSON."""
    rng = np.random.default_rng(0)
    d = tmp_path / "my photos"  # a space in the path, as on a user's disk
    d.mkdir()
    rows = ["image," + ",".join(f"x{i},y{i}" for i in range(k))]
    for i in range(n):
        cv2.imwrite(str(d / f"p {i}.png"), rng.integers(0, 255, (96, 96, 3), dtype=np.uint8))
        rows.append(f"p {i}.png," + ",".join(f"{v:.2f}" for v in rng.uniform(30, 66, 2 * k)))
    (d / "points.csv").write_text("\r\n".join(rows) + "\r\n")
    (tmp_path / "my_layout.json").write_text(json.dumps(
        {"name": "lr3", "names": ["left", "right", "tip"], "edges": [[0, 2], [1, 2]], "flip": [1, 0, 2]}))
    return d


def test_train_export_eval_and_predict_a_layout_of_your_own(tmp_path, monkeypatch, capsys):
    pytest.importorskip("torch")
    pytest.importorskip("onnx")
    from gesturekit.geometry import Crop
    from gesturekit.landmarks import LandmarkRegressor
    from gesturekit.train import cache

    monkeypatch.setattr(cache, "default_cache_dir", lambda: tmp_path / "cache")
    data = _folder(tmp_path)
    layout = str(tmp_path / "my_layout.json")
    assert main(["train", "keypoints", "--data", str(data), "--layout", layout, "--epochs", "1", "--lr", "1e-3",
                 "--batch-size", "4", "--repeat", "2", "--input-size", "64", "--threads", "1", "--workers", "0",
                 "--out", str(tmp_path / "run"), "--export", str(tmp_path / "mine.pt")]) == 0
    assert (tmp_path / "mine.onnx").exists()
    capsys.readouterr()
    assert main(["eval", "keypoints", "--data", str(data), "--model", str(tmp_path / "mine.onnx"), "--json"]) == 0
    m = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert m["hands"] == 6 and 0.0 <= m["within_0.1"] <= 1.0 and 0.0 <= m["pck@0.1"] <= 1.0
    reg = LandmarkRegressor(tmp_path / "mine.onnx")
    assert reg.layout.names == ("left", "right", "tip") and reg.layout.flip == (1, 0, 2)
    kp, conf = reg.predict(cv2.imread(str(data / "p 0.png")), [Crop(48, 48, 60, 0.0)])
    assert kp.shape == (1, 3, 2) and conf.shape == (1, 3)


def test_points_of_your_own_without_layout_or_model_say_which_flag_is_missing(tmp_path, capsys):
    data = _folder(tmp_path)
    assert main(["train", "keypoints", "--data", str(data), "--out", str(tmp_path / "run")]) == 2
    assert "3 points per hand, but layout 'hand21' has 21; for points of your own, pass --layout" \
        in capsys.readouterr().err
    assert main(["eval", "keypoints", "--data", str(data)]) == 2
    assert "score your own model with --model" in capsys.readouterr().err


def test_eval_keypoints_backend_torch_scores_the_shipped_pt(shared_data, tmp_path, monkeypatch, capsys):
    """``--backend torch`` without ``--model``: the shipped .pt, not the .onnx that torch cannot read."""
    pytest.importorskip("torch")
    from gesturekit.train import cache

    monkeypatch.setattr(cache, "default_cache_dir", lambda: tmp_path / "cache")
    assert main(["eval", "keypoints", "--data", str(shared_data / "hands26k" / "val"), "--limit", "3",
                 "--backend", "torch", "--json"]) == 0, capsys.readouterr().err
    m = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert m["backend"] == "torch" and m["model"].endswith("keypoints.pt") and m["hands"] == 3
