import numpy as np
import pytest

pytest.importorskip("torch")
from gesturekit.train import keypoints as kpt
from gesturekit.train.keypoint_data import check_point_names


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


# --- the small-data path end to end: layouts, seeds, resume, bad checkpoints -------------------

def _photos(folder, k=3, n=6, seed=0):
    """``n`` 96×96 photos and one points CSV of ``k`` points each."""
    import cv2

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        cv2.imwrite(str(folder / f"p{i}.png"), rng.integers(0, 255, (96, 96, 3), dtype=np.uint8))
        pts = rng.uniform(30, 66, (k, 2))
        rows.append(f"p{i}.png," + ",".join(f"{v:.2f}" for v in pts.reshape(-1)))
    (folder / "points.csv").write_text("\n".join(rows) + "\n")
    return folder


def _lr3():
    from gesturekit.layouts import KeypointLayout

    return KeypointLayout("lr3", ("left", "right", "tip"), ((0, 2), (1, 2)), flip=(1, 0, 2))


def _cfg(out, epochs=2, ema=0.0):
    from gesturekit.train.loop import TrainConfig

    return TrainConfig(epochs=epochs, batch_size=4, lr=1e-3, threads=1, workers=0, out=str(out), ema=ema)


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    from gesturekit.train import cache

    monkeypatch.setattr(cache, "default_cache_dir", lambda: tmp_path / "cache")


def _weights(path):
    import torch

    return torch.load(path, weights_only=True)["model"]


def _same(a, b):
    return all(np.array_equal(a[k].numpy(), b[k].numpy()) for k in a)


def test_data_and_layout_that_disagree_are_one_error_naming_the_data(tmp_path, cache_dir):
    from gesturekit.errors import LayoutMismatchError
    from gesturekit.layouts import HAND_21

    three = _photos(tmp_path / "three")
    with pytest.raises(LayoutMismatchError, match=r"three: 3 points per hand, but layout 'hand21' has 21"):
        kpt.train_keypoints(three, layout=HAND_21, input_size=64, cfg=_cfg(tmp_path / "a"))
    four = _photos(tmp_path / "four", k=4)
    with pytest.raises(LayoutMismatchError, match=r"four: 4 points per hand, but layout 'lr3' has 3"):
        kpt.train_keypoints(three, val=four, layout=_lr3(), input_size=64, cfg=_cfg(tmp_path / "b"))
    with pytest.raises(LayoutMismatchError, match=r"four: 4 points"):
        kpt.train_keypoints([three, four], layout=_lr3(), input_size=64, cfg=_cfg(tmp_path / "c"))


def test_too_little_data_is_a_clear_error(tmp_path, cache_dir):
    with pytest.raises(ValueError, match="none left to hold out"):
        kpt.train_keypoints(_photos(tmp_path / "one", n=1), layout=_lr3(), input_size=64, cfg=_cfg(tmp_path / "a"))
    cfg = _cfg(tmp_path / "b")
    cfg.batch_size = 64  # 5 training photos drawn once: no full batch
    with pytest.raises(ValueError, match="no full batch of 64"):
        kpt.train_keypoints(_photos(tmp_path / "six"), layout=_lr3(), input_size=64, cfg=cfg)


@pytest.mark.parametrize("ema", [0.0, 0.9])
def test_a_seed_repeats_a_run_and_a_resumed_run_ends_where_an_uninterrupted_one_does(tmp_path, cache_dir,
                                                                                    monkeypatch, ema):
    data = _photos(tmp_path / "data")
    run = lambda out: kpt.train_keypoints(data, layout=_lr3(), input_size=64, cfg=_cfg(out, ema=ema))  # noqa: E731
    a, b = _weights(run(tmp_path / "a")), _weights(run(tmp_path / "b"))
    assert _same(a, b)  # the weights' first draw is seeded too

    fit = kpt.fit

    def killed_in_epoch_2(*args, on_epoch, **kw):
        def stop(epoch):
            if epoch == 1:
                raise KeyboardInterrupt
            on_epoch(epoch)
        return fit(*args, on_epoch=stop, **kw)

    monkeypatch.setattr(kpt, "fit", killed_in_epoch_2)
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path / "c")
    monkeypatch.setattr(kpt, "fit", fit)
    assert _same(a, _weights(run(tmp_path / "c")))


def test_with_ema_the_average_is_kept_and_a_run_without_it_is_not_resumed(tmp_path, cache_dir):
    import torch

    from gesturekit.errors import ModelFileError

    data = _photos(tmp_path / "data")
    best = kpt.train_keypoints(data, layout=_lr3(), input_size=64, cfg=_cfg(tmp_path / "run", ema=0.9))
    last = torch.load(tmp_path / "run" / "last.pt", weights_only=True)
    kept = _weights(best)
    averaged = {k[len("module."):]: v for k, v in last["ema"].items() if k.startswith("module.")}
    assert _same(kept, averaged) and not _same(kept, last["model"])
    (tmp_path / "run" / "best.pt").unlink()
    with pytest.raises(ModelFileError, match=r"last.pt: a run with weight averaging \(ema\) 0.9, this one has 0.0"):
        kpt.train_keypoints(data, layout=_lr3(), input_size=64, cfg=_cfg(tmp_path / "run", epochs=2))


def test_bad_init_or_last_checkpoint_is_one_error_naming_the_file(tmp_path, cache_dir):
    from gesturekit.errors import ModelFileError

    data = _photos(tmp_path / "data")
    train = lambda out, **kw: kpt.train_keypoints(data, layout=_lr3(), input_size=64, cfg=_cfg(out, 1), **kw)  # noqa: E731
    best = train(tmp_path / "run")
    (tmp_path / "cut.pt").write_bytes(best.read_bytes()[:3000])
    (tmp_path / "model.onnx").write_bytes(b"\x08\x07onnx-ish")
    for bad, why in [("cut.pt", "not a torch checkpoint"), ("model.onnx", "not a torch checkpoint"),
                     ("gone.pt", "not found")]:
        with pytest.raises(ModelFileError, match=rf"{bad}: .*{why}"):
            train(tmp_path / "init", init=tmp_path / bad)
    # a run folder holding another run's last.pt: resuming it would fail deep in torch
    with pytest.raises(ModelFileError, match=r"last\.pt: a run of 1 epochs of 1 steps, this one has 2 epochs of 1"):
        kpt.train_keypoints(data, layout=_lr3(), input_size=64, cfg=_cfg(tmp_path / "run", 2))
    # as many steps in all, split otherwise (1 epoch of 2 steps against 2 of 1): refused too
    kpt.train_keypoints(data, layout=_lr3(), input_size=64, cfg=_cfg(tmp_path / "run2", 2))
    with pytest.raises(ModelFileError, match=r"last\.pt: a run of 2 epochs of 1 steps, this one has 1 epochs of 2"):
        kpt.train_keypoints(data, layout=_lr3(), input_size=64, cfg=_cfg(tmp_path / "run2", 1), repeat=2)
    # the same number of photos with other labels: the step count agrees, the data does not
    other = _photos(tmp_path / "other", seed=1)
    with pytest.raises(ModelFileError, match=r"last\.pt: a run on other training data"):
        kpt.train_keypoints(other, layout=_lr3(), input_size=64, cfg=_cfg(tmp_path / "run", 1))
    from gesturekit.runtime import Runner

    with pytest.raises(ModelFileError, match=r"best\.pt: a training checkpoint; export it first"):
        Runner.load(best)  # eval --model runs/.../best.pt
    last = tmp_path / "run" / "last.pt"
    last.write_bytes(last.read_bytes()[:3000])  # killed while writing (before saves were atomic)
    with pytest.raises(ModelFileError, match=r"last\.pt: not a torch checkpoint"):
        train(tmp_path / "run")


def test_a_run_folder_keeps_its_layout(tmp_path, cache_dir):
    # the same command again with --layout of another file of as many points: before, the finished
    # run was "done" and its best.pt was re-stamped with the other layout's names
    import torch

    from gesturekit.errors import LayoutMismatchError
    from gesturekit.layouts import KeypointLayout

    data = _photos(tmp_path / "data")
    run = lambda lay: kpt.train_keypoints(data, layout=lay, input_size=64, cfg=_cfg(tmp_path / "run", 1))  # noqa: E731
    best = run(_lr3())
    other = KeypointLayout("abc", ("a", "b", "c"), ((0, 1),))
    with pytest.raises(LayoutMismatchError, match=r"run: a run of layout 'lr3' .*, not 'abc'"):
        run(other)
    assert torch.load(best, weights_only=True)["layout"]["names"] == ["left", "right", "tip"]
    (tmp_path / "run" / "layout.json").unlink()  # a run folder from before layout.json: best.pt tells
    with pytest.raises(LayoutMismatchError, match=r"a run of layout 'lr3'"):
        run(other)
    redrawn = KeypointLayout("lr3", _lr3().names, ((0, 1),), flip=(1, 0, 2))  # only the edges differ
    assert run(redrawn) == best
    assert torch.load(best, weights_only=True)["layout"]["edges"] == [[0, 1]]


def test_hard_share_needs_an_initial_model_of_this_layout(tmp_path, cache_dir):
    from gesturekit.errors import LayoutMismatchError
    from gesturekit.layouts import KeypointLayout

    best = kpt.train_keypoints(_photos(tmp_path / "three"), layout=_lr3(), input_size=64, cfg=_cfg(tmp_path / "a", 1))
    four = KeypointLayout("four", ("a", "b", "c", "d"))
    # the 3-point head does not fit 4 points: its "hard" images would be a random draw
    with pytest.raises(LayoutMismatchError, match=r"hard_share: .*best\.pt fits \d+ of \d+ tensors"):
        kpt.train_keypoints(_photos(tmp_path / "four", k=4), layout=four, input_size=64, cfg=_cfg(tmp_path / "b", 1),
                            init=best, hard_share=0.2)


def test_coco_point_names_are_checked_against_the_layout(tmp_path, cache_dir):
    from gesturekit.errors import LayoutMismatchError
    from gesturekit.io import read_keypoints, write_coco
    from gesturekit.layouts import KeypointLayout

    data = _photos(tmp_path / "data")
    write_coco(read_keypoints(data / "points.csv"), tmp_path / "coco.json", _lr3())
    swapped = KeypointLayout("rl3", ("right", "left", "tip"))
    with pytest.raises(LayoutMismatchError, match=r"coco\.json: the points are in another order than layout "
                                                  r"'rl3': point 0 is 'left' in the data, 'right' in the layout"):
        kpt.train_keypoints(tmp_path / "coco.json", layout=swapped, input_size=64, cfg=_cfg(tmp_path / "a", 1))
    samples = read_keypoints(tmp_path / "coco.json")
    with pytest.warns(UserWarning, match=r"point names \['left', 'right', 'tip'\] are not layout 'abc'"):
        check_point_names(samples, KeypointLayout("abc", ("a", "b", "c")), "coco.json")
    check_point_names(samples, _lr3(), "coco.json")  # the same names: nothing to say


def test_a_warm_start_keeps_the_initial_models_network_unless_told_otherwise(tmp_path, cache_dir):
    # with the default network a wide checkpoint's stride-16 blocks fit nowhere: a user's 60 photos
    # would start with half the backbone untrained
    import torch

    from gesturekit.layouts import KeypointLayout

    wide = kpt.train_keypoints(_photos(tmp_path / "three"), layout=_lr3(), arch="kpnet_simcc_wide", input_size=64,
                               cfg=_cfg(tmp_path / "a", 1))
    four = KeypointLayout("four", ("a", "b", "c", "d"))
    data = _photos(tmp_path / "four", k=4)
    arch = lambda best: torch.load(best, weights_only=True)["arch"]["name"]  # noqa: E731
    assert arch(kpt.train_keypoints(data, layout=four, input_size=64, cfg=_cfg(tmp_path / "b", 1), init=wide)) \
        == "kpnet_simcc_wide"
    assert arch(kpt.train_keypoints(data, layout=four, arch="kpnet_simcc", input_size=64,
                                    cfg=_cfg(tmp_path / "c", 1), init=wide)) == "kpnet_simcc"
    assert arch(kpt.train_keypoints(data, layout=four, input_size=64, cfg=_cfg(tmp_path / "d", 1))) == "kpnet_simcc"
