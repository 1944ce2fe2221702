#!/usr/bin/env bash
# Same backbone, data, schedule and budget; only the head differs (SimCC vs FC+tanh coordinates, L1).
set -euo pipefail
for arch in kpnet_simcc kpnet_coord; do
  gesturekit train keypoints --data ../shared/data/hands26k/train --val ../shared/data/hands26k/val \
    --arch "$arch" --train-limit 2000 --val-limit 500 --epochs 6 --lr 4e-3 --threads 1 --workers 0 \
    --out "runs/heads/$arch"
done
python - <<'PY'
import json
for a in ("kpnet_simcc", "kpnet_coord"):
    h = json.load(open(f"runs/heads/{a}/history.json"))[-1]
    print(a, {k: round(v, 4) for k, v in h.items() if k.startswith(("pck", "epe", "within"))})
PY
