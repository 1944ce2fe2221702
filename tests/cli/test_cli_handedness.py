"""``gesturekit train handedness``: where its default inputs and output are."""

from __future__ import annotations

from pathlib import Path

import pytest

from gesturekit.cli import main


def test_defaults_are_read_beside_the_repository_and_never_overwrite_the_shipped_model(tmp_path, monkeypatch):
    """Run from a repository root: data from ../shared/data, hands26k's sides from runs/, and the
    trained model to runs/ (a trial run once wrote over models/handedness.pt and .onnx)."""
    pytest.importorskip("torch")
    from gesturekit.train import handedness

    repo, data = tmp_path / "repo", tmp_path / "shared" / "data"
    made = [data / "hagrid12" / "keypoints_mediapipe.csv", data / "sign-digits" / "keypoints_mediapipe.csv",
            repo / "runs" / "hands26k_sides" / "train.csv", repo / "runs" / "hands26k_sides" / "val.csv"]
    for f in made:
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text("image\n")
    seen = {}
    monkeypatch.setattr(handedness, "train_handedness",
                        lambda csvs, out, val, *a, **k: seen.update(csvs=csvs, out=out, val=val))
    monkeypatch.chdir(repo)
    assert main(["train", "handedness"]) == 0
    assert [p.resolve() for p in [*seen["csvs"], *seen["val"]]] == [p.resolve() for p in made]
    assert Path(seen["out"]).resolve().is_relative_to(repo / "runs")
