#!/usr/bin/env bash
# What each speed lever bought: builds the repo at several commits in throw-away worktrees (sharing this checkout's
# node_modules, with @tarm/* pointing at the worktree's own packages), then times training steps of config (a)
# alternating between the builds, one process per (commit, round), so the machine's load hits every build alike.
#   bash tools/bench/levers.sh [backend=wasm] [rounds=3] [steps=8] commit...
# Prints one line per commit: median CPU ms and wall ms per step over the rounds (CPU time is robust for the
# single-threaded wasm backend; node runs two libtensorflow threads, so compare wall there).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
backend=${1:-wasm}; rounds=${2:-3}; steps=${3:-8}; shift 3 || true
commits=("$@")
work=$(mktemp -d /tmp/tarm-levers.XXXXXX)
trap 'for c in "${commits[@]}"; do git -C "$root" worktree remove --force "$work/$c" 2>/dev/null || true; done; rm -rf "$work"' EXIT
for c in "${commits[@]}"; do
  git -C "$root" worktree add -q --detach "$work/$c" "$c"
  mkdir -p "$work/$c/node_modules/@tarm"
  for e in "$root"/node_modules/* "$root"/node_modules/.bin; do
    name=$(basename "$e"); [ "$name" = "@tarm" ] || ln -s "$e" "$work/$c/node_modules/$name"
  done
  for l in "$root"/node_modules/@tarm/*; do
    ln -s "$work/$c/$(readlink "$l" | sed 's#^\.\./\.\./##')" "$work/$c/node_modules/@tarm/$(basename "$l")"
  done
  for p in core layers recursion tasks train backends/wasm backends/cpu backends/node; do
    (cd "$work/$c/packages/$p" && "$root/node_modules/.bin/tsc" -p tsconfig.json) >&2
  done
  cp "$root/tools/bench/levers-step.mjs" "$work/$c/levers-step.mjs"
  echo "built $c" >&2
done
for r in $(seq "$rounds"); do
  for c in "${commits[@]}"; do
    (cd "$work/$c" && node levers-step.mjs "$backend" "$steps") | sed "s/^/$c /" >> "$work/results.txt"
  done
done
node -e '
const lines = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map((l) => l.split(" "));
const med = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[s.length >> 1]; };
const by = new Map();
for (const [c, cpu, wall] of lines) { const e = by.get(c) ?? { cpu: [], wall: [] }; e.cpu.push(+cpu); e.wall.push(+wall); by.set(c, e); }
let first;
for (const [c, e] of by) { const cpu = med(e.cpu), wall = med(e.wall); first ??= { cpu, wall };
  console.log(`${c}  cpu ${cpu.toFixed(1)} ms/step  wall ${wall.toFixed(1)} ms/step  speed-up vs first: cpu x${(first.cpu / cpu).toFixed(2)} wall x${(first.wall / wall).toFixed(2)}`); }
' "$work/results.txt"
