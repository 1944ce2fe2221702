"""The gesturekit command as a whole: exit codes and what it prints on the way out."""

from __future__ import annotations

import subprocess
import sys


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
