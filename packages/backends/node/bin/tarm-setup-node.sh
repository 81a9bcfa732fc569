#!/usr/bin/env bash
# tarm-setup-node: makes @tensorflow/tfjs-node work where Google's download host is unreachable.
#
# A normal `npm install @tensorflow/tfjs-node` runs an install script that downloads libtensorflow from
# storage.googleapis.com. This script does the same job from a TensorFlow Python wheel that pip can get (a local
# or mirrored package index):
#   1. installs @tensorflow/tfjs-node@4.22.0 with --ignore-scripts (and --no-save) if it is missing;
#   2. `pip download tensorflow-cpu==2.21.0 --no-deps` into a cache folder and extracts from the wheel the
#      TensorFlow C library (tensorflow/libtensorflow_cc.so.2 exports the C API; libtensorflow_framework.so.2)
#      and the C API headers;
#   3. lays out tfjs-node's deps/ (include/ + lib/ with the sonames libtensorflow.so.2 and
#      libtensorflow_framework.so.2; the libraries are hard links into the cache when possible, else copies);
#   4. builds the native addon with node-pre-gyp/node-gyp against the local Node.js headers (--nodedir, so
#      node-gyp downloads nothing), or restores the addon built earlier from the cache;
#   5. verifies by loading the backend and running a matMul.
# Idempotent: each step is skipped when its result is already in place. Linux x86_64 only.
#
# Usage: npx tarm-setup-node [--force] [--keep-wheel] [--project DIR] [--check] [--help]
# Environment:
#   TARM_CACHE_DIR       cache root (default ${XDG_CACHE_HOME:-~/.cache}/tarm)
#   TARM_TF_WHEEL        use this TensorFlow wheel file instead of `pip download`
#   TARM_TF_PIP_PACKAGE  pip package to download (default tensorflow-cpu)
#   TARM_TF_VERSION      its version (default 2.21.0)
#   TARM_NODEDIR         folder with include/node/node_api.h (default: the running node's prefix)
#   PYTHON               python with pip (default python3)
set -euo pipefail

TFJS_NODE_VERSION=4.22.0
TF_PIP_PACKAGE="${TARM_TF_PIP_PACKAGE:-tensorflow-cpu}"
TF_VERSION="${TARM_TF_VERSION:-2.21.0}"
CACHE_ROOT="${TARM_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tarm}"
TFDIR="$CACHE_ROOT/libtensorflow-$TF_PIP_PACKAGE-$TF_VERSION"
PY="${PYTHON:-python3}"
FORCE=0
KEEP_WHEEL=0
CHECK_ONLY=0
PROJECT=""

say() { printf '[tarm-setup-node] %s\n' "$*"; }
step() { STEP=$((STEP + 1)); printf '[tarm-setup-node] (%d/5) %s\n' "$STEP" "$*"; }
die() {
  printf '[tarm-setup-node] ERROR: %s\n' "$1" >&2
  [ $# -gt 1 ] && printf '[tarm-setup-node] fix: %s\n' "$2" >&2
  exit 1
}
usage() { sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; }
STEP=0

while [ $# -gt 0 ]; do
  case "$1" in
    --force) FORCE=1 ;;
    --keep-wheel) KEEP_WHEEL=1 ;;
    --check) CHECK_ONLY=1 ;;
    --project) shift; PROJECT="${1:?--project needs a folder}" ;;
    --project=*) PROJECT="${1#--project=}" ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown option: $1" "see --help" ;;
  esac
  shift
done

START=$SECONDS
SELF="$(readlink -f "${BASH_SOURCE[0]}")"
PKG_DIR="$(cd "$(dirname "$SELF")/.." && pwd)" # @tarm/backend-node: tfjs-node must resolve from here

# --- preconditions ---------------------------------------------------------------------------------------------
[ "$(uname -s)" = Linux ] && [ "$(uname -m)" = x86_64 ] ||
  die "this offline route supports Linux x86_64 only (found $(uname -s) $(uname -m))" \
    "npm install @tensorflow/tfjs-node (with network access: it downloads its own libtensorflow)"
command -v node >/dev/null || die "node not found on PATH"
command -v npm >/dev/null || die "npm not found on PATH"

# Resolves a module request from a folder, as Node's require would; prints the path or nothing.
resolve_from() { node -e 'try{console.log(require("module").createRequire(process.argv[1]+"/noop.js").resolve(process.argv[2]))}catch{}' "$1" "$2"; }

# Loads tfjs-node from PKG_DIR, runs a matMul, checks there is a single tfjs-core. Prints a report line.
verify() {
  TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-1}" node --input-type=module - "$PKG_DIR" <<'EOF'
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
const dir = process.argv[2];
try {
  const req = createRequire(dir + '/package.json');
  const tf = req('@tensorflow/tfjs-node');
  const core = req('@tensorflow/tfjs-core');
  const nodeCore = createRequire(req.resolve('@tensorflow/tfjs-node')).resolve('@tensorflow/tfjs-core');
  if (nodeCore !== req.resolve('@tensorflow/tfjs-core')) {
    throw new Error(`two copies of @tensorflow/tfjs-core (${nodeCore} and ${req.resolve('@tensorflow/tfjs-core')}): run npm dedupe`);
  }
  const a = tf.tensor2d([[1, 2], [3, 4]]);
  const got = Array.from(await tf.matMul(a, a).data());
  if (got.join(',') !== '7,10,15,22') throw new Error(`matMul gave ${got}`);
  if (tf.getBackend() !== 'tensorflow') throw new Error(`backend is ${tf.getBackend()}, not tensorflow`);
  let adapterNote = '(adapter not built: dist/ missing)';
  if (existsSync(dir + '/dist/index.js')) {
    const { adapter } = await import(dir + '/dist/index.js');
    await adapter.setup();
    adapterNote = `adapter '${adapter.name}' -> tfjs backend '${core.getBackend()}'`;
  }
  console.log(`tfjs-node ${tf.version['tfjs-node']}, tfjs-core ${core.version_core}, TensorFlow ${tf.backend().binding.TF_Version}; matMul ok; ${adapterNote}`);
} catch (e) {
  console.log(`cannot load the backend: ${String(e?.message ?? e).split('\n')[0]}`);
  process.exit(1);
}
EOF
}

# --- (1) tfjs-node package -------------------------------------------------------------------------------------
step "@tensorflow/tfjs-node@$TFJS_NODE_VERSION package"
TN_PKG="$(resolve_from "$PKG_DIR" @tensorflow/tfjs-node/package.json)"
TN_VERSION=""
[ -n "$TN_PKG" ] && TN_VERSION="$(node -p 'require(process.argv[1]).version' "$TN_PKG")"
if [ "$TN_VERSION" = "$TFJS_NODE_VERSION" ]; then
  say "  found $(dirname "$TN_PKG")"
else
  [ "$CHECK_ONLY" = 1 ] && die "@tensorflow/tfjs-node@$TFJS_NODE_VERSION is not installed${TN_VERSION:+ (found $TN_VERSION)}" "npx tarm-setup-node"
  if [ -z "$PROJECT" ]; then PROJECT="$(npm prefix)"; fi
  say "  installing into $PROJECT: npm install --no-save --ignore-scripts @tensorflow/tfjs-node@$TFJS_NODE_VERSION"
  say "  (--ignore-scripts: its install script would download libtensorflow. --no-save: package.json is unchanged;"
  say "   unless it lists tfjs-node (e.g. in optionalDependencies), a later npm install removes it: rerun this then)"
  (cd "$PROJECT" && npm install --no-save --ignore-scripts --no-audit --no-fund "@tensorflow/tfjs-node@$TFJS_NODE_VERSION") ||
    die "npm install @tensorflow/tfjs-node@$TFJS_NODE_VERSION failed" "check that the npm registry is reachable"
  TN_PKG="$(resolve_from "$PKG_DIR" @tensorflow/tfjs-node/package.json)"
  [ -n "$TN_PKG" ] || die "installed into $PROJECT, but @tensorflow/tfjs-node does not resolve from $PKG_DIR" \
    "run this from the root of the project that depends on @tarm/backend-node, or pass --project DIR"
fi
TN="$(dirname "$TN_PKG")"
PREGYP_PKG="$(resolve_from "$TN" @mapbox/node-pre-gyp/package.json)"
[ -n "$PREGYP_PKG" ] || die "@mapbox/node-pre-gyp (a dependency of tfjs-node) is missing" "rm -rf $TN && npx tarm-setup-node"
PREGYP_DIR="$(dirname "$PREGYP_PKG")"
# Where tfjs-node looks for its addon (lib/napi-vN/tfjs_binding.node, N = the highest N-API version it supports).
BINDING="$(node -e 'console.log(require(process.argv[1]).find(process.argv[2]))' "$PREGYP_DIR" "$TN/package.json")"
BINDING_REL="${BINDING#"$TN"/}"

if [ "$CHECK_ONLY" = 1 ]; then
  [ -f "$BINDING" ] || die "the addon $BINDING was never built" "npx tarm-setup-node"
  OUT="$(verify 2>&1)" || die "verification failed: ${OUT##*$'\n'}" "npx tarm-setup-node"
  say "ok: ${OUT##*$'\n'}"
  exit 0
fi

# Already working (set up earlier, or installed with network access by tfjs-node's own install script)?
if [ "$FORCE" = 0 ] && [ -f "$BINDING" ] && OUT="$(verify 2>&1)"; then
  if [ -f "$TN/deps/.tarm-layout" ]; then WHO="set up earlier from $(cat "$TN/deps/.tarm-layout")"; else WHO="its own libtensorflow"; fi
  say "  the addon is built and loads ($WHO): steps 2-4 have nothing to do (--force redoes them)"
  STEP=4
  step "verify"
  say "  ${OUT##*$'\n'}"
  say "done in $((SECONDS - START)) s"
  exit 0
fi

mkdir -p "$CACHE_ROOT"
if command -v flock >/dev/null; then
  exec 9>"$CACHE_ROOT/.setup-node.lock"
  flock 9 || true
fi

# --- (2) TensorFlow C library from the wheel ------------------------------------------------------------------
step "TensorFlow C library ($TF_PIP_PACKAGE $TF_VERSION) in $TFDIR"
[ "$FORCE" = 1 ] && rm -rf "$TFDIR"
if [ -f "$TFDIR/.complete" ]; then
  say "  cached"
else
  command -v "$PY" >/dev/null || die "$PY not found" "install Python 3 with pip, or set PYTHON"
  TMP="$TFDIR.tmp.$$"
  rm -rf "$TMP" && mkdir -p "$TMP/wheel"
  trap 'rm -rf "$TMP"' EXIT
  if [ -n "${TARM_TF_WHEEL:-}" ]; then
    [ -f "$TARM_TF_WHEEL" ] || die "TARM_TF_WHEEL=$TARM_TF_WHEEL is not a file"
    WHEEL="$TARM_TF_WHEEL"
    say "  using $WHEEL"
  else
    say "  pip download $TF_PIP_PACKAGE==$TF_VERSION --no-deps (about 270 MB)"
    if ! "$PY" -m pip download "$TF_PIP_PACKAGE==$TF_VERSION" --no-deps --only-binary=:all: -q -d "$TMP/wheel" \
      --retries "${PIP_RETRIES:-1}"; then
      say "  no wheel for this Python; retrying for CPython 3.11 manylinux x86_64 (only the C library is used)"
      "$PY" -m pip download "$TF_PIP_PACKAGE==$TF_VERSION" --no-deps --only-binary=:all: -q -d "$TMP/wheel" \
        --retries "${PIP_RETRIES:-1}" --python-version 3.11 --implementation cp --platform manylinux_2_27_x86_64 --platform manylinux2014_x86_64 ||
        die "pip could not download $TF_PIP_PACKAGE==$TF_VERSION" \
          "configure pip for an index that has it (pip config list), or set TARM_TF_WHEEL=/path/to/tensorflow_cpu-*.whl"
    fi
    WHEEL="$(ls "$TMP"/wheel/*.whl | head -n 1)"
  fi
  say "  extracting libtensorflow_cc.so.2, libtensorflow_framework.so.2 and the C API headers"
  "$PY" - "$WHEEL" "$TMP" <<'EOF' || die "extracting from the wheel failed (see above)" "pass a tensorflow or tensorflow-cpu 2.x wheel in TARM_TF_WHEEL"
import ctypes, os, shutil, sys, zipfile
wheel, out = sys.argv[1], sys.argv[2]
libs = {'tensorflow/libtensorflow_cc.so.2': 'lib/libtensorflow_cc.so.2',
        'tensorflow/libtensorflow_framework.so.2': 'lib/libtensorflow_framework.so.2'}
# The headers tfjs-node's binding includes (c_api.h, eager/c_api.h and what they include).
header_prefixes = ('tensorflow/include/tensorflow/c/', 'tensorflow/include/tensorflow/core/platform/ctstring',
                   'tensorflow/include/tsl/platform/ctstring', 'tensorflow/include/xla/tsl/c/', 'tensorflow/include/tsl/c/')
n = 0
with zipfile.ZipFile(wheel) as z:
    names = set(z.namelist())
    for src in libs:
        if src not in names:
            sys.exit(f'{os.path.basename(wheel)} has no {src}')
    for name in sorted(names):
        dst = libs.get(name)
        if dst is None and name.startswith(header_prefixes) and name.endswith('.h'):
            dst = 'include/' + name[len('tensorflow/include/'):]
        if dst is None:
            continue
        path = os.path.join(out, dst)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with z.open(name) as fi, open(path, 'wb') as fo:
            shutil.copyfileobj(fi, fo, 1 << 20)
        n += 1
for h in ('include/tensorflow/c/c_api.h', 'include/tensorflow/c/eager/c_api.h'):
    if not os.path.exists(os.path.join(out, h)):
        sys.exit(f'the wheel carries no {h}')
lib = ctypes.CDLL(os.path.join(out, 'lib/libtensorflow_cc.so.2'))
for sym in ('TF_Version', 'TFE_NewContext', 'TFE_Execute'):
    if not hasattr(lib, sym):
        sys.exit(f'libtensorflow_cc.so.2 does not export the C API symbol {sym}')
lib.TF_Version.restype = ctypes.c_char_p
print(f'[tarm-setup-node]   extracted {n} files; the C library reports TensorFlow {lib.TF_Version().decode()}')
EOF
  if [ -z "${TARM_TF_WHEEL:-}" ] && [ "$KEEP_WHEEL" = 1 ]; then mv "$TMP/wheel" "$TMP/wheel-kept"; fi
  rm -rf "$TMP/wheel"
  touch "$TMP/.complete"
  rm -rf "$TFDIR" && mv "$TMP" "$TFDIR"
  trap - EXIT
fi

# --- (3) tfjs-node deps/ layout ---------------------------------------------------------------------------------
step "deps/ layout in $TN"
DEPS="$TN/deps"
link_or_copy() { ln -f "$1" "$2" 2>/dev/null || cp -f "$1" "$2"; }
layout_ok() {
  [ -f "$DEPS/.tarm-layout" ] && [ "$(cat "$DEPS/.tarm-layout")" = "$TFDIR" ] &&
    [ -e "$DEPS/lib/libtensorflow.so.2" ] && [ -e "$DEPS/lib/libtensorflow_framework.so.2" ] &&
    [ -f "$DEPS/include/tensorflow/c/c_api.h" ] &&
    [ "$(stat -c %s "$DEPS/lib/libtensorflow_cc.so.2")" = "$(stat -c %s "$TFDIR/lib/libtensorflow_cc.so.2")" ]
}
if [ "$FORCE" = 0 ] && layout_ok; then
  say "  in place"
else
  rm -rf "$DEPS" && mkdir -p "$DEPS/lib"
  cp -R "$TFDIR/include" "$DEPS/include"
  link_or_copy "$TFDIR/lib/libtensorflow_cc.so.2" "$DEPS/lib/libtensorflow_cc.so.2"
  link_or_copy "$TFDIR/lib/libtensorflow_framework.so.2" "$DEPS/lib/libtensorflow_framework.so.2"
  ln -sf libtensorflow_cc.so.2 "$DEPS/lib/libtensorflow.so.2"
  ln -sf libtensorflow.so.2 "$DEPS/lib/libtensorflow.so"
  ln -sf libtensorflow_framework.so.2 "$DEPS/lib/libtensorflow_framework.so"
  printf '%s' "$TFDIR" >"$DEPS/.tarm-layout"
  if [ "$(stat -c %i "$DEPS/lib/libtensorflow_cc.so.2")" = "$(stat -c %i "$TFDIR/lib/libtensorflow_cc.so.2")" ]; then
    say "  laid out (libraries hard-linked to the cache: no extra disk)"
  else
    say "  laid out (libraries copied: the cache is on another file system)"
  fi
fi

# --- (4) native addon -------------------------------------------------------------------------------------------
step "native addon $BINDING_REL"
CACHED_BINDING="$TFDIR/addon/tfjs-node-$TFJS_NODE_VERSION/$BINDING_REL"
if [ "$FORCE" = 0 ] && [ -f "$BINDING" ] && OUT="$(verify 2>&1)"; then
  say "  built and loads"
elif [ "$FORCE" = 0 ] && [ -f "$CACHED_BINDING" ] && mkdir -p "$(dirname "$BINDING")" && cp -f "$CACHED_BINDING" "$BINDING" &&
  OUT="$(verify 2>&1)"; then
  say "  restored from the cache (built earlier against the same TensorFlow)"
else
  NODEDIR="${TARM_NODEDIR:-$(node -p 'require("path").resolve(process.execPath, "../..")')}"
  [ -f "$NODEDIR/include/node/node_api.h" ] ||
    die "the Node.js headers are not in $NODEDIR/include/node (node-gyp would try to download them)" \
      "install them (Debian's nodejs: apt-get install libnode-dev; nodesource's nodejs carries them) or set TARM_NODEDIR"
  for tool in make c++ python3; do
    command -v "$tool" >/dev/null || die "$tool not found (needed to build the addon)" "apt-get install g++ make python3"
  done
  NODE_GYP="${npm_config_node_gyp:-}"
  if [ -z "$NODE_GYP" ] || [ ! -f "$NODE_GYP" ]; then
    NPM_DIR="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")"
    NODE_GYP="$NPM_DIR/node_modules/node-gyp/bin/node-gyp.js"
    [ -f "$NODE_GYP" ] || NODE_GYP="$(command -v node-gyp || true)"
  fi
  [ -n "$NODE_GYP" ] && [ -f "$NODE_GYP" ] || die "node-gyp not found (npm normally bundles it)" "npm install -g node-gyp"
  LOG="$TFDIR/addon-build.log"
  say "  building with node-pre-gyp + $(node "$NODE_GYP" --version 2>/dev/null || echo node-gyp), --nodedir=$NODEDIR (log: $LOG)"
  T0=$SECONDS
  if ! (cd "$TN" && JOBS="$(nproc 2>/dev/null || echo 2)" npm_config_node_gyp="$NODE_GYP" \
    node "$PREGYP_DIR/bin/node-pre-gyp" rebuild --build-from-source --build-latest-napi-version-only \
    --nodedir="$NODEDIR") >"$LOG" 2>&1; then
    tail -n 25 "$LOG" >&2
    die "building the addon failed (last lines above; full log $LOG)" "fix the compiler error, then rerun npx tarm-setup-node"
  fi
  rm -rf "$TN"/build-tmp-napi-v* "$TN/build"
  [ -f "$BINDING" ] || die "the build finished but $BINDING is missing (log: $LOG)"
  mkdir -p "$(dirname "$CACHED_BINDING")" && cp -f "$BINDING" "$CACHED_BINDING"
  say "  built in $((SECONDS - T0)) s"
  OUT=""
fi

# --- (5) verify -------------------------------------------------------------------------------------------------
step "verify"
if [ -z "${OUT:-}" ]; then
  OUT="$(verify 2>&1)" || die "the backend does not load: ${OUT##*$'\n'}" "npx tarm-setup-node --force"
fi
say "  ${OUT##*$'\n'}"
DISK_CACHE="$(du -sh "$TFDIR" | cut -f1)"
say "done in $((SECONDS - START)) s. Disk: cache $TFDIR $DISK_CACHE (the libraries in deps/ are hard links to it),"
say "  npm packages tfjs-node + @tensorflow/tfjs ~200 MB. Use it: await useBackend('node') / --backend node."
