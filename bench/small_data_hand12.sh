#!/usr/bin/env bash
# The small-data experiment: a 12-point layout derived from the 21 labels, only 60 training
# images, heavy augmentation, 400 draws per image; scored on 200 val images.
set -euo pipefail
gesturekit train keypoints --data ../shared/data/hands26k/train --val ../shared/data/hands26k/val \
  --layout hand12 --train-limit 60 --val-limit 200 --repeat 25 --epochs 16 --heavy-augment \
  --lr 3e-3 --threads 1 --workers 0 --out runs/hand12 --export runs/hand12/export/hand12
gesturekit eval keypoints --data ../shared/data/hands26k/val --limit 200 --model runs/hand12/export/hand12.onnx --json
