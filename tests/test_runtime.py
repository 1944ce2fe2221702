"""Runner.load: every bad model file or option gives one error naming the file and the problem."""

from __future__ import annotations

import json
import sys
import zipfile

import numpy as np
import pytest
from fakes import pretend_gpu

from gesturekit.errors import ModelFileError
from gesturekit.runtime import MODELS_DIR, Runner, default_model, file_id


def _tiny_onnx(path, meta: str | None, output: str = "xy"):
    """An Identity graph (images → ``output``) with ``meta`` as its gesturekit metadata."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("images", TensorProto.FLOAT, ["b", 3, 16, 16])
    y = helper.make_tensor_value_info(output, TensorProto.FLOAT, ["b", 3, 16, 16])
    graph = helper.make_graph([helper.make_node("Identity", ["images"], [output])], "g", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    if meta is not None:
        entry = model.metadata_props.add()
        entry.key, entry.value = "gesturekit", meta
    onnx.save(model, str(path))
    return path


GOOD_META = {"task": "keypoints", "input_size": 16, "outputs": ["xy"]}


def test_a_tiny_onnx_with_good_metadata_loads_and_runs(tmp_path):
    r = Runner.load(_tiny_onnx(tmp_path / "ok.onnx", json.dumps(GOOD_META)), task="keypoints")
    assert r(np.zeros((1, 3, 16, 16)))["xy"].shape == (1, 3, 16, 16)


@pytest.mark.parametrize("meta, match", [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "is a list, expected a dict"),
    (json.dumps({**GOOD_META, "input_size": None}), "'input_size'"),
    (json.dumps({**GOOD_META, "input_size": [16]}), "'input_size'"),
    (json.dumps({**GOOD_META, "outputs": "xy"}), "'outputs'"),
    (json.dumps({**GOOD_META, "layout": "hand21"}), "'layout'"),
    (json.dumps({k: v for k, v in GOOD_META.items() if k != "task"}), "'task'"),
    # a graph of one kind under another's metadata: refused at load, not on the first frame
    (json.dumps({**GOOD_META, "outputs": ["scores", "size"]}), "the graph gives"),
    (json.dumps({**GOOD_META, "input_size": 128}), "the graph takes"),
])
def test_bad_onnx_metadata_is_named(tmp_path, meta, match):
    path = _tiny_onnx(tmp_path / "bad.onnx", meta)
    with pytest.raises(ModelFileError, match=match) as e:
        Runner.load(path)
    assert "bad.onnx" in str(e.value)


def test_a_torch_file_named_onnx_is_called_what_it_is(tmp_path):
    import zipfile

    with zipfile.ZipFile(tmp_path / "m.onnx", "w") as z:   # torch.save writes a zip archive
        z.writestr("m/data.pkl", b"weights")
    with pytest.raises(ModelFileError, match=r"m\.onnx: a torch file, not ONNX"):
        Runner.load(tmp_path / "m.onnx")


def test_a_folder_is_not_called_missing(tmp_path):
    (tmp_path / "m.onnx").mkdir()
    with pytest.raises(ModelFileError, match="m.onnx: is a folder"):
        Runner.load(tmp_path / "m.onnx")


def test_file_id_is_by_content_and_names_a_missing_file(tmp_path):
    a, b = tmp_path / "a" / "m.onnx", tmp_path / "b" / "m.onnx"
    for p, content in ((a, b"one"), (b, b"two")):
        p.parent.mkdir()
        p.write_bytes(content)
    assert file_id(a) != file_id(b) and file_id(a).startswith("m.onnx sha256 ")
    b.write_bytes(b"one")
    assert file_id(a) == file_id(b)
    with pytest.raises(ModelFileError, match="gone.onnx: model file not found"):
        file_id(tmp_path / "gone.onnx")


@pytest.mark.parametrize("name", ["detector.bin", "presence.npz", "model"])
def test_an_unknown_suffix_is_refused_not_guessed(tmp_path, name):
    (tmp_path / name).write_bytes(b"PK\x05\x06" + bytes(18))  # an empty zip: what torch.load would try
    with pytest.raises(ModelFileError, match="unknown model file type"):
        Runner.load(tmp_path / name)


def test_a_zip_that_is_no_torch_checkpoint_is_named(tmp_path):
    pytest.importorskip("torch")
    path = tmp_path / "weights.pt"
    with zipfile.ZipFile(path, "w") as z:  # an .npz renamed, say
        z.writestr("W0.npy", b"\x93NUMPY")
    with pytest.raises(ModelFileError, match="weights.pt: not a torch checkpoint"):
        Runner.load(path)


@pytest.mark.parametrize("threads", [0, -1, 1.5, "2", True])
def test_bad_threads_are_refused_before_loading(threads):
    with pytest.raises(ValueError, match="threads"):
        Runner.load(default_model("keypoints.onnx"), threads=threads)


def test_cuda_without_a_cuda_onnx_runtime_is_an_error_not_a_silent_cpu(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("this ONNX Runtime has CUDA")
    path = _tiny_onnx(tmp_path / "ok.onnx", json.dumps(GOOD_META))
    with pytest.raises(ValueError, match="cuda"):
        Runner.load(path, device="cuda")
    assert Runner.load(path, device="auto").backend == "onnx"


def test_torch_backend_on_an_onnx_file_says_so(tmp_path):
    path = _tiny_onnx(tmp_path / "ok.onnx", json.dumps(GOOD_META))
    with pytest.raises(ModelFileError, match="backend 'torch' needs a .pt"):
        Runner.load(path, backend="torch")


def test_missing_torch_names_the_file(monkeypatch, tmp_path):
    (tmp_path / "k.pt").write_bytes(b"x")
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch now raises ImportError
    with pytest.raises(ImportError, match=r"k\.pt: torch is needed.*gesturekit\[train\]"):
        Runner.load(tmp_path / "k.pt")


def test_models_env(monkeypatch, tmp_path):
    monkeypatch.setenv("GESTUREKIT_MODELS", "")  # empty means unset, not the current folder
    assert default_model("detector.onnx") == MODELS_DIR / "detector.onnx"
    assert default_model("detector.onnx", "torch").name == "detector.pt"
    monkeypatch.setenv("GESTUREKIT_MODELS", str(tmp_path))
    with pytest.raises(ModelFileError, match="GESTUREKIT_MODELS=.* is set"):
        Runner.load(default_model("detector.onnx"))


# --- torch checkpoints ---------------------------------------------------------------------------

def _tiny_pt(tmp_path, **changes):
    torch = pytest.importorskip("torch")
    from gesturekit.nn import create_model

    arch = {"name": "facing_cnn", "input_size": 16, "width": 4}
    model = create_model(**arch)
    ckpt = {"model": model.state_dict(),
            "meta": {"task": "handedness", "arch": arch, "input_size": 16, "outputs": ["p_back"]}}
    for k, v in changes.items():
        if k == "model":
            ckpt["model"] = v
        else:
            ckpt["meta"] = {**ckpt["meta"], k: v}
    path = tmp_path / "tiny.pt"
    torch.save(ckpt, path)
    return path


def test_a_tiny_checkpoint_loads(tmp_path):
    r = Runner.load(_tiny_pt(tmp_path), task="handedness")
    assert r.backend == "torch" and r(np.zeros((2, 3, 16, 16)))["p_back"].shape == (2,)


def test_a_torch_runner_does_not_change_the_callers_thread_count(tmp_path, monkeypatch):
    """torch.set_num_threads is process-wide: a Runner asked for 1 thread (as in
    HandTracker(TrackerOptions(backend="torch", threads=1))) used to leave the user's own torch code on
    1 thread. It now runs its model on 1 thread and puts the caller's count back."""
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    mine = before + 1                            # a count of the user's own, unlike the runner's 1
    torch.set_num_threads(mine)
    try:
        r = Runner.load(_tiny_pt(tmp_path), task="handedness", threads=1)
        assert torch.get_num_threads() == mine   # loading leaves it alone
        seen = []
        real = torch.set_num_threads
        monkeypatch.setattr(torch, "set_num_threads", lambda n: (seen.append(n), real(n)))
        r(np.zeros((1, 3, 16, 16)))
        assert seen == [1, mine] and torch.get_num_threads() == mine   # 1 for its run, then the user's
        Runner.load(_tiny_pt(tmp_path), task="handedness")(np.zeros((1, 3, 16, 16)))
        assert seen == [1, mine]                 # threads None: the count is never touched
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize("changes, match", [
    ({"arch": None}, "no 'arch'"),
    ({"arch": {"name": "bogus"}}, "cannot build architecture.*bogus"),
    ({"arch": {"name": "facing_cnn", "depth": 3}}, "cannot build architecture.*depth"),
    ({"input_size": None}, "'input_size'"),
    ({"outputs": None}, "'outputs'"),
    ({"task": None}, "'task'"),
    ({"layout": "hand21"}, "'layout'"),
    ({"model": [1, 2]}, "'model' is a list"),
])
def test_bad_checkpoint_metadata_is_named(tmp_path, changes, match):
    path = _tiny_pt(tmp_path, **changes)
    with pytest.raises(ModelFileError, match=match) as e:
        Runner.load(path)
    assert "tiny.pt" in str(e.value)


def test_checkpoint_metadata_that_is_not_a_dict_is_named(tmp_path):
    torch = pytest.importorskip("torch")
    torch.save({"model": {}, "meta": "keypoints"}, tmp_path / "m.pt")
    with pytest.raises(ModelFileError, match="m.pt: gesturekit metadata is a str"):
        Runner.load(tmp_path / "m.pt")


def test_export_keypoints_refuses_an_exported_file(tmp_path):
    pytest.importorskip("torch")
    from gesturekit.train.export import export_keypoints

    with pytest.raises(ModelFileError, match="tiny.pt: not a keypoint training checkpoint"):
        export_keypoints(_tiny_pt(tmp_path), tmp_path / "out.pt")
    with pytest.raises(ModelFileError, match="nope.pt"):
        export_keypoints(tmp_path / "nope.pt", tmp_path / "out.pt")


@pytest.mark.parametrize("make", ["detector", "keypoints", "handedness"])
def test_backend_torch_loads_the_shipped_pt_by_default(make):
    pytest.importorskip("torch")
    from gesturekit import DetectorOptions, HandDetector, HandednessClassifier, LandmarkRegressor

    if not default_model(f"{make}.pt").exists():
        pytest.skip(f"no shipped {make}.pt")
    obj = {"detector": lambda: HandDetector(DetectorOptions(backend="torch", threads=1)),
           "keypoints": lambda: LandmarkRegressor(backend="torch", threads=1),
           "handedness": lambda: HandednessClassifier(backend="torch", threads=1)}[make]()
    assert obj.runner.backend == "torch" and obj.runner.path.name == f"{make}.pt"


@pytest.mark.parametrize("driver,ort_cuda,torch_cuda,device,want", [
    (False, False, False, "auto", "onnx"),   # a laptop: ONNX Runtime on the CPU
    (True, False, True, "auto", "torch"),    # a GPU only torch reaches: the .pt runs there
    (True, True, True, "auto", "onnx"),      # onnxruntime-gpu: ONNX Runtime on the GPU
    (True, False, False, "auto", "onnx"),    # a driver, but torch without CUDA
    (False, False, True, "cuda", "torch"),   # asked for CUDA: no driver check
    (True, False, True, "cpu", "onnx"),      # asked for the CPU
])
def test_the_shipped_model_runs_where_the_gpu_is(monkeypatch, driver, ort_cuda, torch_cuda, device, want):
    pretend_gpu(monkeypatch, driver=driver, ort_cuda=ort_cuda, torch_cuda=torch_cuda)
    from gesturekit import runtime

    assert runtime.shipped_backend("auto", device) == want
    assert default_model("keypoints.onnx", "auto", device).suffix == (".pt" if want == "torch" else ".onnx")
    assert runtime.shipped_backend("onnx", device) == "onnx"   # a backend named is a backend kept


def test_a_gpu_only_torch_reaches_keeps_a_folder_of_onnx_files_running(monkeypatch, tmp_path):
    # GESTUREKIT_MODELS with .onnx files alone: HandTracker() used to run them on ONNX Runtime;
    # picking the GPU through torch must not turn that into "keypoints.pt: not found"
    pretend_gpu(monkeypatch)
    (tmp_path / "keypoints.onnx").write_bytes((MODELS_DIR / "keypoints.onnx").read_bytes())
    monkeypatch.setenv("GESTUREKIT_MODELS", str(tmp_path))
    assert default_model("keypoints.onnx") == tmp_path / "keypoints.onnx"
    assert default_model("keypoints.onnx", "torch") == tmp_path / "keypoints.pt"   # asked for: kept
    (tmp_path / "keypoints.pt").write_bytes(b"")
    assert default_model("keypoints.onnx") == tmp_path / "keypoints.pt"



def test_a_gpu_machine_with_a_cpu_torch_or_hidden_gpus_never_imports_torch():
    """An NVIDIA driver, but torch is a CPU wheel (no libtorch_cuda) or CUDA_VISIBLE_DEVICES hides
    the GPUs: ONNX Runtime, decided without importing torch (seconds on every start)."""
    import os
    import subprocess

    from gesturekit import runtime

    code = ("import sys; from gesturekit import runtime; runtime._nvidia_driver = lambda: True; "
            "print(runtime.shipped_backend(), 'torch' in sys.modules)")
    cases = [{"CUDA_VISIBLE_DEVICES": ""}] + ([] if runtime._torch_has_cuda_build() else [{}])
    for env in cases:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                             env={**os.environ, **env}).stdout.split()
        assert out == ["onnx", "False"], env
