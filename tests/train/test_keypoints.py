import numpy as np
import pytest

pytest.importorskip("torch")
from gesturekit.train import keypoints as kpt


def _fake_reads(monkeypatch, n=50):
    """Item i is read i px off on every point of a 100 px hand; item 0 has no labelled point."""
    gt = np.zeros((n, 21, 2))
    gt[:, 1:, 0] = 100.0 * np.linspace(0, 1, 20)
    pred = gt + np.arange(n, dtype=float)[:, None, None]
    vis = np.ones((n, 21), bool)
    vis[0] = False
    monkeypatch.setattr(kpt, "predict_crops", lambda model, ds: (pred, gt, vis, np.ones((n, 21))))


def test_hard_indices_takes_the_worst_after_skipping_the_very_worst(monkeypatch):
    _fake_reads(monkeypatch)
    hard = kpt.hard_indices(None, None, share=0.2, skip=0.02)
    # 50 items: the worst one (49) is skipped as a likely bad label, the next 10 are hard
    assert hard.tolist() == list(range(39, 49))
    # no labelled point: ranked easiest, so the last to be taken
    assert kpt.hard_indices(None, None, share=0.96, skip=0.02).tolist() == list(range(1, 49))


@pytest.mark.parametrize("share, skip", [(0.0, 0.02), (-0.1, 0.0), (0.99, 0.02)])
def test_hard_indices_rejects_bad_shares(monkeypatch, share, skip):
    _fake_reads(monkeypatch)
    with pytest.raises(ValueError, match="hard share"):
        kpt.hard_indices(None, None, share=share, skip=skip)


def test_hard_share_needs_an_initial_model(tmp_path):
    with pytest.raises(ValueError, match="hard_share needs init"):
        kpt.train_keypoints(tmp_path, hard_share=0.2)


@pytest.mark.parametrize("share", [-0.1, 0.99])
def test_hard_share_is_checked_before_any_data_is_read(tmp_path, share):
    with pytest.raises(ValueError, match="hard_share: must lie"):
        kpt.train_keypoints(tmp_path / "nowhere", init="x.pt", hard_share=share)
