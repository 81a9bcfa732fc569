#!/usr/bin/env bash
# Decodes every finished run of a study folder by sampling at temperature 1 (the paper's decoding) on the same
# evaluation problems, beside the greedy numbers the study recorded: runs/<id>/eval-sample.json, which
# `tarm report` shows in the headline (it enters no claim). Needs the runs' checkpoints (they stay local).
#   bash tools/study/eval-sampled.sh STUDY_DIR [BACKEND]      # BACKEND: node (default), wasm, cpu
# Idempotent: a run that already has eval-sample.json is skipped. Writes are atomic (tmp file, then rename).
set -euo pipefail
dir="${1:?usage: eval-sampled.sh STUDY_DIR [BACKEND]}"
backend="${2:-node}"
# A study committed as runs.tar.gz (docs/results) is unpacked first, and archived again when a run got its file.
[ -f "$dir/runs.tar.gz" ] && npx tarm study unpack "$dir" >&2
[ -d "$dir/runs" ] || { echo "eval-sampled: $dir has no runs/ folder nor runs.tar.gz (not a study folder)" >&2; exit 2; }
n=0; skipped=0
for run in "$dir"/runs/*/; do
  run="${run%/}"
  [ -f "$run/summary.json" ] || continue                      # unfinished
  [ -f "$run/eval-sample.json" ] && { skipped=$((skipped + 1)); continue; }
  [ -f "$run/checkpoint/model.json" ] || { echo "eval-sampled: $run has no checkpoint; skipped" >&2; continue; }
  tmp="$run/.eval-sample.json.tmp"
  npx tarm eval --run "$run" --decode sample --temperature 1 --seed 1337 --backend "$backend" --json 2>/dev/null | tail -n 1 > "$tmp"
  node -e "JSON.parse(require('fs').readFileSync(process.argv[1], 'utf8')).evals || process.exit(1)" "$tmp" || { rm -f "$tmp"; echo "eval-sampled: $run: tarm eval gave no result" >&2; exit 1; }
  mv "$tmp" "$run/eval-sample.json"
  n=$((n + 1))
  echo "eval-sampled: $(basename "$run") ($n)"
done
echo "eval-sampled: $n runs decoded by sampling, $skipped already had it"
if [ -f "$dir/runs.tar.gz" ] && [ "$n" -gt 0 ]; then npx tarm study archive "$dir"; fi
