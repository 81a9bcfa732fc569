#!/usr/bin/env bash
# Installs what the optional backends need, after `npm ci`. Idempotent: a second run changes nothing and takes
# a few seconds.
#   webgpu: Dawn (the npm package webgpu, already installed by npm ci) runs on Mesa's llvmpipe through EGL and
#           OpenGL ES when there is no GPU; it needs Debian's Mesa EGL/GLES libraries. Dawn opens the unversioned
#           libEGL.so, which only libegl-dev provides.
#   node:   @tensorflow/tfjs-node's native addon, built against the TensorFlow C library taken from a
#           tensorflow-cpu wheel that pip can download (tools/backend-node/setup.sh, i.e. tarm-setup-node).
# Set TARM_SKIP_NODE_BACKEND=1 or TARM_SKIP_WEBGPU_BACKEND=1 to leave one out.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
say() { printf '[install-backends] %s\n' "$*"; }
T0=$SECONDS

# --- Debian packages ---------------------------------------------------------------------------------------------
PKGS=()
if [ "${TARM_SKIP_WEBGPU_BACKEND:-0}" != 1 ]; then PKGS+=(libegl1 libegl-dev libegl-mesa0 libgles2 libgl1-mesa-dri); fi
if [ "${TARM_SKIP_NODE_BACKEND:-0}" != 1 ]; then
  command -v c++ >/dev/null || PKGS+=(g++)
  command -v make >/dev/null || PKGS+=(make)
  command -v python3 >/dev/null || PKGS+=(python3 python3-pip)
fi
MISSING=()
if command -v dpkg-query >/dev/null; then
  for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || MISSING+=("$p")
  done
  if [ ${#MISSING[@]} -gt 0 ]; then
    SUDO=""
    if [ "$(id -u)" != 0 ]; then
      command -v sudo >/dev/null || { say "ERROR: need root to run: apt-get update && apt-get install -y ${MISSING[*]}"; exit 1; }
      SUDO=sudo
    fi
    say "apt-get update; apt-get install ${MISSING[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${MISSING[@]}"
  else
    say "Debian packages present: ${PKGS[*]}"
  fi
else
  say "no dpkg here: make sure Mesa EGL/GLES (for webgpu) and a C++ tool chain (for node) are installed"
fi

# --- node backend ------------------------------------------------------------------------------------------------
if [ "${TARM_SKIP_NODE_BACKEND:-0}" != 1 ]; then
  bash tools/backend-node/setup.sh
fi

# --- report (informational: the conformance suite decides what passes) ---------------------------------------------
for b in webgpu node; do
  if [ -f "packages/backends/$b/dist/index.js" ]; then
    if OUT="$(cd packages/conformance && TF_CPP_MIN_LOG_LEVEL=2 node --input-type=module -e \
      "const { useBackend } = await import('@tarm/core'); await useBackend('$b');" 2>&1)"; then
      say "backend $b: available"
    else
      say "backend $b: NOT available: $(printf '%s\n' "$OUT" | grep -v -E '^Warning:|^ +at |^$' | tail -n 1)"
    fi
  fi
done
say "done in $((SECONDS - T0)) s"
