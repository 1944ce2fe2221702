"""One Runner over ONNX Runtime (CPU) and torch (CPU or CUDA).

A model file is either an ``.onnx`` graph or a ``.pt`` checkpoint written by
:mod:`gesturekit.train.export`; both carry the same metadata (task, arch,
layout, input size) so a Runner rebuilds what it needs from the file alone.
torch is imported only on the torch branch.
"""

from __future__ import annotations

import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import ModelFileError, missing_extra

META_KEY = "gesturekit"
_PACKAGE = Path(__file__).resolve().parent
# an installed wheel carries the weights as gesturekit/models; a checkout has them beside the package
MODELS_DIR = _PACKAGE / "models" if (_PACKAGE / "models").is_dir() else _PACKAGE.parent / "models"


def default_model(name: str) -> Path:
    """Path of a shipped model in ``models/`` (``GESTUREKIT_MODELS`` overrides the folder)."""
    return Path(os.environ.get("GESTUREKIT_MODELS", MODELS_DIR)) / name


@dataclass
class Runner:
    """Runs a gesturekit network: ``runner(batch)`` → dict of numpy outputs.

    ``batch`` is ``(B, 3, H, W)`` float32 RGB in 0..1.
    """

    path: Path
    backend: str
    meta: dict
    _fn: object

    @property
    def input_size(self) -> int | tuple[int, int]:
        return self.meta["input_size"]

    def __call__(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        return self._fn(np.ascontiguousarray(batch, dtype=np.float32))

    @classmethod
    def load(cls, path: str | Path, backend: str = "auto", device: str = "auto", threads: int | None = None,
             task: str | None = None, spin_wait: bool = True) -> Runner:
        """Load ``path``; ``backend`` auto picks from the suffix, ``task`` checks the file holds that model.

        ``spin_wait`` keeps ONNX Runtime's worker threads spinning between runs: fastest for one
        model called in a loop, but where several models take turns on the same cores (the
        tracker) the spinning threads of one take the cores from the next, so turn it off there."""
        if backend not in ("auto", "onnx", "torch"):
            raise ValueError(f"backend: {backend!r} is not one of 'auto', 'onnx', 'torch'")
        if device not in ("auto", "cpu", "cuda"):
            raise ValueError(f"device: {device!r} is not one of 'auto', 'cpu', 'cuda'")
        path = Path(path)
        if not path.is_file():
            raise ModelFileError(f"{path}: model file not found")
        if backend == "auto":
            backend = "onnx" if path.suffix == ".onnx" else "torch"
        if backend == "onnx" and path.suffix != ".onnx":
            raise ModelFileError(f"{path}: backend 'onnx' needs an .onnx file")
        runner = _load_onnx(path, threads, device, spin_wait) if backend == "onnx" else _load_torch(path, device, threads)
        if task is not None and runner.meta.get("task") != task:
            raise ModelFileError(f"{path}: holds a {runner.meta.get('task')!r} model, expected a {task!r} model")
        return runner


def _load_onnx(path: Path, threads: int | None, device: str, spin_wait: bool) -> Runner:
    import onnxruntime as ort

    so = ort.SessionOptions()
    if threads:
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
    if not spin_wait:
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    providers = ["CPUExecutionProvider"]
    if device in ("auto", "cuda") and "CUDAExecutionProvider" in ort.get_available_providers():
        providers.insert(0, "CUDAExecutionProvider")
    try:
        sess = ort.InferenceSession(str(path), so, providers=providers)
    except Exception as e:  # onnxruntime raises its own Fail/InvalidProtobuf types
        raise ModelFileError(f"{path}: not a valid ONNX model (truncated or corrupt?): {e}") from None
    raw = sess.get_modelmeta().custom_metadata_map.get(META_KEY)
    if raw is None:
        raise ModelFileError(f"{path}: ONNX file has no gesturekit metadata (not exported by gesturekit)")
    meta = json.loads(raw)
    name = sess.get_inputs()[0].name
    outs = [o.name for o in sess.get_outputs()]

    def run(batch: np.ndarray) -> dict[str, np.ndarray]:
        return dict(zip(outs, sess.run(outs, {name: batch})))

    return Runner(path, "onnx", meta, run)


def load_torch_checkpoint(path: str | Path, map_location="cpu") -> dict:
    """``torch.load(weights_only=True)`` of a checkpoint dict, or one ModelFileError naming ``path``."""
    try:
        import torch
    except ImportError as e:
        raise missing_extra("train", "torch") from e
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: checkpoint file not found")
    # torch.save writes a zip: anything else (an .onnx, a truncated copy) gets a plain answer, not
    # torch's long note on weights_only
    if not zipfile.is_zipfile(path):
        raise ModelFileError(f"{path}: not a torch checkpoint (truncated, or another kind of file such as an .onnx)")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # a damaged zip, pickle refused by weights_only, …
        why = str(e).strip().splitlines()[0].split(". ")[0][:200] if str(e).strip() else type(e).__name__
        raise ModelFileError(f"{path}: cannot load torch checkpoint (corrupt or unsafe): {why}") from None
    if not isinstance(ckpt, dict):
        raise ModelFileError(f"{path}: not a gesturekit checkpoint (holds a {type(ckpt).__name__}, expected a dict)")
    return ckpt


def _load_torch(path: Path, device: str, threads: int | None) -> Runner:
    ckpt = load_torch_checkpoint(path)
    import torch

    from .nn import create_model

    if "model" in ckpt and "arch" in ckpt and "meta" not in ckpt:  # best.pt / last.pt of a run
        raise ModelFileError(f"{path}: a training checkpoint; export it first "
                             "(its train command again with --export FILE.pt)")
    if "model" not in ckpt or "meta" not in ckpt:
        raise ModelFileError(f"{path}: not a gesturekit checkpoint (needs 'model' and 'meta')")
    meta = ckpt["meta"]
    arch = dict(meta["arch"])
    model = create_model(arch.pop("name"), **arch)
    try:
        model.load_state_dict(ckpt["model"])
    except RuntimeError as e:
        raise ModelFileError(f"{path}: weights do not match architecture {meta['arch']}: {e}") from None
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device: 'cuda' asked for but torch sees no CUDA GPU")
    if threads:
        torch.set_num_threads(threads)
    model.eval().to(device)
    outs = meta["outputs"]

    @torch.inference_mode()
    def run(batch: np.ndarray) -> dict[str, np.ndarray]:
        res = model(torch.from_numpy(batch).to(device))
        return {k: res[k].float().cpu().numpy() for k in outs}

    return Runner(path, "torch", meta, run)
