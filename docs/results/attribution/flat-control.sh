#!/bin/bash
# Control: does a flat rung learn addition at the attribution preset's exact configuration (budget 12)?
# Same as ../attribution-copy's flat control with --task addition. Usage: bash docs/results/attribution/flat-control.sh [out]
out=${1:-studies/flat-control-addition}
run() { node apps/cli/dist/main.js train --model $1 --task addition --length 10 --eval-lengths 10 --budget 12 --d-model 64 --heads 4 --steps 200 --batch 32 --lr 0.001 --dropout 0 --seed $2 --backend wasm --decode greedy --eval-every 50 --eval-n 50 --out $out/$1-addition-s$2 --json | tail -1 > $out/$1-addition-s$2.json; }
mkdir -p $out
start=$(date +%s)
run ut 1337 & run ut 1 & wait
run ut 2 & run dense 1337 & wait
run dense 1 & run dense 2 & wait
echo "wall $(( $(date +%s) - start ))s" > $out/wall.txt
