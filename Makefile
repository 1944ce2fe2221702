# The two set-up commands of the README live here.
#   make demo  — install gesturekit (core: no torch) and run the main job (track a clip, write an annotated video)
#   make test  — install everything the tests need (apt + pip) and run the test suite
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CLIP ?= ../shared/data/videos/huytung_2hand.mp4
# torch from PyTorch's CPU index: PyPI's Linux torch pulls several GB of CUDA libraries.
# With an NVIDIA GPU: make install TORCH_INDEX=https://pypi.org/simple (PyPI's CUDA build) or a CUDA index of pytorch.org
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# the core install (numpy, OpenCV, ONNX Runtime): all the demo and `gesturekit track/predict` need
core: $(BIN)/python
	$(BIN)/pip install -q -e .

# --no-deps: only torch itself from TORCH_INDEX; its own dependencies come with the extras below
install: $(BIN)/python
	$(BIN)/python -c "import sys, torch; sys.exit(torch.__version__.split('+')[0] != '2.13.0')" 2>/dev/null \
		|| $(BIN)/pip install -q --no-deps torch==2.13.0 --index-url $(TORCH_INDEX)
	$(BIN)/pip install -q -e ".[train,qt,control,dev]"

# Xvfb and xdotool for the OS-control tests; the rest is what PyQt6's offscreen and xcb (a real
# X display: the virtual mouse on a desktop) platform plugins load
APT_PACKAGES := xvfb xdotool libegl1 libgl1 libxkbcommon0 libfontconfig1 libdbus-1-3 \
	libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxkbcommon-x11-0 libxcb-image0 \
	libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-randr0 libxcb-xkb1

# without root (a desktop user's `make test`) a missing package is named, not fatal: the tests
# that need Xvfb or xdotool skip without them
apt:
	@if dpkg -s $(APT_PACKAGES) >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PACKAGES) >/dev/null; \
	else echo "make apt: not root; if tests skip or Qt fails to start, run: sudo apt-get install -y $(APT_PACKAGES)"; fi

demo: core
	mkdir -p runs
	$(BIN)/gesturekit track $(CLIP) --out runs/annotated.mp4 --json runs/frames.json

lint: install
	$(BIN)/ruff check gesturekit tests examples bench

test: apt install lint
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q

# The TensorFlow adapter's tests, in a venv of their own (tensorflow-cpu is a 1.4 GB optional extra
# and pins its own numpy, so it stays out of the main venv and of `make test`).
TF_VENV ?= .venv-tf
test-tf:
	test -x $(TF_VENV)/bin/python || $(PY) -m venv $(TF_VENV)
	$(TF_VENV)/bin/pip install -q -e ".[tf]" pytest
	$(TF_VENV)/bin/python -m pytest -q tests/test_detector.py -k tf

.PHONY: core install apt lint demo test test-tf
