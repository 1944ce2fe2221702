"""bench/keypoint_misses.py: its per-hand PCK counts as `gesturekit eval keypoints` does, and it runs."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gesturekit.train.metrics import keypoint_metrics

ROOT = Path(__file__).resolve().parents[2]
VAL = ROOT.parent / "shared" / "data" / "hands26k" / "val"


def _load():
    spec = importlib.util.spec_from_file_location("keypoint_misses", ROOT / "bench" / "keypoint_misses.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_hand_pck_matches_keypoint_metrics():
    rng = np.random.default_rng(0)
    gt = rng.uniform(0, 100, (40, 21, 2))
    pred = gt + rng.normal(0, 6, gt.shape)
    vis = rng.random((40, 21)) > 0.2
    hand_pck = _load().hand_pck
    per_point = np.stack([hand_pck(p, g, v) for p, g, v in zip(pred, gt, vis)])
    assert not per_point[~vis].any()  # unlabelled points are never counted as hits
    assert per_point.sum() / vis.sum() == pytest.approx(keypoint_metrics(pred, gt, vis)["pck@0.1"])


@pytest.mark.skipif(not VAL.is_dir(), reason=f"hands26k val not found at {VAL}")
def test_runs_on_a_few_val_hands(tmp_path):
    out = tmp_path / "misses.json"
    r = subprocess.run([sys.executable, str(ROOT / "bench" / "keypoint_misses.py"), "--data", str(VAL),
                        "--limit", "20", "--out", str(out), "--grid", str(tmp_path / "g.png")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    d = json.loads(out.read_text())
    assert d["hands"] == 20 and 0.0 <= d["pck@0.1"] <= 1.0
    assert set(d["second_look_pck@0.1"]) == {"refine", "turns", "small_turns", "zooms"}
    assert len(d["pck@0.1_per_joint"]) == 21
