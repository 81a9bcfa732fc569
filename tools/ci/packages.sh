#!/usr/bin/env bash
# Release checks of every public package (not private: true), after the build:
#   1. publint and @arethetypeswrong/cli (attw) on each package's tarball;
#   2. pack them all, install @tarm/cli and its dependencies from the tarballs (registry dependencies from npm's
#      cache or the registry) into an empty folder, and run `npx tarm demo --steps 20` there.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
say() { printf '[packages] %s\n' "$*"; }
mapfile -t DIRS < <(npm query '.workspace:not(:private)' | node -e '
  let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => { for (const p of JSON.parse(s)) console.log(p.location); });')
node tools/ci/check-manifests.mjs
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/packs" "$WORK/app"
for d in "${DIRS[@]}"; do
  ( cd "$d" && npm pack --silent --pack-destination "$WORK/packs" >/dev/null )
  tgz="$(ls -t "$WORK/packs"/*.tgz | head -n 1)"
  say "$d: publint"
  npx --no-install publint run --strict "$d"
  say "$d: attw"
  npx --no-install attw --profile esm-only --format ascii "$tgz"
done
say "installing @tarm/cli from ${#DIRS[@]} tarballs into an empty folder"
cd "$WORK/app"
printf '{ "name": "tarball-consumer", "private": true }\n' > package.json
npm install --no-audit --no-fund --prefer-offline "$WORK"/packs/*.tgz >/dev/null
say "npx tarm demo --steps 20 (from the installed tarballs)"
npx --no-install tarm demo --steps 20 | tee "$WORK/demo.log"
grep -q 'run runs/demo: dense on reverse' "$WORK/demo.log"
test -f runs/demo/summary.json
say "ok"
