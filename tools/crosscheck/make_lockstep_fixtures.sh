#!/usr/bin/env bash
# Regenerates the lockstep fixtures of packages/train/test/authors-lockstep.test.ts from the authors' code:
#   bash tools/crosscheck/make_lockstep_fixtures.sh <checkout of pauliusrauba/autoregressive-TRM> [python]
# Every fixture: reverse at L = 4, d_model 16, 2 heads, batch 8, lr 3e-3, seed 7, 30 steps (ut_level2 at 18: 24). Each recurrent rung at
# two budgets: one ACT step and two or more for the halting rungs (ut 1/6, ut_level1 2/6, ut_level2 6/12/18, trm 6/12;
# at 3+ ACT steps positions halt early, at 2 none do: that needs p > 1 - 1e-6 at the first step),
# 3 and 6 applications for gpt_level1/2; gpt (dense, 3 blocks) at one (it does not recur). Deterministic up to float32 rounding of
# their losses (torch's CPU kernels; a regenerated file can differ in the last digits).
set -euo pipefail
REPO="${1:?usage: make_lockstep_fixtures.sh <authors checkout> [python]}"
PY="${2:-.venv/bin/python}"
OUT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/packages/train/test/fixtures/authors-lockstep"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
for spec in gpt:3 gpt_level1:3 gpt_level1:6 gpt_level2:3 gpt_level2:6 ut:1 ut:6 ut_level1:2 ut_level1:6 ut_level2:6 ut_level2:12 ut_level2:18 trm:6 trm:12; do
  model="${spec%%:*}" budget="${spec##*:}"
  # ut_level2 at 3 ACT steps: states of norm ~1e3 amplify float32 rounding; past step 24 tarm's loss drifts more than
  # 1e-5 from theirs (by step 30, from their float64 run: their float32 run 3.5e-6, tarm 1.0e-5)
  steps=30; [ "$spec" = ut_level2:18 ] && steps=24
  "$PY" "$HERE/lockstep.py" --repo "$REPO" --model "$model" --budget "$budget" --d-model 16 --heads 2 --length 4 \
    --batch 8 --steps "$steps" --lr 3e-3 --seed 7 --out "$OUT/$model-b$budget.json"
done
