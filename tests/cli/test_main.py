"""The gesturekit command as a whole: exit codes and what it prints on the way out."""

from __future__ import annotations

import subprocess
import sys

import pytest


def test_a_reader_that_leaves_early_is_not_an_error():
    """``gesturekit … | head -1``: the reader closes the pipe; no "Broken pipe" error, exit 0."""
    code = ("import argparse, sys; from gesturekit import cli\n"
            "def spam(args):\n    for i in range(100000): print('line', i)\n"
            "cli.build_parser = lambda: type('P', (), {'parse_args': lambda self, a: argparse.Namespace(func=spam)})()\n"
            "sys.exit(cli.main([]))\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.readline()
    proc.stdout.close()   # as head does after its line
    err = proc.stderr.read().decode()
    assert proc.wait(30) == 0, err
    assert "Broken pipe" not in err and "Traceback" not in err


_BLOCK = ("import sys\n"
          "class Block:  # as on a core install: the train extra's modules are not there\n"
          "    def find_spec(self, name, path=None, target=None):\n"
          "        if name.split('.')[0] in ('torch', 'onnx', 'albumentations', 'tqdm', 'matplotlib'):\n"
          "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
          "sys.meta_path.insert(0, Block())\n"
          "from gesturekit import cli\n")


@pytest.mark.parametrize("argv", [["train", "keypoints", "--data", "x"], ["train", "detector", "--hands", "x"],
                                  ["train", "handedness", "--epochs", "1"]])
def test_a_training_command_without_the_train_extra_names_the_pip_install(argv):
    """A core install (no torch): the error says what to install, not only "No module named 'torch'"."""
    proc = subprocess.run([sys.executable, "-c", _BLOCK + f"sys.exit(cli.main({argv!r}))"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "pip install 'gesturekit[train]'" in proc.stderr and "--index-url" in proc.stderr
    assert "Traceback" not in proc.stderr
