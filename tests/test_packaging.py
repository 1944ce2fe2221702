"""The package as pip installs it: every subpackage listed, and the shipped weights inside the wheel."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
tomllib = pytest.importorskip("tomllib")


def test_pyproject_lists_every_subpackage():
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "gesturekit").rglob("__init__.py")}
    assert set(conf["packages"]) == found | {"gesturekit.models"}
    assert conf["package-dir"] == {"gesturekit.models": "models"}


def test_installed_wheel_finds_its_own_models(tmp_path):
    pytest.importorskip("setuptools", minversion="77")
    wheels, site = tmp_path / "wheels", tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(ROOT)],
                   check=True, cwd=tmp_path, timeout=300)
    wheel = next(wheels.glob("gesturekit-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for f in ("keypoints.onnx", "detector.onnx", "handedness.onnx", "presence.npz", "gesture_mlp_e2e.npz"):
        assert f"gesturekit/models/{f}" in names
    subprocess.run([*pip, "install", "--no-deps", "--target", str(site), str(wheel)], check=True, timeout=300)
    # run from elsewhere, with only the installed copy importable: no repository beside it
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "GESTUREKIT_MODELS")}
    env["PYTHONPATH"] = str(site)
    out = subprocess.run([sys.executable, "-c", "from gesturekit.runtime import default_model as d;"
                          "import gesturekit; print(d('keypoints.onnx')); print(gesturekit.__file__)"],
                         check=True, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    model, package = out.stdout.split()
    assert Path(package).is_relative_to(site)
    assert Path(model) == site / "gesturekit" / "models" / "keypoints.onnx" and Path(model).is_file()
