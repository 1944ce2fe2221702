"""The ``gesturekit`` command. Each sub-command lives in its own module here and
registers itself with :func:`add_commands`."""

from __future__ import annotations

import argparse
import os
import sys

from . import eval as _eval
from . import gestures as _gestures
from . import predict as _predict
from . import train as _train

_MODULES = [_train, _eval, _gestures, _predict]

# top-level modules of the optional extras: sub-commands import them late, and a bare
# "No module named 'torch'" does not say what to install
_EXTRA_OF = {"torch": "train", "onnx": "train", "albumentations": "train", "tqdm": "train",
             "matplotlib": "train", "PyQt6": "qt", "pynput": "control", "tensorflow": "tf"}
_CPU_TORCH = "pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gesturekit", description="Hands as an input device.")
    sub = parser.add_subparsers(dest="command", required=True)
    for mod in _MODULES:
        mod.add_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:  # `gesturekit … | head`: the reader left; not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit's flush
        return 0
    except ImportError as e:
        print(f"gesturekit: error: {_import_message(e)}", file=sys.stderr)
        return 2
    except (ValueError, OSError) as e:  # OSError: e.g. --out names a folder or an unwritable place
        print(f"gesturekit: error: {e}", file=sys.stderr)
        return 2


def _import_message(e: ImportError) -> str:
    """The error's text, naming the pip install when the missing module belongs to an extra."""
    from ..errors import missing_extra

    top = (e.name or "").split(".")[0] if isinstance(e, ModuleNotFoundError) else ""
    if top not in _EXTRA_OF:
        return str(e)
    msg = str(missing_extra(_EXTRA_OF[top], top))
    # PyPI's Linux torch is the CUDA build, several GB: say how to get the CPU one first
    return f"{msg} (for the CPU-only torch, first: {_CPU_TORCH})" if top == "torch" else msg


if __name__ == "__main__":
    sys.exit(main())
