#!/usr/bin/env bash
# The small-data experiment: a 12-point layout derived from the 21 labels, only 60 training
# images, heavy augmentation, 400 draws per image; scored on 200 val images.
# Run twice: from scratch, and warm-started from the shipped 21-point model (what we recommend).
set -euo pipefail
for init in none shipped; do
  extra=()
  [ "$init" = shipped ] && extra=(--init models/keypoints.pt)
  gesturekit train keypoints --data ../shared/data/hands26k/train --val ../shared/data/hands26k/val \
    --layout hand12 --train-limit 60 --val-limit 200 --repeat 25 --epochs 16 --augment heavy \
    --lr 3e-3 --threads "${THREADS:-1}" --workers 0 --out "runs/hand12_$init" \
    --export "runs/hand12_$init/export/hand12" "${extra[@]}"
  gesturekit eval keypoints --data ../shared/data/hands26k/val --limit 200 \
    --model "runs/hand12_$init/export/hand12.onnx" --json | tee "runs/hand12_$init/eval.json"
done
