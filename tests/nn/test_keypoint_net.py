import numpy as np
import pytest

torch = pytest.importorskip("torch")

from gesturekit.nn import create_model  # noqa: E402
from gesturekit.train.loop import warm_start  # noqa: E402


def _trained(arch: str, path):
    """A net with weights and BatchNorm statistics away from their init (so a function-preserving load
    means something), saved to ``path``; returned in eval mode."""
    net = create_model(arch, num_points=21, input_size=128)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(torch.randn_like(p) * 0.05)
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 2.0)
    torch.save({"model": net.state_dict()}, path)
    return net.eval()


@pytest.mark.parametrize("arch", ["kpnet_simcc", "kpnet_simcc_fine", "kpnet_simcc_deep", "kpnet_simcc_wide",
                                  "kpnet_simcc_attn", "kpnet_coord"])
def test_every_keypoint_net_gives_points_in_the_crop_and_confidences(arch):
    torch.manual_seed(0)
    m = create_model(arch, num_points=12, input_size=128).eval()
    with torch.no_grad():
        out = m(torch.rand(2, 3, 128, 128))
    assert out["xy"].shape == (2, 12, 2) and out["conf"].shape == (2, 12)
    assert out["xy"].abs().max() <= 1.0 and ((out["conf"] >= 0) & (out["conf"] <= 1)).all()


def test_a_coarse_checkpoint_loads_into_the_fine_head_with_its_function_unchanged(tmp_path):
    torch.manual_seed(0)
    coarse = _trained("kpnet_simcc", tmp_path / "coarse.pt")
    fine = create_model("kpnet_simcc_fine", num_points=21, input_size=128)
    n = warm_start(fine, tmp_path / "coarse.pt")
    assert n == len(coarse.state_dict())   # every coarse tensor found its place
    fine.eval()
    x = torch.rand(3, 3, 128, 128)
    with torch.no_grad():
        a, b = coarse(x), fine(x)
    np.testing.assert_allclose(a["simcc_x"].numpy(), b["simcc_x"].numpy(), atol=1e-4)
    np.testing.assert_allclose(a["xy"].numpy(), b["xy"].numpy(), atol=1e-5)
    with torch.no_grad():  # and the fine branch does change the output once it has weights
        fine.head.fine[-1].weight.add_(0.5)
        assert (fine(x)["simcc_x"] - a["simcc_x"]).abs().max() > 1e-2


def _train_extra_block(net):
    net.backbone.stages[2][-1].block[-1][1].weight.fill_(1.0)


def _train_new_hidden_channels(net):
    project = net.backbone.stages[2][0].block[-1][0].weight   # a block's output conv
    project[:, project.shape[1] // 2:] = 0.1


def _train_point_attention(net):
    net.head.attention[-1].proj.weight.fill_(0.05)


@pytest.mark.parametrize("small, big, train_new_part", [
    ("kpnet_simcc_fine", "kpnet_simcc_deep", _train_extra_block),
    ("kpnet_simcc_fine", "kpnet_simcc_wide", _train_new_hidden_channels),
    ("kpnet_simcc_wide", "kpnet_simcc_attn", _train_point_attention),
])
def test_a_checkpoint_grows_into_the_bigger_net_with_its_function_unchanged(tmp_path, small, big, train_new_part):
    torch.manual_seed(0)
    net = _trained(small, tmp_path / "small.pt")
    grown = create_model(big, num_points=21, input_size=128)
    assert warm_start(grown, tmp_path / "small.pt") == len(net.state_dict())   # every tensor found its place
    assert sum(p.numel() for p in grown.parameters()) > 1.25 * sum(p.numel() for p in net.parameters())
    grown.eval()
    x = torch.rand(3, 3, 128, 128)
    with torch.no_grad():
        a = net(x)
        np.testing.assert_allclose(a["simcc_x"].numpy(), grown(x)["simcc_x"].numpy(), atol=1e-4)
        train_new_part(grown)   # and the new part does change the output once it has weights
        assert (grown(x)["simcc_x"] - a["simcc_x"]).abs().max() > 1e-3


def test_a_checkpoint_of_another_layout_loads_only_the_tensors_whose_shapes_match(tmp_path):
    twelve = create_model("kpnet_simcc_fine", num_points=12, input_size=128)
    torch.save({"model": twelve.state_dict()}, tmp_path / "twelve.pt")
    assert warm_start(create_model("kpnet_simcc_fine", num_points=21, input_size=128), tmp_path / "twelve.pt") < \
        len(twelve.state_dict())


@pytest.mark.parametrize("arch, kwargs", [
    ("kpnet_simcc", {"input_size": 120}),     # built, then failed on the first batch deep in torch
    ("kpnet_simcc_fine", {"input_size": 100}),
    ("kpnet_simcc", {"input_size": 128.0}),
    ("kpnet_simcc", {"num_points": 0}),
    ("handdet_s4", {"input_size": (0, 0)}),
    ("handdet_s4", {"input_size": (200, 256)}),
])
def test_sizes_that_cannot_work_are_refused_when_built(arch, kwargs):
    name = "num_points" if "num_points" in kwargs else "input_size"
    with pytest.raises(ValueError, match=name):
        create_model(arch, **kwargs)
    assert create_model("kpnet_coord", input_size=100)  # the coord head pools: any size works


@pytest.mark.parametrize("kwargs, match", [
    ({"attention": -1}, "attention"), ({"attention": 1.0}, "attention"), ({"attention": True}, "attention"),
    ({"head": "coord", "attention": 1}, "only the simcc head"),
])
def test_attention_that_cannot_work_is_refused_when_built(kwargs, match):
    from gesturekit.nn.keypoint_net import KeypointNet

    with pytest.raises(ValueError, match=match):
        KeypointNet(**kwargs)
