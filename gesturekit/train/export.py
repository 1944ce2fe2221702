"""Export trained networks to the shipped pair: a small ``.pt`` and an ``.onnx``, checked to agree."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from ..errors import ModelFileError
from ..nn import create_model
from ..runtime import META_KEY, Runner, load_torch_checkpoint


def export_model(model: torch.nn.Module, meta: dict, out: str | Path, opset: int = 17,
                 atol: float = 1e-3) -> tuple[Path, Path, float]:
    """Write ``out`` (.pt) and ``out`` with .onnx; returns both paths and the max torch/ORT difference.

    ``meta`` needs ``task``, ``arch``, ``input_size`` (int or (h, w)) and ``outputs`` (names of the
    forward dict to export).
    """
    import onnx

    out = Path(out).with_suffix(".pt")
    out.parent.mkdir(parents=True, exist_ok=True)
    model = model.eval().float().to(memory_format=torch.contiguous_format)
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    torch.save({"model": state, "meta": meta}, out)
    size = meta["input_size"]
    h, w = (size, size) if isinstance(size, int) else size
    names = list(meta["outputs"])

    class Wrapped(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, x):
            r = self.m(x)
            return tuple(r[k] for k in names)

    onnx_path = out.with_suffix(".onnx")
    x = torch.rand(1, 3, h, w)
    torch.onnx.export(Wrapped(model), (x,), str(onnx_path), input_names=["images"], output_names=names,
                      dynamic_axes={"images": {0: "batch"}, **{n: {0: "batch"} for n in names}},
                      opset_version=opset, dynamo=False)
    proto = onnx.load(str(onnx_path))
    entry = proto.metadata_props.add()
    entry.key, entry.value = META_KEY, json.dumps(meta)
    onnx.save(proto, str(onnx_path))
    diff = check_parity(out, onnx_path, (3, h, w), atol)
    return out, onnx_path, diff


def check_parity(pt: Path, onnx_path: Path, shape: tuple[int, int, int], atol: float = 1e-3) -> float:
    """Max absolute difference of every output between torch and ONNX Runtime on random batches."""
    rng = np.random.default_rng(0)
    batch = rng.random((4, *shape), dtype=np.float32)
    a, b = Runner.load(pt, "torch", "cpu"), Runner.load(onnx_path, "onnx")
    ra, rb = a(batch), b(batch)
    diff = max(float(np.abs(ra[k] - rb[k]).max()) for k in ra)
    if diff > atol:
        raise RuntimeError(f"{onnx_path}: ONNX Runtime differs from torch by {diff:.2e} (> {atol})")
    return diff


def export_keypoints(checkpoint: str | Path, out: str | Path) -> tuple[Path, Path]:
    """Export a keypoint training checkpoint (``best.pt``) to ``out``.pt/.onnx."""
    ckpt = load_torch_checkpoint(checkpoint)
    if not isinstance(ckpt.get("arch"), dict) or "model" not in ckpt:
        raise ModelFileError(f"{checkpoint}: not a keypoint training checkpoint (needs 'model' and 'arch'; "
                             "an exported .pt is already exported)")
    arch = dict(ckpt["arch"])
    model = create_model(arch.pop("name"), **arch)
    model.load_state_dict(ckpt["model"])
    meta = {"task": "keypoints", "arch": ckpt["arch"], "input_size": ckpt["arch"].get("input_size", 128),
            "layout": ckpt.get("layout"), "outputs": ["xy", "conf"], "metrics": ckpt.get("metrics", {})}
    pt, onnx_path, diff = export_model(model, meta, out)
    print(f"torch vs ONNX Runtime max |diff| = {diff:.2e}")
    return pt, onnx_path
