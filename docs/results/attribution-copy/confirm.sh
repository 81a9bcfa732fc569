#!/bin/bash
# Confirmation of the leave-one-out finding on fresh seeds (3, 4, 5): ar-trm with deep supervision and gradient
# through all cycles (no halting loss, no EMA) against plain ar-trm on copy, and the same pair on reverse
# (seeds 1337, 1, 2 as in the reverse attribution). The attribution preset's configuration; the --json summary
# line of each run goes to OUT/<run>.json.   Usage: bash docs/results/attribution-copy/confirm.sh [OUT]
set -e
cd "$(dirname "$0")/../../.."
OUT=${1:-studies/attribution-copy-confirm}
mkdir -p "$OUT"
run() { # name task seed flags...
  local name=$1 task=$2 seed=$3; shift 3
  node apps/cli/dist/main.js train --model ar-trm --task "$task" --length 10 --eval-lengths 10 --budget 12 --d-model 64 \
    --heads 4 --steps 200 --batch 32 --lr 0.001 --dropout 0 --seed "$seed" --backend wasm --decode greedy \
    --eval-every 50 --eval-n 50 --out "$OUT/$name-$task-s$seed" --json "$@" | tail -1 > "$OUT/$name-$task-s$seed.json"
}
start=$(date +%s)
run ds-grad-all copy 3 --deep-supervision 0 --grad-cycles all & run paper copy 3 & wait
run ds-grad-all copy 4 --deep-supervision 0 --grad-cycles all & run paper copy 4 & wait
run ds-grad-all copy 5 --deep-supervision 0 --grad-cycles all & run paper copy 5 & wait
run ds-grad-all reverse 1337 --deep-supervision 0 --grad-cycles all & run ds-grad-all reverse 1 --deep-supervision 0 --grad-cycles all & wait
run ds-grad-all reverse 2 --deep-supervision 0 --grad-cycles all & wait
echo "wall $(( $(date +%s) - start ))s" > "$OUT/wall.txt"
