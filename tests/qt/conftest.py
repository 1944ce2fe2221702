"""Qt tests run offscreen: no display needed."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(scope="session")
def qapp():
    pytest.importorskip("PyQt6", reason="the qt extra (PyQt6) is not installed")
    from PyQt6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(["gesturekit-tests"])
    yield app


def wait_until(app, cond, timeout=3.0):
    import time
    end = time.monotonic() + timeout
    while not cond() and time.monotonic() < end:
        app.processEvents()
        time.sleep(0.005)
    app.processEvents()
    return cond()


@pytest.fixture
def wait(qapp):
    """``wait(cond, timeout)``: pump Qt events until ``cond()`` is true."""
    return lambda cond, timeout=3.0: wait_until(qapp, cond, timeout)
