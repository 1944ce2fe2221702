"""The training loop's parts: curves.png (losses, shares and pixel errors on axes of their own) and
the weight average."""

import pytest

pytest.importorskip("matplotlib")
from gesturekit.train.loop import metric_groups, metric_kind, plot_curves  # noqa: E402


def _keypoint_history(n=3):
    return [{"epoch": e + 1, "train_loss": 1.0 / (e + 1), "pck@0.05": 0.5 + 0.1 * e, "pck@0.1": 0.8,
             "epe_px": 6.0 - e, "nme": 0.08, "within_0.1": 0.9, "points": 1234, "lr": 1e-3, "time_s": 9.0}
            for e in range(n)]


def test_pixel_error_gets_an_axis_of_its_own():
    groups = metric_groups(_keypoint_history())
    assert groups == {"loss": ["train_loss"], "share": ["pck@0.05", "pck@0.1", "within_0.1"],
                      "pixels": ["epe_px"], "other": ["nme"]}


def test_detector_and_handedness_metrics_are_shares():
    for k in ("ap50", "ap50_95", "recall@0.5", "found@0.5", "score", "side_acc", "side_acc_mirrored",
              "facing_acc"):
        assert metric_kind(k) == "share", k
    assert metric_kind("train_loss") == "loss" and metric_kind("epe_px") == "pixels"


def test_keys_of_later_rows_are_plotted_too():
    hist = [{"epoch": 1, "train_loss": 1.0}, {"epoch": 2, "train_loss": 0.5, "ap50": 0.7}]
    assert metric_groups(hist) == {"loss": ["train_loss"], "share": ["ap50"]}


def test_plot_curves_draws_one_panel_per_kind(tmp_path, monkeypatch):
    import matplotlib.pyplot as plt

    figs = []
    monkeypatch.setattr(plt, "close", figs.append)  # keep the figure to look at its axes
    plot_curves(_keypoint_history(), tmp_path / "curves.png")
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    axes = figs[0].axes
    assert [ax.get_title() for ax in axes] == ["loss", "share (0-1)", "error (pixels)", "other"]
    assert [[ln.get_label() for ln in ax.get_lines()] for ax in axes][2] == ["epe_px"]
    assert axes[1].get_ylim()[1] < 2  # the shares' axis is not stretched to the pixel errors
    monkeypatch.undo()
    plt.close(figs[0])


def test_weight_average_ramps_its_decay_up_then_holds_it():
    torch = pytest.importorskip("torch")

    from gesturekit.train.loop import TrainConfig, weight_average

    net = torch.nn.Sequential(torch.nn.Linear(1, 1, bias=False), torch.nn.BatchNorm1d(1))
    ema = weight_average(net, 0.5)
    expect = None
    for step, w in enumerate([1.0, 3.0, 7.0, 2.0]):
        net[0].weight.data.fill_(w)
        net[1].running_mean.fill_(-w)
        ema.update_parameters(net)
        # the first update copies; then decay min(0.5, (1 + n) / (10 + n)) with n updates so far
        expect = w if expect is None else min(0.5, (1 + step) / (10 + step)) * expect + (1 - min(0.5, (1 + step) / (10 + step))) * w
        assert ema.module[0].weight.item() == pytest.approx(expect)
        assert ema.module[1].running_mean.item() == pytest.approx(-expect)  # BatchNorm statistics too
    for bad in (-0.1, 1.0):
        with pytest.raises(ValueError, match="TrainConfig.ema"):
            TrainConfig(ema=bad)


def test_fit_trains_on_its_threads_and_puts_the_callers_count_back(tmp_path):
    torch = pytest.importorskip("torch")

    from gesturekit.train.loop import TrainConfig, fit

    class Net(torch.nn.Linear):
        arch = "linear"

    seen = []

    def loss_fn(m, batch):
        seen.append(torch.get_num_threads())
        x, y = batch
        return torch.nn.functional.mse_loss(m(x), y)

    data = torch.utils.data.TensorDataset(torch.randn(8, 2), torch.randn(8, 1))
    before = torch.get_num_threads()
    mine = 1 if before != 1 else 2
    cfg = TrainConfig(epochs=1, batch_size=4, lr=1e-2, threads=mine, workers=0, out=str(tmp_path), monitor="score")
    fit(Net(2, 1), data, loss_fn, lambda m: {"score": 0.0}, cfg)
    assert seen and set(seen) == {mine}
    assert torch.get_num_threads() == before
