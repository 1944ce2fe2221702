"""The virtual mouse on a real X desktop: Qt's xcb platform plugin must load (Makefile's apt list)."""

import os
import subprocess
import sys

import pytest

pytest.importorskip("PyQt6")


def test_qt_starts_on_an_x_display(xvfb):
    env = {**os.environ, "DISPLAY": xvfb, "QT_QPA_PLATFORM": "xcb"}
    code = "from PyQt6.QtWidgets import QApplication; print(QApplication([]).platformName())"
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    # without libxcb-icccm4 / libxcb-keysyms1 / libxcb-cursor0 Qt aborts: "could not load the Qt
    # platform plugin xcb"
    assert run.returncode == 0 and run.stdout.strip() == "xcb", run.stderr[-2000:]
