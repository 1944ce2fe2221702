"""One Runner over ONNX Runtime (CPU) and torch (CPU or CUDA).

A model file is either an ``.onnx`` graph or a ``.pt`` checkpoint written by
:mod:`gesturekit.train.export`; both carry the same metadata (task, arch,
layout, input size) so a Runner rebuilds what it needs from the file alone.
torch is imported only on the torch branch.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import ModelFileError, missing_extra

META_KEY = "gesturekit"
_PACKAGE = Path(__file__).resolve().parent
# an installed wheel carries the weights as gesturekit/models; a checkout has them beside the package
MODELS_DIR = _PACKAGE / "models" if (_PACKAGE / "models").is_dir() else _PACKAGE.parent / "models"


MODELS_ENV = "GESTUREKIT_MODELS"
# what backend="auto" makes of a suffix; anything else is refused rather than guessed
_SUFFIX_BACKEND = {".onnx": "onnx", ".pt": "torch", ".pth": "torch"}


def _nvidia_driver() -> bool:
    # cheap: importing torch just to ask for CUDA costs a second or more on every CPU-only start
    return Path("/proc/driver/nvidia/version").exists() or shutil.which("nvidia-smi") is not None


def _torch_has_cuda_build() -> bool:
    # a CPU wheel ships no libtorch_cuda: tell without importing torch (seconds) just to say no
    spec = importlib.util.find_spec("torch")
    if spec is None or spec.origin is None:
        return False
    return any((Path(spec.origin).parent / "lib").glob("libtorch_cuda*"))


def shipped_backend(backend: str = "auto", device: str = "auto") -> str:
    """The backend that runs a shipped model (each ships as .onnx and .pt) for these options.

    "auto" takes ONNX Runtime (the fast CPU path, and the GPU with onnxruntime-gpu), unless the
    device may be a GPU that only torch can reach: CUDA wanted or an NVIDIA driver present, no
    CUDA ONNX Runtime, and torch with CUDA installed. Then the .pt runs on the GPU through torch.
    """
    if backend != "auto" or device == "cpu":
        return "onnx" if backend == "auto" else backend
    if device == "auto" and not _nvidia_driver():
        return "onnx"
    try:
        import onnxruntime as ort

        if "CUDAExecutionProvider" in ort.get_available_providers():
            return "onnx"
    except ImportError:
        pass
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1") or not _torch_has_cuda_build():
        return "onnx"   # device="cuda" then fails in Runner.load with what to install
    import torch

    return "torch" if torch.cuda.is_available() else "onnx"


def file_id(path: str | Path) -> str:
    """``name sha256 <12 hex>``: which model file a derived result (a cache, a fitted gate) came from."""
    import hashlib

    path = Path(path)
    if not path.is_file():
        raise _missing(path)
    return f"{path.name} sha256 {hashlib.sha256(path.read_bytes()).hexdigest()[:12]}"


def default_model(name: str, backend: str = "auto", device: str = "auto") -> Path:
    """Path of a shipped model in ``models/`` (``GESTUREKIT_MODELS`` overrides the folder).

    An ``.onnx`` name becomes its ``.pt`` twin when :func:`shipped_backend` picks torch (which
    cannot read an .onnx): ``backend="torch"``, or a CUDA GPU that only torch reaches (then only
    where the twin exists: a folder of .onnx files alone still runs, on ONNX Runtime)."""
    # an empty variable (``GESTUREKIT_MODELS= cmd``) means unset, not the current folder
    folder = Path(os.environ.get(MODELS_ENV) or MODELS_DIR)
    if name.endswith(".onnx") and shipped_backend(backend, device) == "torch":
        pt = folder / (name[: -len(".onnx")] + ".pt")
        if backend == "torch" or pt.is_file():
            return pt
    return folder / name


# more threads than this is a typo: ONNX Runtime starts every one of them (1,024 took 33 s to load
# on a 2-core machine, 10**6 never finished)
MAX_THREADS = 256


def check_threads(threads: object) -> None:
    """ValueError unless ``threads`` is None or an int in 1..:data:`MAX_THREADS` (0 and negatives
    reach ORT and torch differently: ORT's default for one, a RuntimeError for the other)."""
    if threads is not None and (not isinstance(threads, int) or isinstance(threads, bool)
                                or not 1 <= threads <= MAX_THREADS):
        raise ValueError(f"threads: must be None or an int in 1..{MAX_THREADS}, got {threads!r}")


def _missing(path: Path) -> ModelFileError:
    if path.is_dir():
        return ModelFileError(f"{path}: is a folder, not a model file")
    env = os.environ.get(MODELS_ENV)
    hint = f" ({MODELS_ENV}={env} is set: unset it to use the shipped models)" if env and path.parent == Path(env) else ""
    return ModelFileError(f"{path}: model file not found{hint}")


def _check_meta(path: Path, meta: object) -> dict:
    """The metadata a Runner and its users read, checked once here so that a hand-edited or
    foreign file fails with its name instead of a KeyError later."""
    if not isinstance(meta, dict):
        raise ModelFileError(f"{path}: gesturekit metadata is a {type(meta).__name__}, expected a dict")
    if not isinstance(meta.get("task"), str):
        raise ModelFileError(f"{path}: gesturekit metadata has no 'task'")
    size = meta.get("input_size")
    sizes = [size] if isinstance(size, int) else size if isinstance(size, (list, tuple)) and len(size) == 2 else None
    if sizes is None or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in sizes):
        raise ModelFileError(f"{path}: gesturekit metadata 'input_size' is {size!r}, expected an int or [h, w] > 0")
    outs = meta.get("outputs")
    if not isinstance(outs, list) or not outs or not all(isinstance(o, str) for o in outs):
        raise ModelFileError(f"{path}: gesturekit metadata 'outputs' is {outs!r}, expected a list of names")
    if meta.get("layout") is not None and not isinstance(meta["layout"], dict):
        raise ModelFileError(f"{path}: gesturekit metadata 'layout' is a {type(meta['layout']).__name__}, expected a dict")
    return meta


def require_outputs(runner: Runner, names: set[str]) -> None:
    """ModelFileError naming the file when ``runner``'s model lacks one of ``names``."""
    missing = set(names) - set(runner.meta["outputs"])
    if missing:
        raise ModelFileError(f"{runner.path}: {runner.meta['task']} model lacks outputs {sorted(missing)}")


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

        ``threads`` (None: the library's default) is this model's intra-op thread count: ONNX
        Runtime keeps it per session; torch's is process-wide, so it is set only while this
        model runs and the caller's count is put back after (:func:`torch_threads`).

        ``spin_wait`` keeps ONNX Runtime's worker threads spinning between runs: fastest for one
        model called in a loop, but where several models take turns on the same cores (the
        tracker) the spinning threads of one take the cores from the next, so turn it off there."""
        if backend not in ("auto", "onnx", "torch"):
            raise ValueError(f"backend: {backend!r} is not one of 'auto', 'onnx', 'torch'")
        if device not in ("auto", "cpu", "cuda"):
            raise ValueError(f"device: {device!r} is not one of 'auto', 'cpu', 'cuda'")
        check_threads(threads)
        path = Path(path)
        if not path.is_file():
            raise _missing(path)
        suffix = path.suffix.lower()
        if backend == "auto":
            if suffix not in _SUFFIX_BACKEND:
                raise ModelFileError(f"{path}: unknown model file type {path.suffix!r} "
                                     "(expected .onnx or .pt, or name the backend)")
            backend = _SUFFIX_BACKEND[suffix]
        if backend == "onnx" and suffix != ".onnx":
            raise ModelFileError(f"{path}: backend 'onnx' needs an .onnx file")
        if backend == "torch" and suffix == ".onnx":
            raise ModelFileError(f"{path}: backend 'torch' needs a .pt file (an .onnx is read by backend 'onnx')")
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
    has_cuda = "CUDAExecutionProvider" in ort.get_available_providers()
    if device == "cuda" and not has_cuda:  # as torch does: asked for, not silently ignored
        raise ValueError("device: 'cuda' asked for but ONNX Runtime has no CUDAExecutionProvider (install "
                         "onnxruntime-gpu, or use the .pt model with backend='torch', or device='auto')")
    if device in ("auto", "cuda") and has_cuda:
        providers.insert(0, "CUDAExecutionProvider")
    try:
        sess = ort.InferenceSession(str(path), so, providers=providers)
    except Exception as e:  # onnxruntime raises its own Fail/InvalidProtobuf types
        import zipfile

        if zipfile.is_zipfile(path):   # what torch.save writes
            raise ModelFileError(f"{path}: a torch file, not ONNX; name it .pt (or export it to ONNX)") from None
        raise ModelFileError(f"{path}: not a valid ONNX model (truncated or corrupt?): {e}") from None
    raw = sess.get_modelmeta().custom_metadata_map.get(META_KEY)
    if raw is None:
        raise ModelFileError(f"{path}: ONNX file has no gesturekit metadata (not exported by gesturekit)")
    try:
        meta = json.loads(raw)
    except ValueError as e:
        raise ModelFileError(f"{path}: gesturekit metadata is not valid JSON ({e})") from None
    meta = _check_meta(path, meta)
    name = sess.get_inputs()[0].name
    outs = [o.name for o in sess.get_outputs()]
    # the metadata names what the graph gives: a graph of another kind under borrowed metadata
    # would otherwise load and fail on its first frame
    if set(meta["outputs"]) - set(outs):
        raise ModelFileError(f"{path}: metadata names outputs {meta['outputs']}, the graph gives {outs}")
    size = meta["input_size"]
    want = [3, *((size, size) if isinstance(size, int) else size)]
    have = sess.get_inputs()[0].shape[1:]
    if len(have) != 3 or any(isinstance(h, int) and h != w for h, w in zip(have, want)):
        raise ModelFileError(f"{path}: metadata says input {want}, the graph takes {have}")

    def run(batch: np.ndarray) -> dict[str, np.ndarray]:
        return dict(zip(outs, sess.run(outs, {name: batch})))

    return Runner(path, "onnx", meta, run)


def load_torch_checkpoint(path: str | Path, map_location="cpu") -> dict:
    """``torch.load(weights_only=True)`` of a checkpoint dict, or one ModelFileError naming ``path``."""
    path = Path(path)
    try:
        import torch
    except ImportError as e:
        raise ImportError(f"{path}: {missing_extra('train', 'torch')} (or use the .onnx model)") from e
    if not path.is_file():
        raise ModelFileError(f"{path}: checkpoint file not found")
    # torch.save writes a zip holding a data.pkl: anything else (an .onnx, a truncated copy, an
    # .npz) gets a plain answer, not torch's long note on weights_only or its "enforce fail"
    if not zipfile.is_zipfile(path) or not _has_data_pkl(path):
        raise ModelFileError(f"{path}: not a torch checkpoint (truncated, or another kind of file such as an .onnx)")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # a damaged zip, pickle refused by weights_only, …
        why = str(e).strip().splitlines()[0].split(". ")[0][:200] if str(e).strip() else type(e).__name__
        raise ModelFileError(f"{path}: cannot load torch checkpoint (corrupt or unsafe): {why}") from None
    if not isinstance(ckpt, dict):
        raise ModelFileError(f"{path}: not a gesturekit checkpoint (holds a {type(ckpt).__name__}, expected a dict)")
    return ckpt


def _has_data_pkl(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as z:
            return any(n.endswith("data.pkl") for n in z.namelist())
    except (OSError, zipfile.BadZipFile):
        return False


_TORCH_THREADS = threading.Lock()


@contextmanager
def torch_threads(threads: int | None, exclusive: bool = True) -> Iterator[None]:
    """Run the body with torch's intra-op thread count at ``threads`` (None: as it is), then put
    the caller's count back.

    ``torch.set_num_threads`` is process-wide: set once at load, a Runner asked for 1 thread (the
    tracker's, or the handedness net's) slowed every later torch call of the user's program. Runners
    that switch it take turns (a lock), so two of them on different threads restore in order; torch
    code of the user's running on another thread at that moment still shares the count. Where the
    count is already ``threads`` nothing is switched and nothing waits.

    ``exclusive=False`` switches without taking turns: for a training run, which would otherwise keep
    every Runner of another thread waiting for its whole length."""
    if not threads:
        yield
        return
    import torch

    if torch.get_num_threads() == threads:
        yield
        return
    with _TORCH_THREADS if exclusive else nullcontext():
        before = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            yield
        finally:
            torch.set_num_threads(before)


def _load_torch(path: Path, device: str, threads: int | None) -> Runner:
    ckpt = load_torch_checkpoint(path)
    import torch

    from .nn import create_model

    if "model" in ckpt and "arch" in ckpt and "meta" not in ckpt:  # best.pt / last.pt of a run
        raise ModelFileError(f"{path}: a training checkpoint; export it first "
                             "(its train command again with --export FILE.pt)")
    if "model" not in ckpt or "meta" not in ckpt:
        raise ModelFileError(f"{path}: not a gesturekit checkpoint (needs 'model' and 'meta')")
    meta = _check_meta(path, ckpt["meta"])
    if not isinstance(meta.get("arch"), dict) or not isinstance(meta["arch"].get("name"), str):
        raise ModelFileError(f"{path}: gesturekit metadata has no 'arch' with a 'name'")
    if not isinstance(ckpt["model"], dict):
        raise ModelFileError(f"{path}: 'model' is a {type(ckpt['model']).__name__}, expected a state dict")
    arch = dict(meta["arch"])
    try:
        model = create_model(arch.pop("name"), **arch)
    except (TypeError, ValueError) as e:  # an unknown name, or arguments it does not take
        raise ModelFileError(f"{path}: cannot build architecture {meta['arch']}: {e}") from None
    try:
        model.load_state_dict(ckpt["model"])
    except RuntimeError as e:
        raise ModelFileError(f"{path}: weights do not match architecture {meta['arch']}: {e}") from None
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device: 'cuda' asked for but torch sees no CUDA GPU")
    model.eval().to(device)
    outs = meta["outputs"]

    @torch.inference_mode()
    def run(batch: np.ndarray) -> dict[str, np.ndarray]:
        with torch_threads(threads):
            res = model(torch.from_numpy(batch).to(device))
            return {k: res[k].float().cpu().numpy() for k in outs}

    return Runner(path, "torch", meta, run)
