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
    except (ValueError, OSError, ImportError) as e:  # OSError: e.g. --out names a folder or an unwritable place
        print(f"gesturekit: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
